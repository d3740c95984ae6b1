/**
 * Pin jobs on the real server against the Loki stand-in, on SQLite and
 * PostgreSQL: the job answers at once and its progress moves; done, the
 * snapshot is the window (same content hash as a direct pin); cancelled or
 * with Loki killed mid-read, nothing is stored; scopes, owners and bounds;
 * a server killed mid-job reports it failed after its restart.
 */
import { after, before, describe, test } from 'node:test';
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { msToNs } from '@casefile/schema';
import { startLoki, type Loki } from '../../test/loki/loki-server';
import { seedEvents } from '../../test/loki/seed';
import type { ApiToken } from '../src/config/config';
import { startPostgres, type Postgres } from './helpers/postgres';
import { processEvents, waitForEvents } from './helpers/seed';
import {
  GRAFANA_TOKEN,
  READ_TOKEN,
  TEST_TOKENS,
  api,
  startServerProcess,
  startTestServer,
} from './helpers/server';

const HOST = 'node-pin-jobs';
const N = 6000;
/** A second caller with the pin scope only (not an admin). */
const OTHER: ApiToken = { name: 'other-pinner', token: 'other-pinner-0123456789', scopes: ['read', 'pin'] };
const TOKENS = [...TEST_TOKENS, OTHER];
/** Small Loki pages make a pin of N entries take many requests, so its progress can be watched. */
const PAGE = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll a job until `done(job)` or the deadline; returns every answer seen. */
async function watch(url: string, id: string, until: (j: any) => boolean, ms = 120_000): Promise<any[]> {
  const seen: any[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await api(url, `/api/v1/pin-jobs/${id}`);
    equal(r.status, 200, r.text);
    seen.push(r.json);
    if (until(r.json)) return seen;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${r.json.state} after ${ms} ms`);
    await sleep(15);
  }
}

const metric = async (url: string, line: RegExp) =>
  Number(line.exec((await api(url, '/metrics', { token: null })).text)?.[1] ?? 0);

let loki: Loki;
let pg: Postgres;
let start: number;
let body: { title: string; scope: { host: string }; from: number; to: number };

before(async () => {
  [loki, pg] = await Promise.all([startLoki(), startPostgres()]);
  start = Date.now() - 10 * 60_000;
  await seedEvents(loki.url, HOST, processEvents(N, start, 'pinjobs'));
  const window = { fromNs: msToNs(start), toNs: msToNs(start + N + 1) };
  equal(await waitForEvents(loki.url, { scope: { host: HOST } }, window, N), N);
  body = { title: 'large window', scope: { host: HOST }, from: start, to: start + N + 1 };
});
after(async () => {
  await loki?.stop();
  await pg?.stop();
});

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`pin jobs (${backend})`, () => {
    let server: Awaited<ReturnType<typeof startTestServer>>;
    before(async () => {
      server = await startTestServer({
        lokiUrl: loki.url,
        otlpUrl: 'off',
        lokiPageSize: PAGE,
        tokens: TOKENS,
        ...(backend === 'postgres' ? { postgresDsn: pg.dsn } : {}),
      });
    });
    after(() => server?.close());

    test('answers at once, progress moves, done is the whole window (same hash as a direct pin)', async () => {
      const before = await server.store.counts();
      // A round trip of the cheapest route beside it: on the loaded machine only the ratio means much.
      const h0 = performance.now();
      equal((await api(server.url, '/healthz', { token: null })).status, 200);
      const healthMs = performance.now() - h0;
      const t0 = performance.now();
      const r = await api(server.url, '/api/v1/pin-jobs', { method: 'POST', body });
      const answerMs = performance.now() - t0;
      equal(r.status, 202, r.text);
      equal(r.headers.get('location'), `/api/v1/pin-jobs/${r.json.job.id}`);
      ok(['queued', 'running'].includes(r.json.job.state), r.json.job.state);
      equal(r.json.job.eventsRead, 0);
      console.log(
        `# ${backend}: 202 after ${answerMs.toFixed(0)} ms (GET /healthz ${healthMs.toFixed(0)} ms)`
      );

      const seen = await watch(
        server.url,
        r.json.job.id,
        (j) => j.state !== 'queued' && j.state !== 'running'
      );
      const last = seen.at(-1);
      equal(last.state, 'done', JSON.stringify(last));
      equal(last.eventsRead, N);
      equal(last.estimatedTotal, N, 'Loki counted the window');
      ok(last.elapsedMs > 0 && last.finishedAt, 'elapsed and end time');
      const reads = seen.map((j) => j.eventsRead);
      for (let i = 1; i < reads.length; i++)
        ok(reads[i] >= reads[i - 1], `progress never goes back: ${reads}`);
      const between = new Set(reads.filter((n) => n > 0 && n < N));
      ok(between.size >= 2, `progress seen moving: ${[...between].join(', ')}`);
      ok(
        seen.some((j) => j.state === 'running' && j.estimatedTotal === N && j.eventsRead < N),
        'the estimate was known while reading'
      );

      const snap = await api(server.url, `/api/v1/snapshots/${last.snapshotId}`);
      equal(snap.status, 200, snap.text);
      equal(snap.json.eventCount, N);
      const d0 = performance.now();
      const direct = await api(server.url, '/api/v1/snapshots', { method: 'POST', body });
      const directMs = performance.now() - d0;
      equal(direct.status, 201, direct.text);
      // The same job again without polling it (the polls above share this process with the server).
      const w0 = performance.now();
      const waited = await api(server.url, '/api/v1/pin-jobs?waitMs=10000', { method: 'POST', body });
      const waitedMs = performance.now() - w0;
      console.log(
        `# ${backend}: ${N} events as a watched job in ${last.elapsedMs} ms (${Math.round(N / (last.elapsedMs / 1000))}/s), ` +
          `as a direct pin in ${directMs.toFixed(0)} ms, as a job not watched in ${waitedMs.toFixed(0)} ms ` +
          `(${waited.status}; watched/direct ${(last.elapsedMs / directMs).toFixed(2)}, unwatched/direct ${(waitedMs / directMs).toFixed(2)})`
      );
      if (waited.status === 202) await watch(server.url, waited.json.job.id, (j) => j.state === 'done');
      equal(snap.json.contentSha256, direct.json.snapshot.contentSha256, 'the job pinned exactly the window');
      const after = await server.store.counts();
      equal(after.snapshots, before.snapshots + 3);
      const listed = await api(server.url, '/api/v1/pin-jobs');
      ok(listed.json.items.some((j: any) => j.id === last.id && j.state === 'done'));
      equal((await api(server.url, '/api/v1/pin-jobs?active=true')).json.total, 0);
      ok((await metric(server.url, /^casefile_server_pin_jobs_total\{result="done"\} (\d+)/m)) >= 1);
    });

    test('a small pin is done in one round trip with waitMs', async () => {
      const small = { ...body, title: 'small', to: start + 50 };
      const r = await api(server.url, '/api/v1/pin-jobs?waitMs=10000', { method: 'POST', body: small });
      equal(r.status, 201, r.text);
      equal(r.json.job.state, 'done');
      equal(r.json.snapshot.id, r.json.job.snapshotId);
      equal(r.json.snapshot.eventCount, 50);
      equal(r.headers.get('location'), `/api/v1/snapshots/${r.json.snapshot.id}`);
    });

    test('cancelled mid-read: nothing stored, the job says so', async () => {
      const before = await server.store.counts();
      const r = await api(server.url, '/api/v1/pin-jobs', { method: 'POST', body });
      equal(r.status, 202, r.text);
      await watch(server.url, r.json.job.id, (j) => j.eventsRead > 0 || j.state !== 'queued');
      const c = await api(server.url, `/api/v1/pin-jobs/${r.json.job.id}`, { method: 'DELETE' });
      equal(c.status, 200, c.text);
      equal(c.json.state, 'cancelled');
      ok(c.json.eventsRead < N, `cancelled before the end (${c.json.eventsRead})`);
      match(c.json.error.message, /cancelled by automation; nothing was stored/);
      deepEqual(await server.store.counts(), before, 'no snapshot and no events stored');
      const again = await api(server.url, `/api/v1/pin-jobs/${r.json.job.id}`, { method: 'DELETE' });
      equal(again.status, 409);
      equal(again.json.error, 'not_cancellable');
      ok((await metric(server.url, /^casefile_server_pin_jobs_total\{result="cancelled"\} (\d+)/m)) >= 1);
    });

    test("scopes, owners and bounds: read may watch, not pin; another caller may not cancel; a caller's fourth job is 429", async () => {
      const refused = await api(server.url, '/api/v1/pin-jobs', { method: 'POST', body, token: READ_TOKEN });
      equal(refused.status, 403);
      match(refused.json.message, /lacks the pin scope/);
      const forged = await api(server.url, '/api/v1/pin-jobs', {
        method: 'POST',
        body,
        headers: { 'x-grafana-user': 'mallory' },
      });
      equal(forged.status, 403, 'X-Grafana-User only from Grafana');
      const mine = await api(server.url, '/api/v1/pin-jobs', {
        method: 'POST',
        body,
        token: GRAFANA_TOKEN,
        headers: { 'x-grafana-user': 'alice' },
      });
      equal(mine.status, 202, mine.text);
      equal(mine.json.job.createdBy, 'alice');
      const id = mine.json.job.id;
      equal((await api(server.url, `/api/v1/pin-jobs/${id}`, { token: READ_TOKEN })).status, 200);
      const notRead = await api(server.url, `/api/v1/pin-jobs/${id}`, {
        method: 'DELETE',
        token: READ_TOKEN,
      });
      equal(notRead.status, 403);
      const notYours = await api(server.url, `/api/v1/pin-jobs/${id}`, {
        method: 'DELETE',
        token: OTHER.token,
      });
      equal(notYours.status, 403, notYours.text);
      match(notYours.json.message, /not yours/);
      // Bob through Grafana's token is another caller than Alice.
      const bob = await api(server.url, `/api/v1/pin-jobs/${id}`, {
        method: 'DELETE',
        token: GRAFANA_TOKEN,
        headers: { 'x-grafana-user': 'bob' },
      });
      equal(bob.status, 200, 'Grafana token has admin: an Editor may cancel, as they may delete snapshots');

      const jobs: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await api(server.url, '/api/v1/pin-jobs', { method: 'POST', body, token: OTHER.token });
        equal(r.status, 202, r.text);
        jobs.push(r.json.job.id);
      }
      const fourth = await api(server.url, '/api/v1/pin-jobs', { method: 'POST', body, token: OTHER.token });
      equal(fourth.status, 429, fourth.text);
      match(fourth.json.message, /already have 3 pin jobs/);
      // The server runs two at a time: the third waits queued.
      const states = await Promise.all(
        jobs.map(async (j) => (await api(server.url, `/api/v1/pin-jobs/${j}`)).json)
      );
      ok(states.filter((s) => s.state === 'queued').length >= 1, JSON.stringify(states.map((s) => s.state)));
      const active = await api(server.url, '/api/v1/pin-jobs?active=true');
      equal(active.json.total, 3);
      for (const j of jobs.reverse())
        ok(
          [200, 409].includes(
            (await api(server.url, `/api/v1/pin-jobs/${j}`, { method: 'DELETE', token: OTHER.token })).status
          )
        );
      const other = await api(server.url, '/api/v1/pin-jobs', { method: 'POST', body, token: OTHER.token });
      equal(other.status, 202, 'room again once cancelled');
      await api(server.url, `/api/v1/pin-jobs/${other.json.job.id}`, {
        method: 'DELETE',
        token: OTHER.token,
      });
      ok((await metric(server.url, /^casefile_server_pin_jobs_refused_total\{bound="caller"\} (\d+)/m)) >= 1);
    });
  });
}

