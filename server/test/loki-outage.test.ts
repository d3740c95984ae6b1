/**
 * Loki stopped in the middle of a pin: the pin fails with a clear 502 and
 * nothing is half-pinned; once Loki is back, the same pin succeeds.
 */
import { test } from 'node:test';
import { equal, match, ok } from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { msToNs } from '@casefile/schema';
import { startLoki } from '../../test/loki/loki-server';
import { processEvents, waitForEvents } from './helpers/seed';
import { seedEvents } from '../../test/loki/seed';
import { api, startTestServer } from './helpers/server';

const HOST = 'node-outage';
const N = 5000;

/** The pid of the Loki this test started on `dataDir` (a child of this process). */
function lokiPid(dataDir: string): number {
  for (const line of execFileSync('ps', ['-o', 'pid=', '--ppid', String(process.pid)], {
    encoding: 'utf8',
  }).split('\n')) {
    const pid = Number(line.trim());
    if (pid && readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`LOKI_DATA_DIR=${dataDir}\0`))
      return pid;
  }
  throw new Error('cannot find the Loki process');
}

async function pagesRead(url: string): Promise<number> {
  const m = /^casefile_server_loki_pages_total (\d+)/m.exec(
    (await api(url, '/metrics', { token: null })).text
  );
  return Number(m?.[1] ?? 0);
}

test('Loki stopped mid-pin leaves nothing half-pinned and answers a clear error', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'casefile-loki-outage-'));
  let loki = await startLoki({ dataDir });
  const httpPort = loki.httpPort;
  // Tiny pages make the pin long enough (hundreds of requests) to stop Loki in its middle.
  const server = await startTestServer({ lokiUrl: loki.url, lokiPageSize: 10, otlpUrl: 'off' });
  try {
    const start = Date.now() - 5 * 60_000;
    await seedEvents(loki.url, HOST, processEvents(N, start, 'outage'));
    const window = { fromNs: msToNs(start), toNs: msToNs(start + N + 1) };
    equal(await waitForEvents(loki.url, { scope: { host: HOST } }, window, N), N);

    const body = { title: 'during outage', scope: { host: HOST }, from: start, to: start + N + 1 };
    const pin = api(server.url, '/api/v1/snapshots', { method: 'POST', body });
    const deadline = Date.now() + 30_000;
    while ((await pagesRead(server.url)) < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const pagesAtStop = await pagesRead(server.url);
    ok(pagesAtStop >= 3 && pagesAtStop < N / 10, `stopped Loki after ${pagesAtStop} of ${N / 10} pages`);
    // SIGKILL: an abrupt outage, and no graceful shutdown during which Loki might still answer.
    process.kill(lokiPid(dataDir), 'SIGKILL');
    await loki.stop({ keepData: true });

    const r = await pin;
    equal(r.status, 502, r.text);
    equal(r.json.error, 'loki_unavailable');
    match(r.json.message, /nothing was pinned.*Loki/);
    const counts = await server.store.counts();
    equal(counts.snapshots, 0);
    equal(counts.events, 0);
    equal((await api(server.url, '/api/v1/snapshots')).json.total, 0);

    // Loki back at the same address: the same pin now succeeds, whole.
    loki = await startLoki({ dataDir, httpPort });
    equal(await waitForEvents(loki.url, { scope: { host: HOST } }, window, N), N);
    const again = await api(server.url, '/api/v1/snapshots', { method: 'POST', body });
    equal(again.status, 201, again.text);
    equal(again.json.snapshot.eventCount, N);
  } finally {
    await server.close();
    await loki.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
