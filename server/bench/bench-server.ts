/**
 * `npm run bench:server`: the server's numbers against the Loki stand-in
 * (test/loki), or a real Loki given by LOKI_URL. Stand-in figures are the
 * server's and the stand-in's, not Loki's speed: the output names the backend.
 *
 * 1. Seeds BENCH_EVENTS (default 1,000,000) events into a fresh Loki through
 *    BENCH_SEEDERS (default 3) parallel OpenTelemetry exporter processes.
 * 2. Runs the real server as a child process (`bin/casefile-server.js`), so
 *    its RSS is its own; the live exports run on a fresh server process.
 * 3. Measures, BENCH_REPEATS (default 3) times each, and reports medians:
 *    pin_100k_events_s    POST /snapshots over a window of 100,000 events
 *    csv_rows_per_sec     GET /snapshots/{id}/export.csv (from the store)
 *    live_csv_rows_per_sec GET /export.csv over all events (from Loki)
 *    export_rss_mb        peak server RSS during the live exports (VmHWM, reset before each; max of repeats)
 *    live_ttfb_s          time to the first byte of the live CSV
 *    then, on fresh server processes, every event pinned as one snapshot
 *    (pin_all_s, pin_all_rss_mb: the pin streams into the store page by page) and
 *    that snapshot exported: snapshot_csv_all_rss_mb / _rows_per_sec and
 *    package_all_rss_mb / package_all_s (the signed zip), peaks as above,
 *    BENCH_ALL_REPEATS (default 1) times.
 * Also reports where the time goes (CPU seconds of Loki and of the server) and
 * every row count: rows missing against what was seeded, and ids seen twice,
 * are printed, never hidden. The load average is printed beside the figures.
 * The last line is one JSON object, also when a part fails: the figures
 * measured until then stay, and `error` says what failed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { countByTypeQuery, msToNs } from '@casefile/schema';
import { freePort, startLoki } from '../../test/loki/loki-server';
import { SERVER_NODE_OPTIONS } from '../src/config/heap';
import { LokiClient } from '../src/loki/loki-client';

const ROOT = resolve(import.meta.dirname, '../..');
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const SEEDERS = Number(process.env.BENCH_SEEDERS ?? 3);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const ALL_REPEATS = Number(process.env.BENCH_ALL_REPEATS ?? 1);
const PIN_EVENTS = Math.min(100_000, EVENTS);
const TOKEN = 'bench-token-0123456789';
const SCOPE = { containerName: 'bench' };

const log = (...a: unknown[]) => console.log('#', ...a);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** CPU seconds (user+system) of a process. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  return Number(
    new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0
  );
}
/** The pid of the Loki this process started (its child: the stand-in or a loki binary); undefined for LOKI_URL. */
function lokiPid(): number | undefined {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => /-config\.file/.test(l));
  return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

/** An event id (UUID) as a CSV cell of its own; one made only of digits and dashes is kept text by a leading `'`. */
const ID_CELL = /,'?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}),/;

/** Stream a GET; returns its bytes, seconds, seconds to the first byte, and the body's text lines as they come. */
async function streamGet(
  url: string,
  onLine?: (line: string) => void
): Promise<{ bytes: number; s: number; ttfbS: number }> {
  const t = performance.now();
  const r = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  let ttfbS = NaN;
  let bytes = 0;
  let rest = '';
  const text = new TextDecoder();
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
    if (!bytes) ttfbS = (performance.now() - t) / 1000;
    bytes += chunk.length;
    if (!onLine) continue;
    const lines = (rest + text.decode(chunk, { stream: true })).split('\n');
    rest = lines.pop()!;
    for (const l of lines) onLine(l);
  }
  if (onLine && rest) onLine(rest);
  return { bytes, s: (performance.now() - t) / 1000, ttfbS };
}

