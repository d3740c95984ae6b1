/**
 * ONE suite, run against both stores: SQLite (a real file) and PostgreSQL
 * (Debian's, started by the test). Same behaviour is the contract.
 */
import { after, before, describe, test } from 'node:test';
import { deepEqual, equal, ok, rejects } from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { SqliteStore } from '../src/store/sqlite-store';
import { PostgresStore } from '../src/store/postgres-store';
import {
  CapReachedError,
  DuplicateAlertError,
  UNREADABLE_TYPE,
  type EventRow,
  type SnapshotStore,
} from '../src/store/store';
import { createSnapshot, snapshotMeta } from './helpers/pin-rows';
import { postgresBinDir, startPostgres, type Postgres } from './helpers/postgres';

const meta = snapshotMeta;

function rows(n: number, message = (i: number) => `Exec /bin/sh #${i}`): EventRow[] {
  return Array.from({ length: n }, (_, i) => {
    const e = {
      id: `e${i}`,
      type: i % 3 === 0 ? 'network.connect' : 'process.start',
      timeNs: String(1700000000000000000n + BigInt(i)),
      message: message(i),
    };
    return { ...e, json: JSON.stringify(e) };
  });
}

interface Impl {
  name: string;
  skip?: string;
  /** Open a store on the same backing storage (fresh process view). */
  open(): Promise<SnapshotStore>;
  setup(): Promise<void>;
  teardown(): Promise<void>;
}

let pg: Postgres | undefined;
const sqliteDir = mkdtempSync(join(tmpdir(), 'casefile-store-'));
const IMPLS: Impl[] = [
  {
    name: 'sqlite',
    open: async () => new SqliteStore(sqliteDir),
    setup: async () => {},
    teardown: async () => {},
  },
  {
    name: 'postgres',
    skip: postgresBinDir()
      ? undefined
      : 'PostgreSQL binaries not installed (scripts/setup-machine.sh installs them)',
    open: async () => new PostgresStore(pg!.dsn),
    setup: async () => {
      pg = await startPostgres();
    },
    teardown: async () => pg?.stop(),
  },
];

