/**
 * A pin streams into the store (issue 11): rows go in page by page through a
 * PinWriter, never the whole window at once, and stay invisible until the
 * commit. On real SQLite and real PostgreSQL, against the Loki stand-in: a
 * pin that fails midway (Loki killed, too large, cancelled) leaves no rows and
 * no snapshot, a server SIGKILLed mid-pin leaves nothing after its restart,
 * another server's start-up on a shared PostgreSQL does not touch a pin in
 * progress, and data dirs made before the staging migration upgrade.
 */
import { after, before, describe, test } from 'node:test';
import { deepEqual, equal, match, ok, rejects } from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { msToNs } from '@casefile/schema';
import { startLoki, type Loki } from '../../test/loki/loki-server';
import { seedEvents } from '../../test/loki/seed';
import { MIGRATIONS } from '../src/store/migrations';
import { PostgresStore } from '../src/store/postgres-store';
import { SNAPSHOT_COLUMNS, metaValues } from '../src/store/rows';
import { SqliteStore } from '../src/store/sqlite-store';
import { CapReachedError, type EventRow, type SnapshotMeta, type SnapshotStore } from '../src/store/store';
import { createSnapshot, snapshotMeta } from './helpers/pin-rows';
import { startPostgres, type Postgres } from './helpers/postgres';
import { processEvents, waitForEvents } from './helpers/seed';
import { api, startServerProcess, startTestServer } from './helpers/server';

const HOST = 'node-pin-stream';
const N = 12_000;
/** Loki page size: a pin of N entries is N / PAGE pages. */
const PAGE = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const meta = (over: Partial<SnapshotMeta> = {}) =>
  snapshotMeta({ title: 'streamed', scope: { host: HOST }, ...over });

function rows(n: number, from = 0): EventRow[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const e = {
      id: `r${i}`,
      type: 'process.start',
      timeNs: String(1700000000000000000n + BigInt(i)),
      message: `m${i}`,
    };
    return { ...e, json: JSON.stringify(e) };
  });
}

/** Records the size of every batch the store is given, and runs `onAdd` after each (e.g. to kill Loki midway). */
function watchBatches(store: SnapshotStore, onAdd?: (batches: number) => Promise<void> | void): number[] {
  const sizes: number[] = [];
  const begin = store.beginPin.bind(store);
  store.beginPin = async (id) => {
    const w = await begin(id);
    return {
      ...w,
      add: async (r) => {
        sizes.push(r.length);
        await w.add(r);
        await onAdd?.(sizes.length);
      },
    };
  };
  return sizes;
}

let loki: Loki;
let pgServer: Postgres;
let start: number;
let body: { title: string; scope: { host: string }; from: number; to: number };

before(async () => {
  [loki, pgServer] = await Promise.all([startLoki(), startPostgres()]);
  start = Date.now() - 10 * 60_000;
  await seedEvents(loki.url, HOST, processEvents(N, start, 'stream'));
  const window = { fromNs: msToNs(start), toNs: msToNs(start + N + 1) };
  equal(await waitForEvents(loki.url, { scope: { host: HOST } }, window, N), N);
  body = { title: 'streamed window', scope: { host: HOST }, from: start, to: start + N + 1 };
});
after(async () => {
  await loki?.stop();
  await pgServer?.stop();
});

/** SQL against PostgreSQL from a connection of its own (what another process sees). */
async function pgQuery<T = any>(dsn: string, sql: string, args: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: dsn });
  await c.connect();
  try {
    return (await c.query(sql, args)).rows;
  } finally {
    await c.end();
  }
}

interface Backend {
  name: 'sqlite' | 'postgres';
  /** A store on a fresh data dir (SQLite) or on the test's database (PostgreSQL), migrated. */
  open(dataDir: string): Promise<SnapshotStore>;
  /** Server config for this backend. */
  config(dataDir: string): { dataDir: string; postgresDsn?: string };
  /**
   * What a pin in progress holds outside what any read shows: SQLite's staged
   * rows, PostgreSQL's open writing transactions of other connections.
   */
  pending(dataDir: string): Promise<number>;
}

