#!/usr/bin/env node
/**
 * `npm test`: every suite of every package, against real parts (Loki, Podman,
 * bpftrace, PostgreSQL, Chromium), then one summary line `N passed, N failed`.
 *
 *   node scripts/run-tests.mjs              all suites
 *   node scripts/run-tests.mjs unit plugin  only these suites
 *
 * Suites: unit (schema, collector, server: node:test), contract (the event
 * contract through Loki), integration (test/: across components), plugin
 * (Jest), e2e (the built plugin in headless Chromium).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

function findTests(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(ROOT, p));
  }
  return out.sort();
}

const pluginScripts = () =>
  JSON.parse(readFileSync(join(ROOT, 'grafana-plugin/package.json'), 'utf8')).scripts ?? {};
const pluginScript = (name) =>
  pluginScripts()[name] ? ['npm', ['-w', '@casefile/grafana-plugin', 'run', name]] : null;

const nodeTest = (files) => ['node', ['--import', 'tsx', '--test', '--test-reporter=tap', ...files]];

const SUITES = {
  unit: () =>
    nodeTest(['schema/test', 'collector/test', 'server/test'].flatMap((d) => findTests(join(ROOT, d)))),
  contract: () => ['node', ['--import', 'tsx', 'test/contract/contract.ts']],
  integration: () => nodeTest(findTests(join(ROOT, 'test')).filter((f) => !f.startsWith('test/contract/'))),
  plugin: () => pluginScript('test:ci'),
  e2e: () => pluginScript('e2e'),
};

/** Pass/fail counts from node:test TAP (`# pass N`) or Jest (`Tests: N failed, N passed`). */
function count(output) {
  let pass = 0;
  let fail = 0;
  for (const m of output.matchAll(/^# pass (\d+)$/gm)) pass += Number(m[1]);
  for (const m of output.matchAll(/^# fail (\d+)$/gm)) fail += Number(m[1]);
  for (const m of output.matchAll(/^Tests:\s+(.*)$/gm)) {
    pass += Number(/(\d+) passed/.exec(m[1])?.[1] ?? 0);
    fail += Number(/(\d+) failed/.exec(m[1])?.[1] ?? 0);
  }
  return { pass, fail };
}

function run(name, cmd, args) {
  return new Promise((resolve) => {
    console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
    const started = Date.now();
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      out += d;
      process.stderr.write(d);
    });
    child.on('close', (code) => {
      const c = count(out);
      // A suite that crashed before reporting counts as one failure.
      if (code !== 0 && c.fail === 0) c.fail = 1;
      console.log(
        `=== ${name}: ${c.pass} passed, ${c.fail} failed in ${((Date.now() - started) / 1000).toFixed(0)}s`
      );
      resolve(c);
    });
  });
}

const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : Object.keys(SUITES);
let pass = 0;
let fail = 0;
for (const name of names) {
  if (!SUITES[name]) {
    console.error(`unknown suite ${name}; suites: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
  const spec = SUITES[name]();
  if (!spec || (spec[0] === 'node' && spec[1].at(-1) === '--test-reporter=tap')) {
    console.log(`\n=== ${name}: no tests`);
    continue;
  }
  const c = await run(name, spec[0], spec[1]);
  pass += c.pass;
  fail += c.fail;
}
console.log(`\n${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
