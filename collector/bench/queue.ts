/**
 * Durable queue benchmark: what group commit (write + fdatasync before
 * append() resolves, the default) costs against writing without an
 * fdatasync per group (fsyncIntervalMs = 1 h: one fdatasync at the end).
 * 100,000 events of ~600 bytes are appended in bursts of 500 (as a source's
 * read chunk arrives), yielding to the event loop between bursts so the
 * commit timer runs; the clock stops when every append is durable. Also
 * reported: how long appends wait to resolve, and the event loop's delay p99
 * (what a source reading bpftrace's pipe would feel). The queue
 * lives in $CASEFILE_BENCH_QUEUE_DIR or the OS temp dir (say which disk in the
 * report: on tmpfs fdatasync is free).
 *
 * Run alone: `node --import tsx collector/bench/queue.ts` (prints one JSON line).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { DiskQueue } from '../src/export/disk-queue';

const EVENTS = 100_000;
const BURST = 500;
const event = (i: number) =>
  JSON.stringify({
    id: `0190d6a1-7c2e-7000-8000-${String(i).padStart(12, '0')}`,
    type: 'process.start',
    timeNs: String(1_700_000_000_000_000_000n + BigInt(i)),
    message: 'process started: /usr/bin/curl -fsSL https://example.invalid/install.sh',
    pid: 4000 + (i % 30000),
    ppid: 1,
    uid: 0,
    user: 'root',
    executable: '/usr/bin/curl',
    args: ['curl', '-fsSL', 'https://example.invalid/install.sh'],
    containerId: 'f'.repeat(64),
    containerName: 'web-1',
    image: 'docker.io/library/nginx:1.27',
    pad: 'x'.repeat(120),
  });

const yieldLoop = () => new Promise<void>((r) => setImmediate(r));

async function once(fsyncIntervalMs: number) {
  const dir = mkdtempSync(join(process.env.CASEFILE_BENCH_QUEUE_DIR ?? tmpdir(), 'casefile-bench-queue-'));
  const q = new DiskQueue(dir, { fsyncIntervalMs, maxBytes: 1 << 30 });
  const groups = new Set<Promise<boolean>>();
  const latencies: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const t0 = process.hrtime.bigint();
  let last: Promise<boolean> | undefined;
  for (let i = 0; i < EVENTS; i += BURST) {
    const started = process.hrtime.bigint();
    for (let k = 0; k < BURST; k++) groups.add((last = q.append(event(i + k))));
    void last!.then(() => latencies.push(Number(process.hrtime.bigint() - started) / 1e6));
    await yieldLoop();
  }
  q.flush();
  const durable = await last!;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  loop.disable();
  await yieldLoop();
  q.close();
  rmSync(dir, { recursive: true });
  if (!durable) throw new Error('the last append was not durable');
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => Math.round(latencies[Math.floor((latencies.length - 1) * p)] * 10) / 10;
  return {
    events_per_s: Math.round(EVENTS / secs),
    commits: groups.size,
    resolve_ms_p50: pct(0.5),
    resolve_ms_p99: pct(0.99),
    event_loop_delay_ms_p99: Math.round(loop.percentile(99) / 1e5) / 10,
  };
}

/** Both modes, each best of 2 (the machine is shared). */
export async function run(): Promise<Record<string, unknown>> {
  const best = async (ms: number) => {
    const a = await once(ms);
    const b = await once(ms);
    return a.events_per_s >= b.events_per_s ? a : b;
  };
  const groupCommit = await best(0);
  const noSync = await best(3_600_000);
  return {
    queue_events_per_s: {
      group_commit_fdatasync: groupCommit.events_per_s,
      no_fdatasync: noSync.events_per_s,
    },
    queue_detail: {
      events: EVENTS,
      dir: process.env.CASEFILE_BENCH_QUEUE_DIR ?? tmpdir(),
      group_commit_fdatasync: groupCommit,
      // Without fdatasync appends resolve only at segment rotation: its resolve times mean nothing.
      no_fdatasync: { ...noSync, resolve_ms_p50: undefined, resolve_ms_p99: undefined },
      fdatasync_cost_pct: Math.round((1 - groupCommit.events_per_s / noSync.events_per_s) * 100),
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await run();
  process.stdout.write(JSON.stringify(r) + '\n');
}
