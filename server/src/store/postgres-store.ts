/**
 * PostgreSQL store (when a DSN is configured): the same tables as SQLite.
 * Pins take a transaction-scoped advisory lock, so the cap check and insert
 * are serialised even across several server processes sharing one database.
 * Events go in with multi-row INSERTs from arrays (unnest), 5,000 per statement,
 * in the pin's own transaction as Loki's pages arrive (see beginPin); a pin
 * holds one of the pool's connections until it is committed or discarded.
 */
import pg from 'pg';
import type { CasefileEvent, UnreadableEntry } from '@casefile/schema';
import type { CustodyDraft, CustodyEntry, CustodySealer } from '../custody/custody-entry';
import { MIGRATIONS } from './migrations';
import { SNAPSHOT_COLUMNS, metaValues, toMeta, type SnapshotRow } from './rows';
import {
  CapReachedError,
  DuplicateAlertError,
  likePattern,
  type CustodyWrite,
  type EventQuery,
  type EventRow,
  type EvidenceRow,
  type Page,
  type PinCustody,
  type PinWriter,
  type Room,
  type SnapshotMeta,
  type SnapshotStore,
} from './store';

/** Advisory lock id of pins (any constant; "casefile" in ASCII-ish). */
const PIN_LOCK = 0x43415345;
/** Advisory lock of custody appends (after PIN_LOCK when a pin takes both, so never a deadlock). */
const CUSTODY_LOCK = PIN_LOCK + 2;
const INSERT_BATCH = 5000;

export class PostgresStore implements SnapshotStore {
  private readonly pool: pg.Pool;

  constructor(dsn: string) {
    this.pool = new pg.Pool({ connectionString: dsn, max: 8 });
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }

  async migrate(): Promise<void> {
    await this.tx(async (c) => {
      // Serialise migrations of concurrent starts.
      await c.query('SELECT pg_advisory_xact_lock($1)', [PIN_LOCK + 1]);
      await c.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)'
      );
      const done = new Set(
        (await c.query('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version))
      );
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await c.query(m.postgres);
        await c.query('INSERT INTO schema_migrations VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          new Date().toISOString(),
        ]);
      }
    });
  }

  /** Append a custody entry inside a transaction, under the custody lock (appends are serialised). */
  private async appendIn(c: pg.PoolClient, draft: CustodyDraft, seal: CustodySealer): Promise<CustodyEntry> {
    await c.query('SELECT pg_advisory_xact_lock($1)', [CUSTODY_LOCK]);
    const last = (await c.query('SELECT seq, hash FROM custody_log ORDER BY seq DESC LIMIT 1')).rows[0];
    const mine = (
      await c.query('SELECT hash FROM custody_log WHERE snapshot_id = $1 ORDER BY seq DESC LIMIT 1', [
        draft.snapshotId,
      ])
    ).rows[0];
    const e = seal(draft, {
      seq: last ? Number(last.seq) + 1 : 1,
      prevHash: last?.hash ?? null,
      snapshotPrevHash: mine?.hash ?? null,
    });
    await c.query(
      'INSERT INTO custody_log (seq, snapshot_id, action, hash, entry_json) VALUES ($1, $2, $3, $4, $5)',
      [e.seq, e.snapshotId, e.action, e.hash, JSON.stringify(e)]
    );
    return e;
  }

  async appendCustody(draft: CustodyDraft, seal: CustodySealer): Promise<CustodyEntry> {
    return this.tx((c) => this.appendIn(c, draft, seal));
  }

  async custody(q: { snapshotId?: string; limit: number; offset: number }): Promise<Page<CustodyEntry>> {
    const by = q.snapshotId !== undefined;
    const where = by ? 'WHERE snapshot_id = $1' : '';
    const args: unknown[] = by ? [q.snapshotId] : [];
    const rows = await this.pool.query(
      `SELECT entry_json FROM custody_log ${where} ORDER BY seq LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
      [...args, q.limit, q.offset]
    );
    const total = Number(
      (await this.pool.query(`SELECT COUNT(*) AS n FROM custody_log ${where}`, args)).rows[0].n
    );
    return { items: rows.rows.map((r) => JSON.parse(r.entry_json)), total };
  }

  private async metaIn(c: pg.PoolClient, id: string): Promise<SnapshotMeta | undefined> {
    const r = await c.query(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE id = $1`, [id]);
    return r.rowCount ? toMeta(r.rows[0] as SnapshotRow) : undefined;
  }

  async beginPin(snapshotId: string): Promise<PinWriter> {
    // One connection and one transaction for the whole pin (migrations.ts says why); the snapshot row comes last.
    const c = await this.pool.connect();
    let finished = false;
    /** Ends the pin's transaction; a failed pin's connection is closed, so it cannot go back to the pool mid-transaction. */
    const end = async (ok: boolean) => {
      finished = true;
      if (ok) return c.release();
      await c.query('ROLLBACK').catch(() => {});
      c.release(true);
    };
    try {
      await c.query('BEGIN');
      await c.query('SET CONSTRAINTS events_snapshot_id_fkey DEFERRED');
    } catch (err) {
      await end(false);
      throw err;
    }
    let added = 0;
    const open = () => {
      if (finished) throw new Error('this pin was already committed or discarded');
    };
    return {
      add: async (rows) => {
        open();
        try {
          for (let i = 0; i < rows.length; i += INSERT_BATCH)
            await this.insertRows(c, snapshotId, added + i, rows.slice(i, i + INSERT_BATCH));
        } catch (err) {
          await end(false);
          throw err;
        }
        added += rows.length;
      },
      commit: async (meta, room, custody) => {
        open();
        try {
          if (meta.id !== snapshotId)
            throw new Error(`this pin writes snapshot ${snapshotId}, not ${meta.id}`);
          await c.query('SELECT pg_advisory_xact_lock($1)', [PIN_LOCK]);
          const out = await this.makeRoom(c, meta, room, custody);
          if (meta.alertKey)
            await c.query('INSERT INTO alert_pins VALUES ($1, $2, $3)', [
              meta.alertKey,
              meta.id,
              meta.createdAt,
            ]);
          if (custody) await this.appendIn(c, custody.pin, custody.seal);
          await c.query('COMMIT');
          await end(true);
          return out;
        } catch (err) {
          await end(false);
          throw err;
        }
      },
      discard: async () => {
        if (!finished) await end(false);
      },
    };
  }

  /** Rows at positions from `pos`, in one multi-row INSERT from arrays. */
  private async insertRows(c: pg.PoolClient, snapshotId: string, pos: number, b: readonly EventRow[]) {
    await c.query(
      `INSERT INTO events (snapshot_id, pos, time_ns, type, event_id, message_lc, json, unreadable, stream_json)
       SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[])`,
      [
        snapshotId,
        b.map((_, j) => pos + j),
        b.map((e) => e.timeNs),
        b.map((e) => e.type),
        b.map((e) => e.id),
        b.map((e) => e.message.toLowerCase()),
        b.map((e) => e.json),
        b.map((e) => (e.unreadable ? 1 : 0)),
        b.map((e) => e.stream ?? null),
      ]
    );
  }

  /** Inside the pin's transaction, under the pin lock: refuse a pinned alert key, evict to make room (see Room), insert the snapshot row. */
  private async makeRoom(
    c: pg.PoolClient,
    meta: SnapshotMeta,
    room: Room,
    custody?: PinCustody
  ): Promise<{ evicted: string[] }> {
    if (meta.alertKey) {
      const prior = await c.query('SELECT snapshot_id FROM alert_pins WHERE alert_key = $1', [meta.alertKey]);
      if (prior.rowCount) throw new DuplicateAlertError(prior.rows[0].snapshot_id);
    }
    const evicted: string[] = [];
    const own = room.ownCap !== undefined;
    let count = Number((await c.query('SELECT COUNT(*) AS n FROM snapshots')).rows[0].n);
    let mine = own
      ? Number(
          (await c.query('SELECT COUNT(*) AS n FROM snapshots WHERE source = $1', [meta.source])).rows[0].n
        )
      : 0;
    while (count >= room.cap || (own && mine >= room.ownCap!)) {
      const oldest = own
        ? await c.query('SELECT id FROM snapshots WHERE locked = 0 AND source = $1 ORDER BY seq LIMIT 1', [
            meta.source,
          ])
        : await c.query('SELECT id FROM snapshots WHERE locked = 0 ORDER BY seq LIMIT 1');
      if (!oldest.rowCount)
        throw new CapReachedError(
          own && mine >= room.ownCap! ? room.ownCap! : room.cap,
          own ? meta.source : undefined
        );
      if (custody)
        await this.appendIn(c, custody.evict((await this.metaIn(c, oldest.rows[0].id))!), custody.seal);
      await c.query('DELETE FROM snapshots WHERE id = $1', [oldest.rows[0].id]);
      evicted.push(oldest.rows[0].id);
      count--;
      mine--;
    }
    const seq = Number((await c.query('SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM snapshots')).rows[0].s);
    const cols = SNAPSHOT_COLUMNS.split(',').length;
    await c.query(
      `INSERT INTO snapshots (${SNAPSHOT_COLUMNS}, seq) VALUES (${Array.from({ length: cols + 1 }, (_, i) => `$${i + 1}`).join(', ')})`,
      [...metaValues(meta), seq]
    );
    return { evicted };
  }

  async listSnapshots(limit: number, offset: number): Promise<Page<SnapshotMeta>> {
    const rows = await this.pool.query(
      `SELECT ${SNAPSHOT_COLUMNS} FROM snapshots ORDER BY seq DESC LIMIT $1 OFFSET $2`,
      [limit, offset]
    );
    const total = Number((await this.pool.query('SELECT COUNT(*) AS n FROM snapshots')).rows[0].n);
    return { items: (rows.rows as SnapshotRow[]).map(toMeta), total };
  }

  async getSnapshot(id: string): Promise<SnapshotMeta | undefined> {
    const r = await this.pool.query(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE id = $1`, [id]);
    return r.rowCount ? toMeta(r.rows[0] as SnapshotRow) : undefined;
  }

  async findByAlertKey(key: string): Promise<string | undefined> {
    const r = await this.pool.query('SELECT snapshot_id FROM alert_pins WHERE alert_key = $1', [key]);
    return r.rows[0]?.snapshot_id;
  }

  async counts() {
    const r = (
      await this.pool.query(
        'SELECT COUNT(*) AS snapshots, COALESCE(SUM(locked), 0) AS locked, (SELECT COUNT(*) FROM events) AS events FROM snapshots'
      )
    ).rows[0];
    return { snapshots: Number(r.snapshots), locked: Number(r.locked), events: Number(r.events) };
  }

  async events(id: string, q: EventQuery): Promise<Page<CasefileEvent | UnreadableEntry>> {
    const where = ['snapshot_id = $1', `unreadable = ${q.unreadable ? 1 : 0}`];
    const args: unknown[] = [id];
    if (q.types) {
      args.push(q.types);
      where.push(`type = ANY($${args.length}::text[])`);
    }
    if (q.search) {
      args.push(likePattern(q.search.toLowerCase()));
      where.push(`message_lc LIKE $${args.length} ESCAPE '\\'`);
    }
    const w = where.join(' AND ');
    const total = Number(
      (await this.pool.query(`SELECT COUNT(*) AS n FROM events WHERE ${w}`, args)).rows[0].n
    );
    const rows = await this.pool.query(
      `SELECT json FROM events WHERE ${w} ORDER BY pos LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
      [...args, q.limit, q.offset]
    );
    return { items: rows.rows.map((r) => JSON.parse(r.json)), total };
  }

  async *eventJson(id: string, batchSize = 5000): AsyncGenerator<string[]> {
    let after = -1;
    for (;;) {
      const r = await this.pool.query(
        'SELECT pos, json FROM events WHERE snapshot_id = $1 AND pos > $2 ORDER BY pos LIMIT $3',
        [id, after, batchSize]
      );
      if (!r.rowCount) return;
      after = r.rows[r.rows.length - 1].pos;
      const last = r.rows.length < batchSize;
      // Emptied, so this frame does not hold the rows while the caller works (streaming exports).
      yield r.rows.splice(0).map((x) => x.json as string);
      if (last) return;
    }
  }

  async *evidenceRows(id: string, batchSize = 5000): AsyncGenerator<EvidenceRow[]> {
    let after = -1;
    for (;;) {
      const r = await this.pool.query(
        'SELECT pos, json, stream_json FROM events WHERE snapshot_id = $1 AND pos > $2 ORDER BY pos LIMIT $3',
        [id, after, batchSize]
      );
      if (!r.rowCount) return;
      after = r.rows[r.rows.length - 1].pos;
      const last = r.rows.length < batchSize;
      yield r.rows.splice(0).map((x) => ({ json: x.json as string, stream: x.stream_json as string | null }));
      if (last) return;
    }
  }

  async countByType(id: string): Promise<Record<string, number>> {
    const r = await this.pool.query(
      'SELECT type, COUNT(*) AS n FROM events WHERE snapshot_id = $1 GROUP BY type ORDER BY type',
      [id]
    );
    return Object.fromEntries(r.rows.map((x) => [x.type, Number(x.n)]));
  }

  async deleteSnapshot(id: string, custody?: CustodyWrite): Promise<boolean> {
    return this.tx(async (c) => {
      const m = await this.metaIn(c, id);
      if (!m) return false;
      if (custody) {
        await this.appendIn(c, custody.draft(m), custody.seal);
        await c.query('DELETE FROM alert_pins WHERE snapshot_id = $1', [id]);
      }
      return ((await c.query('DELETE FROM snapshots WHERE id = $1', [id])).rowCount ?? 0) > 0;
    });
  }

  async setLocked(id: string, locked: boolean, custody?: CustodyWrite): Promise<SnapshotMeta | undefined> {
    return this.tx(async (c) => {
      await c.query('UPDATE snapshots SET locked = $1 WHERE id = $2', [locked ? 1 : 0, id]);
      const m = await this.metaIn(c, id);
      if (m && custody) await this.appendIn(c, custody.draft(m), custody.seal);
      return m;
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