describe('pin jobs when Loki or the server dies', () => {
  test('Loki killed mid-job: the job fails in words and nothing is stored', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'casefile-pinjob-loki-'));
    const own = await startLoki({ dataDir });
    const server = await startTestServer({
      lokiUrl: own.url,
      otlpUrl: 'off',
      lokiPageSize: 20,
      tokens: TOKENS,
    });
    try {
      const s = Date.now() - 5 * 60_000;
      await seedEvents(own.url, HOST, processEvents(3000, s, 'lokidies'));
      const window = { fromNs: msToNs(s), toNs: msToNs(s + 3001) };
      equal(await waitForEvents(own.url, { scope: { host: HOST } }, window, 3000), 3000);
      const r = await api(server.url, '/api/v1/pin-jobs', {
        method: 'POST',
        body: { title: 'loki dies', scope: { host: HOST }, from: s, to: s + 3001 },
      });
      equal(r.status, 202, r.text);
      await watch(server.url, r.json.job.id, (j) => j.eventsRead >= 100);
      await own.stop({ signal: 'SIGKILL', keepData: true });
      const [last] = (await watch(server.url, r.json.job.id, (j) => j.state !== 'running', 120_000)).slice(
        -1
      );
      equal(last.state, 'failed', JSON.stringify(last));
      equal(last.error.error, 'loki_unavailable');
      match(last.error.message, /nothing was pinned: Loki unreachable at/);
      ok(last.eventsRead >= 100 && last.eventsRead < 3000, `failed part way (${last.eventsRead})`);
      const counts = await server.store.counts();
      equal(counts.snapshots, 0);
      equal(counts.events, 0);
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('server killed mid-job: after the restart the job reads failed ("server restarted"), nothing stored', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'casefile-pinjob-restart-'));
    const { child, url, exited } = await startServerProcess([
      `--data-dir=${dataDir}`,
      `--loki-url=${loki.url}`,
      '--loki-page-size=20',
    ]);
    try {
      const r = await api(url, '/api/v1/pin-jobs', { method: 'POST', body });
      equal(r.status, 202, r.text);
      await watch(url, r.json.job.id, (j) => j.eventsRead > 0);
      child.kill('SIGKILL');
      await exited;

      const server = await startTestServer({
        lokiUrl: loki.url,
        otlpUrl: 'off',
        dataDir,
        tokens: TOKENS,
        lokiPageSize: PAGE,
      });
      try {
        const j = await api(server.url, `/api/v1/pin-jobs/${r.json.job.id}`);
        equal(j.status, 200, j.text);
        equal(j.json.state, 'failed');
        equal(j.json.error.error, 'server_restarted');
        match(j.json.error.message, /restarted before this pin finished; nothing was stored/);
        equal((await server.store.counts()).snapshots, 0);
        equal(await metric(server.url, /^casefile_server_pin_jobs_total\{result="failed"\} (\d+)/m), 1);

        // A graceful stop fails its running job too, and says so after the next start.
        const g = await api(server.url, '/api/v1/pin-jobs', { method: 'POST', body });
        await watch(server.url, g.json.job.id, (x) => x.eventsRead > 0);
        await server.close();
        const again = await startTestServer({ lokiUrl: loki.url, otlpUrl: 'off', dataDir, tokens: TOKENS });
        try {
          const k = (await api(again.url, `/api/v1/pin-jobs/${g.json.job.id}`)).json;
          equal(k.state, 'failed', JSON.stringify(k));
          equal(k.error.error, 'server_stopped');
          match(k.error.message, /stopped before this pin finished; nothing was stored/);
          equal((await again.store.counts()).snapshots, 0);
        } finally {
          await again.close();
        }
      } finally {
        await server.close();
      }
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