const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    open: async (dir) => {
      const s = new SqliteStore(dir);
      await s.migrate();
      return s;
    },
    config: (dir) => ({ dataDir: dir }),
    pending: async (dir) => {
      const db = new Database(join(dir, 'casefile.db'), { readonly: true });
      try {
        return db.prepare('SELECT COUNT(*) FROM pin_stage').pluck().get() as number;
      } finally {
        db.close();
      }
    },
  },
  {
    name: 'postgres',
    open: async () => {
      const s = new PostgresStore(pgServer.dsn);
      await s.migrate();
      return s;
    },
    config: (dir) => ({ dataDir: dir, postgresDsn: pgServer.dsn }),
    pending: async () =>
      Number(
        (
          await pgQuery(
            pgServer.dsn,
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
          )
        )[0].n
      ),
  },
];

async function wipe(store: SnapshotStore) {
  for (const s of (await store.listSnapshots(1000, 0)).items) await store.deleteSnapshot(s.id);
}

async function allJson(store: SnapshotStore, id: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of store.eventJson(id)) out.push(...b);
  return out;
}

for (const b of BACKENDS) {
  describe(`streamed pins: store (${b.name})`, () => {
    const dir = mkdtempSync(join(tmpdir(), `casefile-pinstream-${b.name}-`));
    let store: SnapshotStore;
    before(async () => {
      store = await b.open(dir);
    });
    after(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('rows go in batch by batch and nothing is visible until the commit', async () => {
      await wipe(store);
      const m = meta({ eventCount: 6000 });
      const w = await store.beginPin(m.id);
      for (let i = 0; i < 3; i++) {
        await w.add(rows(2000, i * 2000));
        deepEqual(await store.counts(), { snapshots: 0, locked: 0, events: 0 }, `after batch ${i + 1}`);
        equal((await store.listSnapshots(10, 0)).total, 0);
        equal(await store.getSnapshot(m.id), undefined);
        equal((await store.events(m.id, { limit: 10, offset: 0 })).total, 0);
        deepEqual(await store.countByType(m.id), {});
        deepEqual(await allJson(store, m.id), []);
      }
      if (b.name === 'sqlite') equal(await b.pending(dir), 6000, 'the rows are on disk, staged');
      else equal(await b.pending(dir), 1, "the rows are written, in the pin's open transaction");
      deepEqual(await w.commit(m, { cap: 10 }), { evicted: [] });
      deepEqual(await store.getSnapshot(m.id), m);
      deepEqual(
        await allJson(store, m.id),
        rows(6000).map((r) => r.json)
      );
      deepEqual(await store.counts(), { snapshots: 1, locked: 0, events: 6000 });
      equal(await b.pending(dir), 0, 'nothing left staged after the commit');
      await rejects(w.add(rows(1)), /already committed or discarded/);
    });

    test('a discarded pin, and one whose commit is refused, leave no rows and no snapshot', async () => {
      await wipe(store);
      const before = await store.counts();
      const d = await store.beginPin(randomUUID());
      await d.add(rows(3000));
      await d.discard();
      await d.discard(); // twice is fine
      deepEqual(await store.counts(), before);
      equal(await b.pending(dir), 0);

      const locked = meta({ title: 'locked' });
      await createSnapshot(store, locked, rows(5), { cap: 1 });
      await store.setLocked(locked.id, true);
      const refused = meta({ title: 'refused' });
      const w = await store.beginPin(refused.id);
      await w.add(rows(4000));
      await rejects(w.commit(refused, { cap: 1 }), CapReachedError);
      await w.discard(); // after a failed commit: a no-op
      deepEqual(await store.counts(), { snapshots: 1, locked: 1, events: 5 });
      equal(await store.getSnapshot(refused.id), undefined);
      equal(await b.pending(dir), 0);

      const other = await store.beginPin(randomUUID());
      await rejects(other.commit(meta(), { cap: 10 }), /this pin writes snapshot/);
      equal(await b.pending(dir), 0);
      await store.setLocked(locked.id, false);
    });

    if (b.name === 'sqlite')
      test("a restart deletes a killed pin's staged rows; that pin can no longer commit", async () => {
        await wipe(store);
        const m = meta();
        const w = await store.beginPin(m.id);
        await w.add(rows(2500));
        equal(await b.pending(dir), 2500);
        // A second store on the data dir = the server after a restart (its start-up sweeps).
        const restarted = await b.open(dir);
        try {
          equal(await b.pending(dir), 0);
          await rejects(
            w.commit(m, { cap: 10 }),
            /2500 of this pin's 2500 staged rows are gone; nothing was pinned/
          );
          equal(await restarted.getSnapshot(m.id), undefined);
          deepEqual(await restarted.counts(), { snapshots: 0, locked: 0, events: 0 });
        } finally {
          await restarted.close();
        }
      });
    else
      test("another server's start-up and pins on the shared database leave a pin in progress alone", async () => {
        await wipe(store);
        const m = meta({ title: 'in progress' });
        const w = await store.beginPin(m.id);
        await w.add(rows(3000));
        const other = await b.open(dir); // another instance starting (migrates)
        try {
          const theirs = meta({ title: 'theirs' });
          await createSnapshot(other, theirs, rows(1000, 50_000), { cap: 10 });
          await w.add(rows(3000, 3000));
          await w.commit(m, { cap: 10 });
          deepEqual(
            await allJson(other, m.id),
            rows(6000).map((r) => r.json)
          );
          equal((await other.listSnapshots(10, 0)).total, 2);
          equal(await b.pending(dir), 0);
        } finally {
          await other.close();
        }
      });

    test('a store made before the staging migration upgrades, its snapshots intact', async () => {
      const old = meta({ title: 'pinned before', eventCount: 3 });
      const oldRows = rows(3);
      const insertSnapshot = `INSERT INTO snapshots (${SNAPSHOT_COLUMNS}, seq) VALUES (${metaValues(old)
        .concat([1])
        .map((_, i) => (b.name === 'sqlite' ? '?' : `$${i + 1}`))
        .join(', ')})`;
      const insertEvent = (p: (i: number) => string) =>
        `INSERT INTO events (snapshot_id, pos, time_ns, type, event_id, message_lc, json) VALUES (${[1, 2, 3, 4, 5, 6, 7].map(p).join(', ')})`;
      const v3 = MIGRATIONS.filter((x) => x.version <= 3);
      let upgraded: SnapshotStore;
      const oldDir = mkdtempSync(join(tmpdir(), 'casefile-pinstream-v3-'));
      if (b.name === 'sqlite') {
        const db = new Database(join(oldDir, 'casefile.db'));
        db.exec(
          'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)'
        );
        for (const x of v3) {
          db.exec(x.sqlite);
          db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(x.version, x.name, 'then');
        }
        db.prepare(insertSnapshot).run(...metaValues(old), 1);
        oldRows.forEach((r, i) =>
          db.prepare(insertEvent(() => '?')).run(old.id, i, BigInt(r.timeNs), r.type, r.id, r.message, r.json)
        );
        db.close();
        upgraded = await b.open(oldDir);
      } else {
        await pgQuery(pgServer.dsn, 'CREATE DATABASE casefile_v3');
        const dsn = pgServer.dsn.replace(/\/postgres$/, '/casefile_v3');
        const c = new pg.Client({ connectionString: dsn });
        await c.connect();
        await c.query(
          'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)'
        );
        for (const x of v3) {
          await c.query(x.postgres);
          await c.query('INSERT INTO schema_migrations VALUES ($1, $2, $3)', [x.version, x.name, 'then']);
        }
        await c.query(insertSnapshot, [...metaValues(old), 1]);
        for (const [i, r] of oldRows.entries())
          await c.query(
            insertEvent((k) => `$${k}`),
            [old.id, i, r.timeNs, r.type, r.id, r.message, r.json]
          );
        await c.end();
        upgraded = new PostgresStore(dsn);
        await upgraded.migrate();
      }
      try {
        deepEqual(await upgraded.getSnapshot(old.id), old);
        deepEqual(
          await allJson(upgraded, old.id),
          oldRows.map((r) => r.json)
        );
        const m = meta({ title: 'pinned after' });
        await createSnapshot(upgraded, m, rows(7000), { cap: 10 }, undefined, 1000);
        equal((await upgraded.events(m.id, { limit: 1, offset: 6999 })).items[0].id, 'r6999');
        deepEqual(await upgraded.counts(), { snapshots: 2, locked: 0, events: 7003 });
      } finally {
        await upgraded.close();
        rmSync(oldDir, { recursive: true, force: true });
      }
    });
  });

  describe(`streamed pins: the server (${b.name})`, () => {
    test('a pin of N events reaches the store one page at a time, with the content hash of what it stored', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'casefile-pinstream-srv-'));
      const server = await startTestServer({
        lokiUrl: loki.url,
        otlpUrl: 'off',
        lokiPageSize: PAGE,
        ...b.config(dir),
      });
      try {
        await wipe(server.store);
        const batches = watchBatches(server.store);
        const r = await api(server.url, '/api/v1/snapshots', { method: 'POST', body });
        equal(r.status, 201, r.text);
        equal(r.json.snapshot.eventCount, N);
        equal(
          batches.reduce((a, x) => a + x, 0),
          N
        );
        ok(batches.length >= N / PAGE, `${batches.length} batches`);
        ok(Math.max(...batches) <= PAGE, `the largest batch held ${Math.max(...batches)} rows`);
        const json = await allJson(server.store, r.json.snapshot.id);
        equal(json.length, N);
        const hash = createHash('sha256');
        for (const j of json) hash.update(j + '\n');
        equal(r.json.snapshot.contentSha256, hash.digest('hex'));
        equal(await b.pending(dir), 0);
      } finally {
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('a pin failing midway (too large, Loki killed, cancelled) leaves no rows and no snapshot', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'casefile-pinstream-fail-'));
      const lokiDir = mkdtempSync(join(tmpdir(), 'casefile-pinstream-loki-'));
      const own = await startLoki({ dataDir: lokiDir });
      await seedEvents(own.url, HOST, processEvents(3000, start, 'stream-own'));
      equal(
        await waitForEvents(
          own.url,
          { scope: { host: HOST } },
          { fromNs: msToNs(start), toNs: msToNs(start + 3001) },
          3000
        ),
        3000
      );
      const cfg = { otlpUrl: 'off', lokiPageSize: PAGE, ...b.config(dir) };
      const nothing = async (s: SnapshotStore, what: string) => {
        deepEqual(await s.counts(), { snapshots: 0, locked: 0, events: 0 }, what);
        equal(await b.pending(dir), 0, `${what}: nothing staged or open`);
      };
      // Too large: refused at the page that goes over, after earlier pages were written.
      let server = await startTestServer({ ...cfg, lokiUrl: loki.url, maxSnapshotEvents: 5500 });
      try {
        await wipe(server.store);
        const batches = watchBatches(server.store);
        const r = await api(server.url, '/api/v1/snapshots', { method: 'POST', body });
        equal(r.status, 413, r.text);
        equal(r.json.error, 'too_large');
        ok(batches.length >= 5, `${batches.length} batches were written before the refusal`);
        await nothing(server.store, 'too large');

        await server.close();

        // Cancelled: a pin job cancelled after its third page.
        server = await startTestServer({ ...cfg, lokiUrl: loki.url, lokiPageSize: 100 });
        let jobId: string | undefined;
        // The DELETE waits for the pin to stop; not awaited in the hook, so the pin's next page runs into the abort.
        let cancelled: Promise<{ status: number; json: any }> | undefined;
        const seen = watchBatches(server.store, async (n) => {
          if (n !== 3) return;
          while (!jobId) await sleep(5);
          cancelled = api(server.url, `/api/v1/pin-jobs/${jobId}`, { method: 'DELETE' });
        });
        const j = await api(server.url, '/api/v1/pin-jobs', { method: 'POST', body });
        equal(j.status, 202, j.text);
        jobId = j.json.job.id;
        const deadline = Date.now() + 120_000;
        while (!cancelled) {
          if (Date.now() > deadline) throw new Error('the job never wrote a third batch');
          await sleep(20);
        }
        const c = await cancelled;
        equal(c.status, 200, JSON.stringify(c.json));
        equal(c.json.state, 'cancelled');
        ok(seen.length >= 3 && seen.length < N / 100, `${seen.length} batches written before the cancel`);
        await nothing(server.store, 'cancelled');
        await server.close();

        // Loki killed after the pin's second page.
        server = await startTestServer({ ...cfg, lokiUrl: own.url, lokiPageSize: 500 });
        const killed = watchBatches(server.store, async (n) => {
          if (n === 2) await own.stop({ signal: 'SIGKILL', keepData: true });
        });
        const k = await api(server.url, '/api/v1/snapshots', {
          method: 'POST',
          body: { ...body, to: start + 3001 },
        });
        equal(k.status, 502, k.text);
        equal(k.json.error, 'loki_unavailable');
        ok(killed.length >= 2 && killed.length < 6, `${killed.length} batches written`);
        await nothing(server.store, 'Loki killed');
      } finally {
        await server.close();
        await own.stop();
        rmSync(dir, { recursive: true, force: true });
        rmSync(lokiDir, { recursive: true, force: true });
      }
    });

    test('a server SIGKILLed mid-pin leaves nothing visible and nothing staged after its restart', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'casefile-pinstream-kill-'));
      const { child, url, exited } = await startServerProcess([
        `--data-dir=${dir}`,
        ...(b.name === 'postgres' ? [`--postgres-dsn=${pgServer.dsn}`] : []),
        `--loki-url=${loki.url}`,
        '--loki-page-size=50',
      ]);
      try {
        const deadline = Date.now() + 60_000;
        const r = await api(url, '/api/v1/pin-jobs', { method: 'POST', body });
        equal(r.status, 202, r.text);
        for (;;) {
          const j = (await api(url, `/api/v1/pin-jobs/${r.json.job.id}`)).json;
          if (j.eventsRead >= 500) {
            equal(j.phase, 'reading', JSON.stringify(j));
            break;
          }
          if (Date.now() > deadline) throw new Error(`the pin job did not get going: ${JSON.stringify(j)}`);
          await sleep(20);
        }
        const staged = await b.pending(dir);
        ok(
          staged > 0,
          `mid-pin: ${staged} ${b.name === 'sqlite' ? 'rows staged' : 'open writing transaction'}`
        );
        child.kill('SIGKILL');
        await exited;
        if (b.name === 'postgres') {
          // PostgreSQL rolls the dead connection's transaction back when it sees the socket close.
          const until = Date.now() + 30_000;
          while ((await b.pending(dir)) > 0 && Date.now() < until) await sleep(50);
        }
        const server = await startTestServer({ lokiUrl: loki.url, otlpUrl: 'off', ...b.config(dir) });
        try {
          equal(await b.pending(dir), 0, 'nothing staged after the restart');
          deepEqual(await server.store.counts(), { snapshots: 0, locked: 0, events: 0 });
          equal((await api(server.url, '/api/v1/snapshots')).json.total, 0);
          const j = (await api(server.url, `/api/v1/pin-jobs/${r.json.job.id}`)).json;
          equal(j.state, 'failed');
          match(j.error.message, /nothing was stored/);
        } finally {
          await server.close();
        }
      } finally {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