/** Stream a CSV export: its rows (lines minus the header), event ids seen more than once, seconds, time to first byte. */
async function streamCsv(
  url: string
): Promise<{ rows: number; duplicates: number; s: number; ttfbS: number }> {
  const ids = new Set<string>();
  let lines = 0;
  let duplicates = 0;
  const { s, ttfbS } = await streamGet(url, (line) => {
    if (lines++ === 0) return;
    const id = ID_CELL.exec(line)?.[1];
    if (id === undefined) throw new Error(`row ${lines - 1} has no event id: ${line.slice(0, 200)}`);
    if (ids.has(id)) duplicates++;
    else ids.add(id);
  });
  return { rows: lines - 1, duplicates, s, ttfbS };
}

/** POST JSON with node:http (fetch gives up waiting for headers after 300 s; a pin of 1M events takes longer here). */
function postJson(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((res, rej) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      },
      (r) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => (text += d));
        r.on('end', () => res({ status: r.statusCode ?? 0, json: JSON.parse(text) }));
        r.on('error', rej);
      }
    );
    req.on('error', rej);
    req.end(JSON.stringify(body));
  });
}

/** The 1-minute load average, as printed beside the figures. */
const load = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** Filled as each part completes, so a failure keeps what was measured before it. */
const result: Record<string, unknown> = {
  events_seeded: EVENTS,
  repeats: REPEATS,
  cpus: availableParallelism(),
};

