/**
 * The CLI as a user runs it: --help through npx, a bad flag, --stdout JSON
 * lines, /metrics, /healthz, the start-up report of sources, SIGTERM.
 */
import { equal, match, ok } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { createLogger } from '../src/observability/logger';
import { Collector } from '../src/pipeline/collector';
import { spawnCollector, testConfig, until } from './helpers';

const ROOT = resolve(import.meta.dirname, '../..');

test('npx casefile-collector --help', async () => {
  const { stdout } = await promisify(execFile)('npx', ['--no-install', 'casefile-collector', '--help'], {
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
