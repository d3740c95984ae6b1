/**
 * docs/troubleshooting.md against the real programs: each scenario starts the
 * built collector or server the way a user gets it wrong (a misspelt flag, a
 * short token, a taken port, a missing socket, …) and every warning, error and
 * source reason it prints at start-up must be one the page explains. A message
 * added in code without a line on the page fails here.
 */
import { ok } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { ensureBuilt } from './config-check';

const ROOT = resolve(import.meta.dirname, '../..');
const BINS = {
  collector: join(ROOT, 'collector/bin/casefile-collector.js'),
  server: join(ROOT, 'server/bin/casefile-server.js'),
};
const PAGE = readFileSync(join(ROOT, 'docs/troubleshooting.md'), 'utf8');

/** A message pattern of the page (`…` is the variable part) as a regex on a whole message. */
const toRegex = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/…/g, '.*')}$`, 's');
/** The `### `message`` headings. */
const HEADINGS = [...PAGE.matchAll(/^### (`+)(.+?)\1$/gm)].map((m) => m[2]);
/** The first column of the sources table: reasons a source is inactive. */
const REASONS = [...PAGE.matchAll(/^\| `(.+?)` +\|/gm)].map((m) => m[1]);

const tmp = mkdtempSync(join(tmpdir(), 'casefile-trouble-'));
const file = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

interface Run {
  /** Lines that are not JSON (the CLI's own messages), usage text left out. */
  cli: string[];
  /** `msg` of JSON log lines at warn level and above. */
  logged: string[];
  /** Reasons of inactive sources in the `sources` log line (split where a source joins several). */
  reasons: string[];
}

/**
 * Run a bin with `args` and `env` (plus PATH) until it exits, or until its stderr
 * matches `until` (then SIGTERM), and sort what it printed.
 */
function run(
  bin: keyof typeof BINS | string,
  args: string[],
  env: Record<string, string> = {},
  until?: RegExp
) {
  const path = bin in BINS ? BINS[bin as keyof typeof BINS] : bin;
  const child = spawn(process.execPath, [path, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The collector logs on stderr, the server on stdout: read both.
  let err = '';
  const read = (d: string) => {
    err += d;
    if (until?.test(err)) child.kill('SIGTERM');
  };
  child.stdout.setEncoding('utf8').on('data', read);
  child.stderr.setEncoding('utf8').on('data', read);
  const limit = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise<Run>((done) =>
    child.once('exit', () => {
      clearTimeout(limit);
      const out: Run = { cli: [], logged: [], reasons: [] };
      for (const line of err.split('\n')) {
        if (!line.trim()) continue;
        let j: { level?: number; msg?: string; inactive?: Record<string, string> } | undefined;
        try {
          j = JSON.parse(line);
        } catch {
          if (/^casefile-(collector|server): |dist\/cli\.js is missing/.test(line)) out.cli.push(line);
          continue;
        }
        if ((j?.level ?? 0) < 40 || !j?.msg) continue;
        out.logged.push(j.msg);
        for (const r of Object.values(j.inactive ?? {})) out.reasons.push(...r.split('; '));
      }
      done(out);
    })
  );
}

/** Fail when `r` printed nothing, and on every message of it the page does not explain. */
function explained(what: string, r: Run): void {
  const headings = HEADINGS.map(toRegex);
  const reasons = REASONS.map(toRegex);
  ok(r.cli.length + r.logged.length > 0, `${what}: printed nothing`);
  // A start-up failure is also logged as `start-up failed` with the error; its cause is the CLI line.
  const logged = r.cli.some((l) => l.includes(': start-up failed: '))
    ? r.logged.filter((m) => m !== 'start-up failed')
    : r.logged;
  for (const m of [...r.cli, ...logged])
    ok(
      headings.some(
        (h) => h.test(m) || h.test(m.replace(/^casefile-collector: (?=ignoring|unknown key)/, ''))
      ),
      `${what}: start-up message not in docs/troubleshooting.md: ${m}`
    );
  for (const reason of r.reasons)
    ok(
      reasons.some((x) => x.test(reason)),
      `${what}: source reason not in the table of docs/troubleshooting.md: ${reason}`
    );
}

/** A port some other process holds. */
async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

before(() => ensureBuilt());

test('the page has the messages, each heading a pattern', () => {
  ok(HEADINGS.length >= 35, `${HEADINGS.length} headings`);
  ok(REASONS.length >= 12, `${REASONS.length} source reasons`);
});

test('collector: command-line and config mistakes', async () => {
  const notMapping = file('list.yaml', '- a\n- b\n');
  const badValues = file('bad.yaml', 'queue: {maxBytes: lots}\nbogus: 1\n');
  const cases: [string, string[], Record<string, string>?][] = [
    ['unknown flag', ['--learning-perod', '1h']],
    ['flag without value', ['--state-dir']],
    ['stray word', ['--stdout', 'true']],
    ['bad flag value', ['--sources', 'kernel']],
    ['bad duration', ['--learning-period', 'soon']],
    ['missing config file', ['--config', join(tmp, 'nope.yaml')]],
    ['config not a mapping', ['--config', notMapping]],
    ['bad env value', ['--check-config'], { CASEFILE_PROCFS_INTERVAL: 'soon' }],
    ['bad YAML value, unknown key', ['--check-config', '--config', badValues]],
  ];
  for (const [what, args, env] of cases) explained(what, await run('collector', args, env));
});

test('collector: start-up failures', async () => {
  const { port, server } = await takenPort();
  const notDir = file('not-a-dir', '');
  const base = ['--stdout', '--sources', 'none', '--state-dir', join(tmp, 'state')];
  try {
    for (const [what, args] of [
      ['bad listen address', [...base, '--listen', '127.0.0.1:80x']],
      ['port taken', [...base, '--listen', `127.0.0.1:${port}`]],
      [
        'state dir not writable',
        ['--stdout', '--sources', 'none', '--state-dir', join(notDir, 'x'), '--listen', '127.0.0.1:0'],
      ],
      // Under /proc the parent exists but refuses entries: Node 20's recursive mkdir would spin forever there.
      [
        'state dir under /proc',
        ['--stdout', '--sources', 'none', '--state-dir', '/proc/casefile-nope/x', '--listen', '127.0.0.1:0'],
      ],
      [
        'missing policy file',
        [...base, '--listen', '127.0.0.1:0', '--policy', join(tmp, 'nope-policy.yaml')],
      ],
    ] as const)
      explained(what, await run('collector', [...args]));
  } finally {
    server.close();
  }
});

test('collector: sources that cannot run, redaction off, Loki not answering', async () => {
  const r = await run(
    'collector',
    [
      '--no-redact',
      '--sources',
      'ebpf,runtime,host',
      '--bpftrace',
      join(tmp, 'no-bpftrace'),
      '--runtime-socket',
      join(tmp, 'no-engine.sock'),
      '--cri-socket',
      join(tmp, 'no-cri.sock'),
      '--auth-log',
      join(tmp, 'no-auth.log'),
      '--otlp-endpoint',
      'http://127.0.0.1:9/otlp',
      '--state-dir',
      join(tmp, 'state-sources'),
      '--listen',
      '127.0.0.1:0',
      '--synthetic-count',
      '5',
    ],
    {},
    /export failed; will retry/
  );
  explained('sources', r);
  ok(
    r.reasons.some((x) => x.startsWith('bpftrace not found')),
    'the eBPF reason is reported'
  );
  ok(r.logged.includes('export failed; will retry'));
});

test('the bin without a build', async () => {
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  copyFileSync(BINS.collector, join(bin, 'casefile-collector.js'));
  explained('no dist', await run(join(bin, 'casefile-collector.js'), []));
});

test('server: command-line, config and token mistakes', async () => {
  const badScopes = file('scopes.yaml', 'tokens:\n  - {name: a, token: secret-1234, scopes: [bogus]}\n');
  const cases: [string, string[], Record<string, string>?][] = [
    ['unknown flag', ['--max-snapshot', '5']],
    ['flag without value', ['--port']],
    ['stray word', ['serve']],
    ['missing config file', ['--config', join(tmp, 'nope.yaml')]],
    ['not a number', [], { CASEFILE_SERVER_PORT: 'eighty' }],
    ['short token', [], { CASEFILE_SERVER_TOKENS: 'grafana:read:short' }],
    ['token without name', [], { CASEFILE_SERVER_TOKENS: 'justasecret' }],
    ['unknown scope', ['--config', badScopes]],
    ['webhook with more', [], { CASEFILE_SERVER_TOKENS: 'alerts:webhook+read:secret-1234' }],
    ['same secret', [], { CASEFILE_SERVER_TOKENS: 'a:read:secret-1234,b:pin:secret-1234' }],
    ['zero snapshots', ['--max-snapshots', '0']],
  ];
  for (const [what, args, env] of cases) explained(what, await run('server', args, env));
});

test('server: warnings and start-up failures', async () => {
  const { port, server } = await takenPort();
  const notDir = file('not-a-dir-2', '');
  const data = ['--data-dir', join(tmp, 'server-data')];
  try {
    explained('no tokens', await run('server', ['--port', '0', ...data], {}, /casefile-server listening/));
    explained(
      'old-style token',
      await run(
        'server',
        ['--port', '0', ...data],
        { CASEFILE_SERVER_TOKENS: 'old:secret-1234' },
        /listening/
      )
    );
    const tokens = { CASEFILE_SERVER_TOKENS: 'grafana:read+pin+admin+grafana:secret-1234' };
    explained('port taken', await run('server', ['--port', String(port), ...data], tokens));
    explained('data dir', await run('server', ['--port', '0', '--data-dir', join(notDir, 'x')], tokens));
    // Under /proc the parent exists but refuses entries: Node 20's recursive mkdir would spin forever there.
    explained(
      'data dir under /proc',
      await run('server', ['--port', '0', '--data-dir', '/proc/casefile-nope/x'], tokens)
    );
    explained(
      'PostgreSQL down',
      await run('server', ['--port', '0', ...data], {
        ...tokens,
        CASEFILE_SERVER_POSTGRES_DSN: 'postgres://u:p@127.0.0.1:1/db',
      })
    );
  } finally {
    server.close();
  }
});