async function main() {
  const loki = await startLoki();
  result.loki_backend = loki.backend;
  result.loki_version = loki.version;
  if (loki.standin) result.loki_note = "measured on the Loki stand-in: not Loki's speed";
  let server: ChildProcess | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'casefile-bench-'));
  try {
    const lpid = lokiPid();
    // Events 1 per spacing over ~45 minutes ending a minute ago (inside Loki's accepted range).
    const spanMs = 45 * 60_000;
    const spacingUs = Math.floor((spanMs * 1000) / EVENTS);
    const startMs = Date.now() - spanMs - 60_000;
    const endMs = startMs + Math.ceil((EVENTS * spacingUs) / 1000) + 1;
    log(`seeding ${EVENTS} events with ${SEEDERS} OTLP exporter processes`);
    let t = performance.now();
    await Promise.all(
      Array.from({ length: SEEDERS }, (_, w) =>
        run('node', [
          '--import',
          'tsx',
          'server/bench/seed-worker.ts',
          loki.url,
          `bench-${w}`,
          String(w),
          String(SEEDERS),
          String(EVENTS),
          String(startMs),
          String(spacingUs),
        ])
      )
    );
    const seedS = (performance.now() - t) / 1000;
    log(`seeded in ${round(seedS)} s (${Math.round(EVENTS / seedS)} events/s)`);
    result.seed_events_per_sec = Math.round(EVENTS / seedS);
    // Wait until Loki counts them all (a metric query, not a full read).
    // A metric query over the whole window: slow on the stand-in at 1M entries, so a long timeout.
    const client = new LokiClient({ url: loki.url, timeoutMs: 600_000, retries: 2 });
    const q = countByTypeQuery({ scope: SCOPE }, '1h');
    for (const deadline = Date.now() + 120_000; ;) {
      const r = await client.get<{ data: { result: { value: [number, string] }[] } }>('/loki/api/v1/query', {
        query: q,
        time: msToNs(endMs + 1000),
      });
      const n = r.data.result.reduce((a, x) => a + Number(x.value[1]), 0);
      if (n >= EVENTS) break;
      if (Date.now() > deadline) throw new Error(`Loki counts ${n} of ${EVENTS} events`);
      await new Promise((r) => setTimeout(r, 500));
    }

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const startServer = async () => {
      server = spawn('node', ['server/bin/casefile-server.js'], {
        cwd: ROOT,
        stdio: ['ignore', process.env.BENCH_SERVER_LOG ? 'inherit' : 'ignore', 'inherit'],
        env: {
          ...process.env,
          // As the server is started (npm start, the image): its heap budget.
          NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS ?? SERVER_NODE_OPTIONS,
          CASEFILE_SERVER_PORT: String(port),
          CASEFILE_SERVER_DATA_DIR: dataDir,
          CASEFILE_SERVER_LOKI_URL: loki.url,
          CASEFILE_SERVER_TOKENS: `bench:read+pin+admin:${TOKEN}`,
          CASEFILE_SERVER_OTLP_URL: 'off',
          CASEFILE_SERVER_LOG_LEVEL: process.env.BENCH_SERVER_LOG ?? 'warn',
        },
      });
      for (const deadline = Date.now() + 60_000; ;) {
        if ((await fetch(`${base}/healthz`).catch(() => undefined))?.ok) break;
        if (Date.now() > deadline) throw new Error('server did not start');
        await new Promise((r) => setTimeout(r, 200));
      }
      return server.pid!;
    };
    const stopServer = async () => {
      const s = server!;
      const done = new Promise((r) => s.once('exit', r));
      s.kill('SIGTERM');
      await done;
    };
    let spid = await startServer();

    // Pin 100k.
    const pinTimes: number[] = [];
    const pinRows: number[] = [];
    let snapshotId = '';
    const pinTo = startMs + Math.floor((PIN_EVENTS * spacingUs) / 1000);
    for (let i = 0; i < REPEATS; i++) {
      t = performance.now();
      const r = await fetch(`${base}/api/v1/snapshots`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: `bench ${i}`, scope: SCOPE, from: startMs, to: pinTo }),
      });
      const body = (await r.json()) as { snapshot: { id: string; eventCount: number } };
      pinTimes.push((performance.now() - t) / 1000);
      if (r.status !== 201) throw new Error(`pin: ${r.status} ${JSON.stringify(body)}`);
      snapshotId = body.snapshot.id;
      pinRows.push(body.snapshot.eventCount);
      log(`pin ${i + 1}: ${body.snapshot.eventCount} events in ${round(pinTimes[i], 2)} s`);
    }
    Object.assign(result, {
      pin_100k_events_s: round(median(pinTimes), 2),
      pin_events: PIN_EVENTS,
      pin_rows: pinRows,
      pin_rows_missing: pinRows.map((r) => PIN_EVENTS - r),
    });

    // CSV from the snapshot.
    const csvRates: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const { rows, duplicates, s } = await streamCsv(`${base}/api/v1/snapshots/${snapshotId}/export.csv`);
      csvRates.push(rows / s);
      if (rows !== pinRows[i] || duplicates)
        throw new Error(`snapshot csv: ${rows} rows, ${duplicates} ids twice`);
      log(`snapshot csv ${i + 1}: ${rows} rows in ${round(s, 2)} s`);
    }
    result.csv_rows_per_sec = Math.round(median(csvRates));

    // Live CSV from Loki, on a fresh server process (so the pins' heap is not counted), with its peak RSS and the CPU split.
    await stopServer();
    spid = await startServer();
    const liveRates: number[] = [];
    const liveRows: number[] = [];
    const liveDuplicates: number[] = [];
    const liveTtfb: number[] = [];
    const peaks: number[] = [];
    const loads: number[] = [];
    let lokiCpu = 0;
    let serverCpu = 0;
    let liveS = 0;
    const rssBefore = statusKb(spid, 'VmRSS') / 1024;
    result.server_rss_idle_mb = round(rssBefore);
    for (let i = 0; i < REPEATS; i++) {
      writeFileSync(`/proc/${spid}/clear_refs`, '5'); // reset VmHWM to the current RSS
      const l0 = lpid ? cpuSeconds(lpid) : 0;
      const s0 = cpuSeconds(spid);
      const { rows, duplicates, s, ttfbS } = await streamCsv(
        `${base}/api/v1/export.csv?containerName=bench&from=${startMs}&to=${endMs}`
      );
      liveDuplicates.push(duplicates);
      liveTtfb.push(ttfbS);
      loads.push(load());
      lokiCpu += lpid ? cpuSeconds(lpid) - l0 : NaN;
      serverCpu += cpuSeconds(spid) - s0;
      liveS += s;
      liveRows.push(rows);
      liveRates.push(rows / s);
      peaks.push(statusKb(spid, 'VmHWM') / 1024);
      log(
        `live csv ${i + 1}: ${rows} rows (${duplicates} ids twice) in ${round(s, 1)} s, first byte after ${round(ttfbS, 2)} s, server peak RSS ${round(peaks[i])} MB, load ${loads[i]}`
      );
    }
    Object.assign(result, {
      live_csv_rows_per_sec: Math.round(median(liveRates)),
      export_rss_mb: round(Math.max(...peaks)),
      export_rss_mb_runs: peaks.map((p) => round(p)),
      live_ttfb_s: round(median(liveTtfb), 2),
      live_rows: liveRows,
      live_rows_missing: liveRows.map((r) => EVENTS - r),
      live_rows_duplicated: liveDuplicates,
      live_load_avg: loads,
      live_loki_cpu_share: round(lokiCpu / liveS, 2),
      live_server_cpu_share: round(serverCpu / liveS, 2),
    });

    // Every event as one snapshot (a fresh server: the pin's own peak), then its exports on another fresh one.
    await stopServer();
    spid = await startServer();
    writeFileSync(`/proc/${spid}/clear_refs`, '5');
    t = performance.now();
    const pinAll = await postJson(`${base}/api/v1/snapshots`, {
      title: 'bench all',
      scope: SCOPE,
      from: startMs,
      to: endMs,
    });
    const all = pinAll.json as { snapshot: { id: string; eventCount: number } };
    if (pinAll.status !== 201) throw new Error(`pin of all events: ${pinAll.status} ${JSON.stringify(all)}`);
    Object.assign(result, {
      pin_all_s: round((performance.now() - t) / 1000, 1),
      pin_all_rows: all.snapshot.eventCount,
      pin_all_rss_mb: round(statusKb(spid, 'VmHWM') / 1024),
    });
    log(
      `pin of all: ${all.snapshot.eventCount} events in ${result.pin_all_s} s, peak RSS ${result.pin_all_rss_mb} MB`
    );
    if (all.snapshot.eventCount !== EVENTS)
      throw new Error(`pin of all: ${all.snapshot.eventCount} of ${EVENTS} events`);
    await stopServer();
    spid = await startServer();
    const snapRates: number[] = [];
    const snapPeaks: number[] = [];
    const snapTtfb: number[] = [];
    const pkgS: number[] = [];
    const pkgPeaks: number[] = [];
    // Once each by default (BENCH_ALL_REPEATS): at 1M rows one round takes minutes on the loaded machine.
    for (let i = 0; i < ALL_REPEATS; i++) {
      writeFileSync(`/proc/${spid}/clear_refs`, '5');
      const c = await streamCsv(`${base}/api/v1/snapshots/${all.snapshot.id}/export.csv`);
      snapPeaks.push(statusKb(spid, 'VmHWM') / 1024);
      snapRates.push(c.rows / c.s);
      snapTtfb.push(c.ttfbS);
      if (c.rows !== EVENTS || c.duplicates)
        throw new Error(`snapshot csv of all: ${c.rows} rows, ${c.duplicates} ids twice`);
      log(
        `snapshot csv of all ${i + 1}: ${c.rows} rows in ${round(c.s, 1)} s, peak RSS ${round(snapPeaks[i])} MB, load ${load()}`
      );
      writeFileSync(`/proc/${spid}/clear_refs`, '5');
      const z = await streamGet(`${base}/api/v1/snapshots/${all.snapshot.id}/package`);
      pkgPeaks.push(statusKb(spid, 'VmHWM') / 1024);
      pkgS.push(z.s);
      log(
        `package of all ${i + 1}: ${round(z.bytes / 2 ** 20)} MB zip in ${round(z.s, 1)} s, peak RSS ${round(pkgPeaks[i])} MB, load ${load()}`
      );
    }
    Object.assign(result, {
      snapshot_csv_all_rows_per_sec: Math.round(median(snapRates)),
      snapshot_csv_all_ttfb_s: round(median(snapTtfb), 2),
      snapshot_csv_all_rss_mb: round(Math.max(...snapPeaks)),
      package_all_s: round(median(pkgS), 1),
      package_all_rss_mb: round(Math.max(...pkgPeaks)),
    });
  } finally {
    if (server && server.exitCode === null) {
      const s = server as ChildProcess;
      const done = new Promise((r) => s.once('exit', r));
      s.kill('SIGTERM');
      await done;
    }
    await loki.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main()
  .catch((err: Error) => {
    console.error(err);
    result.error = err.message;
    process.exitCode = 1;
  })
  .finally(() => console.log(JSON.stringify(result)));
