/**
 * The CLI as a user runs it: the built bin (`npm run build` once, before the
 * tests), --help through npx, a bad flag, --check-config, --stdout JSON lines,
 * /metrics, /healthz, the start-up report of sources, SIGTERM.
 */
import { equal, match, ok } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { createLogger } from '../src/observability/logger';
import { Collector } from '../src/pipeline/collector';
import { BIN, spawnCollector, testConfig, until } from './helpers';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

// The bin runs dist/: build it from these sources, as `npm test` and `npm start` do.
before(async () => {
  await run('npm', ['run', 'build', '--silent'], { cwd: ROOT });
});

test('the bin without a build says to run npm run build', async () => {
  const bin = join(mkdtempSync(join(tmpdir(), 'casefile-nobuild-')), 'bin');
  mkdirSync(bin);
  copyFileSync(BIN, join(bin, 'casefile-collector.js'));
  const err = await run(process.execPath, [join(bin, 'casefile-collector.js'), '--help']).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e
  );
  equal(err?.code, 1);
  match(err.stderr, /dist\/cli\.js is missing: run `npm run build`/);
});

test('--check-config: the resolved config as JSON and 0; an ignored value 1; a bad flag 2', async () => {
  const ok0 = await run(
    process.execPath,
    [BIN, '--check-config', '--otlp-endpoint', 'http://loki:3100/otlp'],
    {
      env: { ...process.env, CASEFILE_OTLP_HEADERS: 'Authorization=Bearer%20s3cret' },
    }
  );
  const cfg = JSON.parse(ok0.stdout) as { otlp: { endpoint: string; headers: Record<string, string> } };
  equal(cfg.otlp.endpoint, 'http://loki:3100/otlp/v1/logs');
  equal(cfg.otlp.headers.Authorization, '[redacted]');
  ok(!ok0.stdout.includes('s3cret'));
  const ignored = await run(process.execPath, [BIN, '--check-config'], {
    env: { ...process.env, CASEFILE_PROCFS_INTERVAL: 'often' },
  }).catch((e: { code: number; stderr: string }) => e);
  equal((ignored as { code: number }).code, 1);
  match((ignored as { stderr: string }).stderr, /ignoring CASEFILE_PROCFS_INTERVAL="often"/);
  const bad = await run(process.execPath, [BIN, '--check-config', '--learning-perod', '1h']).catch(
    (e: { code: number; stderr: string }) => e
  );
  equal((bad as { code: number }).code, 2);
  match((bad as { stderr: string }).stderr, /unknown flag --learning-perod/);
});

test('npx casefile-collector --help', async () => {
  const { stdout } = await run('npx', ['--no-install', 'casefile-collector', '--help'], {
    cwd: ROOT,
  });
  match(stdout, /^Usage: casefile-collector/);
  for (const f of [
    '--stdout',
    '--otlp-endpoint URL',
    '--state-dir DIR',
    '--runtime-socket PATH',
    '--sources LIST',
    '--learning-period DURATION',
    '--policy FILE',
    '--no-redact',
  ]) {
    ok(stdout.includes(f), f);
  }
});

test('a bad flag exits 2 with the reason and the usage', async () => {
  const p = spawnCollector(['--sources', 'ebpf,kernel']);
  equal((await p.exited).code, 2);
  match(p.stderr(), /unknown source kernel/);
  match(p.stderr(), /Usage:/);
});

test('a start-up failure is logged with its stack in src/ (the bundle mapped through its source map)', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'casefile-notadir-')), 'file');
  writeFileSync(file, '');
  const p = spawnCollector([
    '--sources',
    'none',
    '--listen',
    '127.0.0.1:0',
    '--state-dir',
    join(file, 'state'),
  ]);
  equal((await p.exited).code, 1);
  const fatal = p
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; err?: { stack: string } })
    .find((l) => l.msg === 'start-up failed');
  const stack = fatal?.err?.stack ?? '';
  match(stack, /ENOTDIR/);
  ok(stack.includes(`at main (${ROOT}/collector/src/cli.ts:`), stack);
  ok(!stack.includes('dist/cli.js'), stack);
});

test('--stdout: JSON lines, /healthz, /metrics, sources reported, SIGTERM stops cleanly', async () => {
  const p = spawnCollector([
    '--stdout',
    '--sources',
    'none',
    '--listen',
    '127.0.0.1:0',
    '--state-dir',
    testConfig().stateDir,
    '--synthetic-count',
    '50',
    '--synthetic-run',
    'cli',
  ]);
  try {
    const lines = await until(
      '50 events on stdout',
      () => {
        const l = p
          .stdout()
          .split('\n')
          .filter(Boolean)
          .map((x) => JSON.parse(x));
        return l.filter((e) => e.type === 'process.start').length >= 50 ? l : undefined;
      },
      30_000,
      100
    );
    const ids = lines.filter((e) => e.type === 'process.start').map((e) => e.id);
    equal(new Set(ids).size, 50);
    ok(ids.includes('cli-0') && ids.includes('cli-49'));
    const addr = await p.address;
    const health = await fetch(`http://${addr}/healthz`);
    equal(health.status, 200);
    const h = (await health.json()) as { status: string; sources: Record<string, string>; queue: unknown };
    equal(h.status, 'ok');
    equal(h.sources.synthetic, 'active');
    equal(h.queue, null, '--stdout alone queues nothing for export');
    equal(await p.metric('casefile_events_total', { source: 'synthetic', type: 'process.start' }), 50);
    equal(await p.metric('casefile_source_active', { source: 'synthetic' }), 1);
    ok((await p.metric('casefile_collector_process_resident_memory_bytes')) > 0);
    match(p.stderr(), /"active":\["synthetic"\]/);
  } finally {
    p.child.kill('SIGTERM');
  }
  equal((await p.exited).code, 0);
  match(p.stderr(), /"msg":"stopped"/);
});

test('start-up names inactive sources with the reason; stop is idempotent', async () => {
  const config = testConfig(['--stdout']);
  const log = createLogger('warn');
  const collector = new Collector(config, log, {
    stdout: new PassThrough().resume(),
    sources: [
      {
        name: 'ebpf',
        available: async () => ({ ok: false, reason: 'bpftrace not found' }),
        start: async () => undefined,
        stop: async () => undefined,
      },
    ],
  });
  await collector.start();
  equal(
    collector.health().sources && (collector.health().sources as Record<string, string>).ebpf,
    'inactive: bpftrace not found'
  );
  const a = collector.stop();
  equal(collector.stop(), a);
  await a;
});

test('Ctrl-C under npm start (SIGINT, then the parent’s SIGTERM at once) still drains and stops cleanly', async () => {
  const p = spawnCollector([
    '--stdout',
    '--sources',
    'none',
    '--listen',
    '127.0.0.1:0',
    '--state-dir',
    testConfig().stateDir,
  ]);
  await p.address;
  p.child.kill('SIGINT');
  p.child.kill('SIGTERM');
  equal((await p.exited).code, 0);
  match(p.stderr(), /"msg":"stopped"/);
  ok(!p.stderr().includes('second signal'), 'not taken as a second request');
});
