/**
 * PostgreSQL store (when a DSN is configured): the same tables as SQLite.
 * Pins take a transaction-scoped advisory lock, so the cap check and insert
 * are serialised even across several server processes sharing one database.
 * Events go in with multi-row INSERTs from arrays (unnest), 5,000 per statement.
 */
import pg from 'pg';
import type { CasefileEvent, UnreadableEntry } from '@casefile/schema';
import { MIGRATIONS } from './migrations';
import { SNAPSHOT_COLUMNS, metaValues, toMeta, type SnapshotRow } from './rows';
import {
  CapReachedError,
  DuplicateAlertError,
  likePattern,
  type EventQuery,
  type EventRow,
  type Page,
  type Room,
  type SnapshotMeta,
  type SnapshotStore,
} from './store';

/** Advisory lock id of pins (any constant; "casefile" in ASCII-ish). */
const PIN_LOCK = 0x43415345;
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

  async createSnapshot(
    meta: SnapshotMeta,
    events: readonly EventRow[],
    room: Room
  ): Promise<{ evicted: string[] }> {
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [PIN_LOCK]);
      if (meta.alertKey) {
        const prior = await c.query('SELECT snapshot_id FROM alert_pins WHERE alert_key = $1', [
          meta.alertKey,
        ]);
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
      for (let i = 0; i < events.length; i += INSERT_BATCH) {
        const b = events.slice(i, i + INSERT_BATCH);
        await c.query(
          `INSERT INTO events (snapshot_id, pos, time_ns, type, event_id, message_lc, json, unreadable)
           SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[])`,
          [
            meta.id,
            b.map((_, j) => i + j),
            b.map((e) => e.timeNs),
            b.map((e) => e.type),
            b.map((e) => e.id),
            b.map((e) => e.message.toLowerCase()),
            b.map((e) => e.json),
            b.map((e) => (e.unreadable ? 1 : 0)),
          ]
        );
      }
      if (meta.alertKey)
        await c.query('INSERT INTO alert_pins VALUES ($1, $2, $3)', [meta.alertKey, meta.id, meta.createdAt]);
      return { evicted };
    });
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
      yield r.rows.map((x) => x.json as string);
      if (r.rows.length < batchSize) return;
    }
  }

  async countByType(id: string): Promise<Record<string, number>> {
    const r = await this.pool.query(
      'SELECT type, COUNT(*) AS n FROM events WHERE snapshot_id = $1 GROUP BY type ORDER BY type',
      [id]
    );
    return Object.fromEntries(r.rows.map((x) => [x.type, Number(x.n)]));
  }

  async deleteSnapshot(id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM snapshots WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async setLocked(id: string, locked: boolean): Promise<SnapshotMeta | undefined> {
    await this.pool.query('UPDATE snapshots SET locked = $1 WHERE id = $2', [locked ? 1 : 0, id]);
    return this.getSnapshot(id);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
