/**
 * Pipeline benchmark, on the real CLI as a child process (pinned to one core
 * with taskset when available):
 *  - events_per_sec, cpu_ms_per_1k_events, rss_mb_loaded: N synthetic, already
 *    parsed process.start events through validation, enrichment, models,
 *    redaction, the durable queue and the OTLP exporter into a local HTTP sink
 *    (another process), N / time until the sink has counted all N; median of 3;
 *  - sdk_floor_events_per_sec, pipeline_vs_sdk_floor: the same N records
 *    through the bare SDK (sdk-floor.ts: LoggerProvider, stock batch
 *    processor, stock OTLPLogExporter) on the same core into the same kind of
 *    sink, one floor run after each pipeline run; the ratio is the median of
 *    the three runs' ratios (each pair ran under the same load);
 *  - rss_mb_idle: the collector running with nothing to do;
 *  - loki_latency_p50_ms / p99: event time -> the event is queryable in the
 *    Loki stand-in, or the real Loki at LOKI_URL (named in loki_backend),
 *    polled every 250 ms, 200 events/s for 15 s;
 *  - lost, duplicates: 500 events/s for 25 s with Loki stopped for 10 s in the
 *    middle and restarted at the same URL.
 * The collector runs with the heap budget it ships with (src/config/heap.ts);
 * BENCH_COLLECTOR_NODE_OPTIONS replaces it ('' for Node's defaults).
 * BENCH_EVENTS (default 200000) sets N; BENCH_CPU_PROF=DIR writes a V8 CPU
 * profile of the first throughput run there (open in Chrome DevTools).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { msToNs, nsToMs } from '@casefile/schema';
import { readEvents } from '../../test/loki/read';
import { COLLECTOR_NODE_OPTIONS } from '../src/config/heap';
import { startLoki } from '../../test/loki/loki-server';

const BIN = resolve(import.meta.dirname, '../bin/casefile-collector.js');
const TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;
const HAS_TASKSET = spawnSync('taskset', ['-V']).status === 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

/** CPU ms and RSS / peak RSS MB of a pid, from /proc. */
function procStats(pid: number): { cpuMs: number; rssMb: number; hwmMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuMs = ((Number(f[11]) + Number(f[12])) * 1000) / TICKS;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { cpuMs, rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** A local OTLP/HTTP sink in its own process that counts log records. */
async function startSink(): Promise<{ url: string; count: () => Promise<number>; stop: () => void }> {
  const code = `
    const http = require('http'); let n = 0;
    http.createServer((req, res) => {
      if (req.method === 'GET') return res.end(String(n));
      let body = ''; req.setEncoding('utf8');
      req.on('data', (c) => (body += c));
      req.on('end', () => { n += body.split('"timeUnixNano"').length - 1; res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}'); });
    }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((r) => child.stdout!.once('data', (d) => r(String(d).trim())));
  const url = `http://127.0.0.1:${port}`;
  return {
    url: `${url}/v1/logs`,
    count: async () => Number(await (await fetch(url)).text()),
    stop: () => child.kill(),
  };
}

interface Child {
  child: ChildProcess;
  address: Promise<string>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

/** The heap budget the collector ships with (npm start, the image), or BENCH_COLLECTOR_NODE_OPTIONS. */
const HEAP_ARGS = (process.env.BENCH_COLLECTOR_NODE_OPTIONS ?? COLLECTOR_NODE_OPTIONS)
  .split(' ')
  .filter(Boolean);

function collector(args: string[], opts: { env?: Record<string, string>; nodeArgs?: string[] } = {}): Child {
  const nodeArgs = [
    ...HEAP_ARGS,
    ...(opts.nodeArgs ?? []),
    BIN,
    '--sources',
    'none',
    '--listen',
    '127.0.0.1:0',
    ...args,
  ];
  const [cmd, argv] = HAS_TASKSET
    ? ['taskset', ['-c', '1', process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const child = spawn(cmd, argv, {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  let resolveAddr!: (a: string) => void;
  const address = new Promise<string>((r) => (resolveAddr = r));
  child.stderr!.setEncoding('utf8').on('data', (d) => {
    err += d;
    const m = /"address":"([^"]+)"/.exec(err);
    if (m) resolveAddr(m[1]);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    address,
    async metric(name, labels = {}) {
      const text = await (await fetch(`http://${await address}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = /^([\w:]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
        if (
          m &&
          m[1] === name &&
          Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))
        )
          sum += Number(m[3]);
      }
      return sum;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitFor(
  what: string,
  fn: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 100
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * One throughput run: `n` synthetic events through the whole pipeline into
 * the sink. `redact: false` runs the collector with --no-redact (the redaction
 * benchmark compares the two in one run).
 */
export async function throughput(n: number, opts: { cpuProfDir?: string; redact?: boolean } = {}) {
  const { cpuProfDir, redact = true } = opts;
  const sink = await startSink();
  const stateDir = mkdtempSync(join(tmpdir(), 'casefile-bench-'));
  try {
    const started = Date.now();
    const c = collector(
      [
        '--otlp-endpoint',
        sink.url,
        '--state-dir',
        stateDir,
        '--host-name',
        'bench',
        '--synthetic-rate',
        '0',
        '--synthetic-count',
        String(n),
        '--synthetic-run',
        'tp',
        ...(redact ? [] : ['--no-redact']),
      ],
      {
        env: { CASEFILE_QUEUE_MAX_BYTES: '4GiB' },
        nodeArgs: cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [],
      }
    );
    await c.address;
    const startup = procStats(c.child.pid!);
    const t0 = Date.now();
    let peak = 0;
    await waitFor(
      'sink to count every event',
      async () => {
        peak = Math.max(peak, procStats(c.child.pid!).rssMb);
        return (await sink.count()) >= n;
      },
      600_000,
      50
    );
    const secs = (Date.now() - t0) / 1000;
    const end = procStats(c.child.pid!);
    await c.stop();
    return {
      eps: n / secs,
      cpuPer1k: (end.cpuMs - startup.cpuMs) / (n / 1000),
      rssLoaded: Math.max(peak, end.hwmMb),
      wallS: (Date.now() - started) / 1000,
    };
  } finally {
    sink.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const FLOOR = resolve(import.meta.dirname, 'sdk-floor.ts');

/** One SDK floor run: `n` records through the bare SDK into a fresh sink, on the collector's core. */
export async function sdkFloor(n: number): Promise<{ eps: number; cpuPer1k: number }> {
  const sink = await startSink();
  try {
    const args = ['--import', 'tsx', FLOOR, sink.url, String(n)];
    const [cmd, argv] = HAS_TASKSET
      ? ['taskset', ['-c', '1', process.execPath, ...args]]
      : [process.execPath, args];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    if (code !== 0) throw new Error(`sdk floor exited ${code}`);
    const counted = await sink.count();
    if (counted !== n) throw new Error(`sdk floor: the sink counted ${counted} of ${n} records`);
    return JSON.parse(out.trim().split('\n').at(-1)!) as { eps: number; cpuPer1k: number };
  } finally {
    sink.stop();
  }
}

async function idleRss(): Promise<number> {
  const sink = await startSink();
  const stateDir = mkdtempSync(join(tmpdir(), 'casefile-bench-'));
  const c = collector(['--otlp-endpoint', sink.url, '--state-dir', stateDir, '--host-name', 'bench-idle']);
  try {
    await c.address;
    await sleep(3000);
    return procStats(c.child.pid!).rssMb;
  } finally {
    await c.stop();
    sink.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Every id of `run` on `host` in Loki, with its first-seen time. */
async function pollLoki(
  lokiUrl: string,
  host: string,
  seen: Map<string, number>,
  fromMs: number
): Promise<void> {
  const events = await readEvents(
    lokiUrl,
    { scope: { host } },
    { fromNs: msToNs(fromMs), toNs: msToNs(Date.now() + 1000) }
  );
  const now = Date.now();
  for (const e of events)
    if (e.type === 'process.start' && !seen.has(e.id)) seen.set(e.id, now - nsToMs(e.timeNs));
}

async function lokiRuns() {
  const lokiDir = mkdtempSync(join(tmpdir(), 'casefile-bench-loki-'));
  let loki = await startLoki({ dataDir: lokiDir });
  try {
    // Latency: event time -> queryable.
    const host = `bench-latency-${Date.now()}`;
    const count = 3000;
    const stateDir = mkdtempSync(join(tmpdir(), 'casefile-bench-'));
    const t0 = Date.now();
    const c = collector([
      '--otlp-endpoint',
      `${loki.url}/otlp`,
      '--state-dir',
      stateDir,
      '--host-name',
      host,
      '--synthetic-rate',
      '200',
      '--synthetic-count',
      String(count),
      '--synthetic-run',
      'lat',
    ]);
    const seen = new Map<string, number>();
    await waitFor(
      'latency events in Loki',
      async () => {
        await pollLoki(loki.url, host, seen, Math.max(t0, Date.now() - 10_000));
        return seen.size >= count;
      },
      120_000,
      250
    );
    await c.stop();
    const lat = [...seen.values()];

    // Outage: Loki stopped for 10 s while 500 events/s flow.
    const oHost = `bench-outage-${Date.now()}`;
    const oCount = 500 * 25;
    const oDir = mkdtempSync(join(tmpdir(), 'casefile-bench-'));
    const o = collector([
      '--otlp-endpoint',
      `${loki.url}/otlp`,
      '--state-dir',
      oDir,
      '--host-name',
      oHost,
      '--synthetic-rate',
      '500',
      '--synthetic-count',
      String(oCount),
      '--synthetic-run',
      'out',
    ]);
    await o.address;
    await sleep(7000);
    await loki.stop({ keepData: true });
    await sleep(10_000);
    loki = await startLoki({ dataDir: lokiDir, httpPort: loki.httpPort });
    await waitFor(
      'outage run drained',
      async () =>
        (await o.metric('casefile_source_stat', { source: 'synthetic', stat: 'emitted' })) >= oCount &&
        (await o.metric('casefile_queue_depth')) === 0,
      120_000,
      500
    );
    await o.stop();
    const counts = new Map<string, number>();
    await waitFor(
      'outage events queryable',
      async () => {
        counts.clear();
        const all = await readEvents(
          loki.url,
          { scope: { host: oHost } },
          { fromNs: msToNs(Date.now() - 3_600_000), toNs: msToNs(Date.now() + 1000) }
        );
        for (const e of all) if (e.type === 'process.start') counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
        return counts.size >= oCount;
      },
      60_000,
      1000
    ).catch(() => undefined);
    let lost = 0;
    let duplicates = 0;
    for (let i = 0; i < oCount; i++) {
      const k = counts.get(`out-${i}`) ?? 0;
      if (k === 0) lost++;
      else duplicates += k - 1;
    }
    return {
      loki_backend: loki.backend,
      loki_latency_note: loki.standin ? "measured on the Loki stand-in: not Loki's speed" : undefined,
      loki_latency_p50_ms: Math.round(pct(lat, 50)),
      loki_latency_p99_ms: Math.round(pct(lat, 99)),
      lost,
      duplicates,
      outage_events: oCount,
      outage_loki_down_s: 10,
    };
  } finally {
    await loki.stop({ keepData: false });
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const n = Number(process.env.BENCH_EVENTS ?? 200_000);
  const loadBefore = loadavg()[0];
  const runs = [];
  const floors: Array<{ eps: number; cpuPer1k: number }> = [];
  for (let i = 0; i < 3; i++) {
    runs.push(await throughput(n, { cpuProfDir: i === 0 ? process.env.BENCH_CPU_PROF : undefined }));
    floors.push(await sdkFloor(n));
    process.stderr.write(
      `bench pipeline: run ${i + 1}: ${JSON.stringify(runs[i])}, sdk floor ${JSON.stringify(floors[i])}\n`
    );
  }
  const loadDuring = loadavg()[0];
  const idle = await idleRss();
  // The Loki part may fail (no Loki, a slow one): its error is a field, the other figures stay.
  const loki = await lokiRuns().catch((e: Error) => ({ loki_error: e.message }));
  return {
    events_per_sec: Math.round(median(runs.map((r) => r.eps))),
    events_per_sec_runs: runs.map((r) => Math.round(r.eps)),
    sdk_floor_events_per_sec: Math.round(median(floors.map((f) => f.eps))),
    sdk_floor_events_per_sec_runs: floors.map((f) => Math.round(f.eps)),
    pipeline_vs_sdk_floor: Number(median(runs.map((r, i) => r.eps / floors[i].eps)).toFixed(2)),
    sdk_floor_cpu_ms_per_1k_events: Number(median(floors.map((f) => f.cpuPer1k)).toFixed(1)),
    // The same ratio in CPU time: on a shared core the wall-clock rate says how much of it each got.
    pipeline_vs_sdk_floor_cpu: Number(median(runs.map((r, i) => floors[i].cpuPer1k / r.cpuPer1k)).toFixed(2)),
    cpu_ms_per_1k_events: Number(median(runs.map((r) => r.cpuPer1k)).toFixed(1)),
    rss_mb_idle: Number(idle.toFixed(1)),
    rss_mb_loaded: Number(median(runs.map((r) => r.rssLoaded)).toFixed(1)),
    pipeline_one_core: HAS_TASKSET,
    pipeline_load_average_1m: [Number(loadBefore.toFixed(2)), Number(loadDuring.toFixed(2))],
    ...loki,
  };
}
