/**
 * Loss and duplication with a real Loki:
 *  - Loki stopped for 30 s while events flow, then restarted at the same URL:
 *    every event id arrives exactly once;
 *  - the collector (the real CLI) killed with SIGKILL mid-stream and
 *    restarted: everything that was in the durable queue arrives, with no gap.
 */
import { equal, ok } from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startLoki, type Loki } from '../../test/loki/loki-server';
import { emptyResource } from '@opentelemetry/resources';
import { EVENT_ID_ATTR } from '@casefile/schema';
import { DiskQueue } from '../src/export/disk-queue';
import { decodeRecord } from '../src/export/record-codec';
import { createLogger } from '../src/observability/logger';
import { Collector } from '../src/pipeline/collector';
import { SyntheticSource } from '../src/pipeline/synthetic-source';
import { idCounts, readHost, spawnCollector, testConfig, until } from './helpers';

let loki: Loki;
const lokiDir = mkdtempSync(join(tmpdir(), 'casefile-outage-loki-'));
before(async () => {
  loki = await startLoki({ dataDir: lokiDir });
});
after(async () => {
  await loki?.stop({ keepData: false });
});

/** Sequence numbers of `run` in Loki, with how often each arrived. */
function seqCounts(events: { id: string }[], run: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const [id, n] of idCounts(events as never))
    if (id.startsWith(`${run}-`)) m.set(Number(id.slice(run.length + 1)), n);
  return m;
}

test(
  'Loki down for 30 s while events flow: every event arrives exactly once',
  { timeout: 180_000 },
  async (t) => {
    const host = `outage-${Date.now()}`;
    const run = 'out';
    const rate = 400;
    const count = rate * 45;
    const config = testConfig(['--otlp-endpoint', `${loki.url}/otlp`, '--host-name', host]);
    const source = new SyntheticSource({ rate, count, run });
    const collector = new Collector(config, createLogger('error'), { sources: [source] });
    await collector.start();
    const acked = () => collector.queue!.appended - collector.queue!.depth;
    try {
      await until('first deliveries', () => acked() > rate, 20_000);
      await loki.stop({ keepData: true });
      const downAt = Date.now();
      await new Promise((r) => setTimeout(r, 30_000)); // the outage itself, not a wait for a result
      ok(
        collector.queue!.depth >= rate * 20,
        `events pile up in the queue while Loki is down (depth ${collector.queue!.depth})`
      );
      ok(collector.export!.delivery.lastError, 'export errors are seen');
      loki = await startLoki({ dataDir: lokiDir, httpPort: loki.httpPort });
      t.diagnostic(`Loki was down ${((Date.now() - downAt) / 1000).toFixed(1)} s`);
      await source.done;
      await until('queue drained', () => collector.queue!.depth === 0, 60_000);
    } finally {
      await collector.stop();
    }
    equal(collector.queue!.dropped, 0);
    const seqs = await until(
      'all events queryable',
      async () => {
        const m = seqCounts(await readHost(loki.url, host), run);
        return m.size >= count ? m : undefined;
      },
      60_000,
      1000
    );
    let lost = 0;
    let dups = 0;
    for (let i = 0; i < count; i++) {
      const n = seqs.get(i) ?? 0;
      if (n === 0) lost++;
      if (n > 1) dups += n - 1;
    }
    t.diagnostic(`outage: ${count} sent, ${lost} lost, ${dups} duplicates`);
    equal(lost, 0, 'lost');
    equal(dups, 0, 'duplicates');
  }
);

test(
  'collector SIGKILLed mid-stream and restarted: nothing queued is lost',
  { timeout: 120_000 },
  async (t) => {
    const host = `sigkill-${Date.now()}`;
    const run = 'kill';
    const stateDir = mkdtempSync(join(tmpdir(), 'casefile-sigkill-'));
    const common = [
      '--state-dir',
      stateDir,
      '--otlp-endpoint',
      `${loki.url}/otlp`,
      '--host-name',
      host,
      '--listen',
      '127.0.0.1:0',
      '--sources',
      'none',
    ];
    // As fast as possible, so the queue is ahead of the exporter when the kill lands.
    const first = spawnCollector([
      ...common,
      '--synthetic-rate',
      '0',
      '--synthetic-count',
      '1000000',
      '--synthetic-run',
      run,
    ]);
    try {
      await until(
        'events queued and some delivered',
        async () =>
          (await first.metric('casefile_queue_appended_total')) >= 10_000 &&
          (await first.metric('casefile_export_records_total', { result: 'ok' })) > 0,
        60_000
      );
    } finally {
      first.child.kill('SIGKILL');
    }
    equal((await first.exited).signal, 'SIGKILL');
    // What the durable queue holds now is what must not be lost.
    const q = new DiskQueue(join(stateDir, 'queue'));
    const origin = { resource: emptyResource(), scope: { name: 'outage-test' } };
    const queued: number[] = [];
    for (let b = q.read(10_000, 64 << 20); b; b = q.read(10_000, 64 << 20))
      for (const r of b.records) {
        // The run's events; the collector's own (model.state, model.learned) carry other ids.
        const id = String(decodeRecord(r, origin).attributes[EVENT_ID_ATTR]);
        if (id.startsWith(`${run}-`)) queued.push(Number(id.slice(run.length + 1)));
      }
    q.close();
    t.diagnostic(`queued at the kill: ${queued.length} events, torn bytes cut: ${q.recoveredTornBytes}`);
    ok(queued.length > 0, 'the kill left undelivered events in the queue');

    const second = spawnCollector(common);
    try {
      await until(
        'queue drained after restart',
        async () =>
          (await second.metric('casefile_queue_depth')) === 0 &&
          (await second.metric('casefile_export_records_total', { result: 'ok' })) > 0,
        60_000
      );
    } finally {
      second.child.kill('SIGTERM');
    }
    equal((await second.exited).code, 0, second.stderr());
    const maxQueued = Math.max(...queued);
    const seqs = await until(
      'queued events queryable',
      async () => {
        const m = seqCounts(await readHost(loki.url, host), run);
        return queued.every((s) => m.has(s)) ? m : undefined;
      },
      60_000,
      1000
    );
    let gaps = 0;
    let dups = 0;
    for (let i = 0; i <= maxQueued; i++) {
      const n = seqs.get(i) ?? 0;
      if (n === 0) gaps++;
      if (n > 1) dups += n - 1;
    }
    t.diagnostic(
      `sigkill: ${maxQueued + 1} events up to the last queued, ${gaps} missing, ${dups} re-sent duplicates`
    );
    equal(gaps, 0, 'every event up to the last queued one arrived');
    ok(dups <= 2048, `at most one batch re-sent (${dups})`);
  }
);