for (const impl of IMPLS) {
  describe(`store: ${impl.name}`, { skip: impl.skip }, () => {
    let store: SnapshotStore;
    before(async () => {
      await impl.setup();
      store = await impl.open();
      await store.migrate();
      await store.migrate(); // idempotent
    });
    after(async () => {
      await store?.close();
      await impl.teardown();
    });
    const wipe = async () => {
      for (const s of (await store.listSnapshots(1000, 0)).items) await store.deleteSnapshot(s.id);
    };

    test('stores a snapshot with its events; reads back pages, filters, batches, counts', async () => {
      await wipe();
      const ev = rows(12_001, (i) => (i === 7 ? 'cp 100%_done C:\\x' : `Exec /bin/sh #${i}`));
      const m = meta({ eventCount: ev.length, types: ['process.start', 'network.connect'], search: 'sh' });
      deepEqual(await createSnapshot(store, m, ev, { cap: 10 }), { evicted: [] });
      deepEqual(await store.getSnapshot(m.id), m);
      const list = await store.listSnapshots(10, 0);
      equal(list.total, 1);
      deepEqual(list.items[0], m);
      const p = await store.events(m.id, { limit: 3, offset: 2 });
      equal(p.total, 12_001);
      deepEqual(
        p.items.map((e) => e.id),
        ['e2', 'e3', 'e4']
      );
      const net = await store.events(m.id, { types: ['network.connect'], limit: 2, offset: 1 });
      equal(net.total, 4001);
      deepEqual(
        net.items.map((e) => e.id),
        ['e3', 'e6']
      );
      // LIKE wildcards in the search are literal; matching is case-insensitive.
      deepEqual(
        (await store.events(m.id, { search: '100%_DONE c:\\', limit: 10, offset: 0 })).items.map((e) => e.id),
        ['e7']
      );
      equal((await store.events(m.id, { search: '%', limit: 10, offset: 0 })).total, 1);
      equal((await store.events(m.id, { types: [], limit: 10, offset: 0 })).total, 0);
      const all: string[] = [];
      for await (const b of store.eventJson(m.id, 5000)) {
        ok(b.length <= 5000);
        all.push(...b);
      }
      deepEqual(
        all,
        ev.map((e) => e.json)
      );
      deepEqual(await store.countByType(m.id), { 'network.connect': 4001, 'process.start': 8000 });
      deepEqual(await store.counts(), { snapshots: 1, locked: 0, events: 12_001 });
    });

    test('data survives closing and reopening the store, byte for byte', async () => {
      const before = (await store.listSnapshots(10, 0)).items;
      const json: string[] = [];
      for await (const b of store.eventJson(before[0].id)) json.push(...b);
      await store.close();
      store = await impl.open();
      await store.migrate();
      deepEqual((await store.listSnapshots(10, 0)).items, before);
      const again: string[] = [];
      for await (const b of store.eventJson(before[0].id)) again.push(...b);
      deepEqual(again, json);
    });

    test('a failing insert leaves nothing behind (all or nothing)', async () => {
      await wipe();
      const ev = rows(7000);
      ev[6500] = { ...ev[6500], timeNs: 'not-a-number' };
      await rejects(createSnapshot(store, meta(), ev, { cap: 10 }));
      deepEqual(await store.counts(), { snapshots: 0, locked: 0, events: 0 });
    });

    test('cap: evicts the oldest unlocked, never a locked one; 409-style error when all are locked', async () => {
      await wipe();
      const a = meta({ title: 'a' });
      const b = meta({ title: 'b' });
      const c = meta({ title: 'c' });
      for (const m of [a, b, c]) await createSnapshot(store, m, rows(3), { cap: 3 });
      await store.setLocked(a.id, true);
      const d = meta({ title: 'd' });
      deepEqual(await createSnapshot(store, d, rows(3), { cap: 3 }), { evicted: [b.id] });
      deepEqual(
        (await store.listSnapshots(10, 0)).items.map((s) => s.title),
        ['d', 'c', 'a']
      );
      equal((await store.getSnapshot(a.id))!.locked, true);
      await store.setLocked(c.id, true);
      await store.setLocked(d.id, true);
      await rejects(createSnapshot(store, meta({ title: 'e' }), rows(3), { cap: 3 }), CapReachedError);
      deepEqual(await store.counts(), { snapshots: 3, locked: 3, events: 9 });
      equal((await store.setLocked(d.id, false))!.locked, false);
      deepEqual((await createSnapshot(store, meta({ title: 'f' }), rows(3), { cap: 3 })).evicted, [d.id]);
      equal(await store.setLocked(randomUUID(), true), undefined);
      equal(await store.deleteSnapshot(randomUUID()), false);
    });

    test('concurrent pins never exceed the cap', async () => {
      await wipe();
      const cap = 4;
      let max = 0;
      const watcher = setInterval(async () => (max = Math.max(max, (await store.counts()).snapshots)), 1);
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          createSnapshot(store, meta({ title: `p${i}` }), rows(500), { cap: cap })
        )
      );
      clearInterval(watcher);
      const c = await store.counts();
      equal(c.snapshots, cap);
      equal(c.events, cap * 500);
      ok(max <= cap, `saw ${max} snapshots`);
      equal(results.flatMap((r) => r.evicted).length, 16 - cap);
    });

    test('an alert key pins once', async () => {
      await wipe();
      const m = meta({ alertKey: 'fp1@2026-01-01T00:00:00Z', source: 'grafana-alert' });
      await createSnapshot(store, m, rows(2), { cap: 10 });
      equal(await store.findByAlertKey(m.alertKey!), m.id);
      await rejects(
        createSnapshot(store, meta({ alertKey: m.alertKey }), rows(2), { cap: 10 }),
        DuplicateAlertError
      );
      equal((await store.counts()).snapshots, 1);
      equal(await store.findByAlertKey('other'), undefined);
    });

    test('unreadable entries are stored in order with the events, listed apart, exported and counted', async () => {
      await wipe();
      const ev = rows(5);
      const entry = {
        id: 'x1',
        type: 'file.open',
        timeNs: ev[2].timeNs,
        message: 'raw line',
        unreadable: 'entry x1 has unknown type "file.open"',
        stream: { host_name: 'h1' },
        structuredMetadata: { file_path: '/etc/shadow' },
        parsed: {},
      };
      const all: EventRow[] = [
        ...ev.slice(0, 3),
        {
          id: 'x1',
          type: UNREADABLE_TYPE,
          timeNs: entry.timeNs,
          message: entry.message,
          json: JSON.stringify(entry),
          unreadable: true,
        },
        ...ev.slice(3),
      ];
      const m = meta({ eventCount: 5, unreadableCount: 1 });
      await createSnapshot(store, m, all, { cap: 10 });
      equal((await store.getSnapshot(m.id))!.unreadableCount, 1);
      const events = await store.events(m.id, { limit: 10, offset: 0 });
      equal(events.total, 5);
      deepEqual(
        events.items.map((e) => e.id),
        ['e0', 'e1', 'e2', 'e3', 'e4']
      );
      const u = await store.events(m.id, { unreadable: true, limit: 10, offset: 0 });
      deepEqual(u, { items: [entry], total: 1 });
      const json: string[] = [];
      for await (const b of store.eventJson(m.id)) json.push(...b);
      deepEqual(
        json,
        all.map((r) => r.json)
      );
      deepEqual(await store.countByType(m.id), {
        [UNREADABLE_TYPE]: 1,
        'network.connect': 2,
        'process.start': 3,
      });
    });

    test("alert pins have their own share: they evict only unlocked alert pins, never an analyst's or a locked one", async () => {
      await wipe();
      const alert = (t: string) => meta({ title: t, source: 'grafana-alert', alertKey: `${t}@x` });
      const analyst = meta({ title: 'analyst' });
      await createSnapshot(store, analyst, rows(1), { cap: 4 });
      const a1 = alert('a1');
      const a2 = alert('a2');
      await createSnapshot(store, a1, rows(1), { cap: 4, ownCap: 2 });
      await createSnapshot(store, a2, rows(1), { cap: 4, ownCap: 2 });
      deepEqual((await createSnapshot(store, alert('a3'), rows(1), { cap: 4, ownCap: 2 })).evicted, [a1.id]);
      await store.setLocked(a2.id, true);
      deepEqual((await createSnapshot(store, alert('a4'), rows(1), { cap: 4, ownCap: 2 })).evicted.length, 1);
      // a3 made room for a4 (a2 is locked); the analyst's snapshot was never a candidate.
      const titles = async () => (await store.listSnapshots(10, 0)).items.map((s) => s.title).sort();
      deepEqual(await titles(), ['a2', 'a4', 'analyst']);
      await store.setLocked((await store.listSnapshots(10, 0)).items.find((s) => s.title === 'a4')!.id, true);
      await rejects(createSnapshot(store, alert('a5'), rows(1), { cap: 4, ownCap: 2 }), CapReachedError);
      deepEqual(await titles(), ['a2', 'a4', 'analyst']);
      // The whole cap full of analysts' snapshots: an alert pin cannot make room.
      await wipe();
      for (const t of ['s1', 's2']) await createSnapshot(store, meta({ title: t }), rows(1), { cap: 2 });
      await rejects(createSnapshot(store, alert('b1'), rows(1), { cap: 2, ownCap: 1 }), CapReachedError);
      deepEqual(await titles(), ['s1', 's2']);
    });
  });
}
