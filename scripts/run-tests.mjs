#!/usr/bin/env node
/**
 * `npm test`: every suite of every package, against real parts (Podman,
 * bpftrace, PostgreSQL, Chromium, LibreOffice; the Loki stand-in, or the real
 * Loki at LOKI_URL), then one summary line `N passed, N failed, N skipped`.
 * Nothing is hidden: cancelled tests count as failed, a suite past its time
 * limit is killed and counted failed, and under CI=true a skipped test is a
 * failed one (.ci/run installs everything the tests need).
 *
 *   node scripts/run-tests.mjs              all suites
 *   node scripts/run-tests.mjs unit plugin  only these suites
 *
 * Suites: lint (prettier, types incl. plugin tests, import rules), unit (schema, collector, server: node:test), contract (the event
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

// One test may take at most 10 minutes; a hung test fails instead of stalling the run.
const nodeTest = (files) => [
  'node',
  ['--import', 'tsx', '--test', '--test-timeout=600000', '--test-reporter=tap', ...files],
];

/** Minutes each suite may run before it is killed and counted failed. */
const LIMIT_MIN = { lint: 5, unit: 30, contract: 5, integration: 25, plugin: 15, e2e: 20 };

const SUITES = {
  // Formatting, types (plugin tests included) and the architecture's import rules.
  lint: () => ['npm', ['run', '--silent', 'lint']],
  unit: () =>
    nodeTest(['schema/test', 'collector/test', 'server/test'].flatMap((d) => findTests(join(ROOT, d)))),
  contract: () => ['node', ['--import', 'tsx', 'test/contract/contract.ts']],
  integration: () => nodeTest(findTests(join(ROOT, 'test')).filter((f) => !f.startsWith('test/contract/'))),
  plugin: () => pluginScript('test:ci'),
  e2e: () => pluginScript('e2e'),
};

/**
 * Counts from node:test TAP (`# pass N`, `# fail N`, `# cancelled N`, `# skipped N`,
 * `# todo N`) or Jest (`Tests: N failed, N skipped, N passed`). Cancelled is failed.
 */
function count(output) {
  const c = { pass: 0, fail: 0, skip: 0 };
  const sum = (re) => [...output.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
  c.pass += sum(/^# pass (\d+)$/gm);
  c.fail += sum(/^# fail (\d+)$/gm) + sum(/^# cancelled (\d+)$/gm);
  c.skip += sum(/^# skipped (\d+)$/gm) + sum(/^# todo (\d+)$/gm);
  for (const m of output.matchAll(/^Tests:\s+(.*)$/gm)) {
    c.pass += Number(/(\d+) passed/.exec(m[1])?.[1] ?? 0);
    c.fail += Number(/(\d+) failed/.exec(m[1])?.[1] ?? 0);
    c.skip += Number(/(\d+) skipped/.exec(m[1])?.[1] ?? 0) + Number(/(\d+) todo/.exec(m[1])?.[1] ?? 0);
  }
  return c;
}

function run(name, cmd, args) {
  return new Promise((resolve) => {
    console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
    const started = Date.now();
    // Its own process group, so a time-out kills the suite and everything it started.
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      out += d;
      process.stderr.write(d);
    });
    let timedOut = false;
    const limit = setTimeout(() => {
      timedOut = true;
      console.log(`=== ${name}: time limit of ${LIMIT_MIN[name]} min reached; killing the suite`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, LIMIT_MIN[name] * 60_000);
    child.on('close', (code) => {
      clearTimeout(limit);
      const c = count(out);
      // A suite that crashed or was killed before reporting its failures counts as one failure.
      if ((code !== 0 || timedOut) && c.fail === 0) c.fail = 1;
      // A suite without a test reporter (lint) that passed counts as one passed check.
      else if (code === 0 && c.pass + c.skip === 0) c.pass = 1;
      console.log(
        `=== ${name}: ${c.pass} passed, ${c.fail} failed, ${c.skip} skipped in ${((Date.now() - started) / 1000).toFixed(0)}s${timedOut ? ' (killed at its time limit)' : ''}`
      );
      resolve(c);
    });
  });
}

const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : Object.keys(SUITES);
const total = { pass: 0, fail: 0, skip: 0 };
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
  for (const k of Object.keys(total)) total[k] += c[k];
}
const ci = process.env.CI === 'true';
if (ci && total.skip)
  console.log(
    `\nCI=true: the ${total.skip} skipped tests count as failed (.ci/run installs everything they need).`
  );
const failed = total.fail + (ci ? total.skip : 0);
console.log(`\n${total.pass} passed, ${failed} failed, ${total.skip} skipped`);
process.exit(failed ? 1 : 0);
