/**
 * SQLite store (the default): one file, `<dataDir>/casefile.db`, in WAL mode.
 * better-sqlite3 is synchronous, so a transaction cannot interleave with
 * another pin: the cap check and the insert are atomic by construction.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
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

export class SqliteStore implements SnapshotStore {
  readonly path: string;
  private readonly db: Database.Database;

  /** Opens (creating) `<dataDir>/casefile.db`. */
  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, 'casefile.db');
    this.db = new Database(this.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
  }

  async migrate(): Promise<void> {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)'
    );
    const done = new Set(this.db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sqlite);
        this.db
          .prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)')
          .run(m.version, m.name, new Date().toISOString());
      })();
    }
  }

  async createSnapshot(
    meta: SnapshotMeta,
    events: readonly EventRow[],
    room: Room
  ): Promise<{ evicted: string[] }> {
    const db = this.db;
    const insertEvent = db.prepare(
      'INSERT INTO events (snapshot_id, pos, time_ns, type, event_id, message_lc, json, unreadable) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'
    );
    const tx = db.transaction(() => {
      if (meta.alertKey) {
        const prior = db
          .prepare('SELECT snapshot_id FROM alert_pins WHERE alert_key = ?')
          .pluck()
          .get(meta.alertKey) as string | undefined;
        if (prior) throw new DuplicateAlertError(prior);
      }
      const evicted: string[] = [];
      const own = room.ownCap !== undefined;
      let count = db.prepare('SELECT COUNT(*) FROM snapshots').pluck().get() as number;
      let mine = own
        ? (db.prepare('SELECT COUNT(*) FROM snapshots WHERE source = ?').pluck().get(meta.source) as number)
        : 0;
      while (count >= room.cap || (own && mine >= room.ownCap!)) {
        const oldest = (
          own
            ? db
                .prepare('SELECT id FROM snapshots WHERE locked = 0 AND source = ? ORDER BY seq LIMIT 1')
                .bind(meta.source)
            : db.prepare('SELECT id FROM snapshots WHERE locked = 0 ORDER BY seq LIMIT 1')
        )
          .pluck()
          .get() as string | undefined;
        if (!oldest)
          throw new CapReachedError(
            own && mine >= room.ownCap! ? room.ownCap! : room.cap,
            own ? meta.source : undefined
          );
        db.prepare('DELETE FROM snapshots WHERE id = ?').run(oldest);
        evicted.push(oldest);
        count--;
        mine--;
      }
      const seq =
        (db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 FROM snapshots').pluck().get() as number) ?? 1;
      db.prepare(
        `INSERT INTO snapshots (${SNAPSHOT_COLUMNS}, seq) VALUES (${SNAPSHOT_COLUMNS.split(',')
          .map(() => '?')
          .join(', ')}, ?)`
      ).run(...metaValues(meta), seq);
      events.forEach((e, pos) =>
        insertEvent.run(
          meta.id,
          pos,
          BigInt(e.timeNs),
          e.type,
          e.id,
          e.message.toLowerCase(),
          e.json,
          e.unreadable ? 1 : 0
        )
      );
      if (meta.alertKey)
        db.prepare('INSERT INTO alert_pins VALUES (?, ?, ?)').run(meta.alertKey, meta.id, meta.createdAt);
      return { evicted };
    });
    return tx.immediate();
  }

  async listSnapshots(limit: number, offset: number): Promise<Page<SnapshotMeta>> {
    const rows = this.db
      .prepare(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots ORDER BY seq DESC LIMIT ? OFFSET ?`)
      .all(limit, offset) as SnapshotRow[];
    const total = this.db.prepare('SELECT COUNT(*) FROM snapshots').pluck().get() as number;
    return { items: rows.map(toMeta), total };
  }

  async getSnapshot(id: string): Promise<SnapshotMeta | undefined> {
    const r = this.db.prepare(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE id = ?`).get(id) as
      SnapshotRow | undefined;
    return r && toMeta(r);
  }

  async findByAlertKey(key: string): Promise<string | undefined> {
    return this.db.prepare('SELECT snapshot_id FROM alert_pins WHERE alert_key = ?').pluck().get(key) as
      string | undefined;
  }

  async counts() {
    const c = this.db
      .prepare('SELECT COUNT(*) AS snapshots, COALESCE(SUM(locked), 0) AS locked FROM snapshots')
      .get() as {
      snapshots: number;
      locked: number;
    };
    const events = this.db.prepare('SELECT COUNT(*) FROM events').pluck().get() as number;
    return { ...c, events };
  }

  async events(id: string, q: EventQuery): Promise<Page<CasefileEvent | UnreadableEntry>> {
    const where = ['snapshot_id = ?', `unreadable = ${q.unreadable ? 1 : 0}`];
    const args: unknown[] = [id];
    if (q.types) {
      where.push(`type IN (${q.types.map(() => '?').join(', ') || 'NULL'})`);
      args.push(...q.types);
    }
    if (q.search) {
      where.push("message_lc LIKE ? ESCAPE '\\'");
      args.push(likePattern(q.search.toLowerCase()));
    }
    const w = where.join(' AND ');
    const total = this.db
      .prepare(`SELECT COUNT(*) FROM events WHERE ${w}`)
      .pluck()
      .get(...args) as number;
    const rows = this.db
      .prepare(`SELECT json FROM events WHERE ${w} ORDER BY pos LIMIT ? OFFSET ?`)
      .pluck()
      .all(...args, q.limit, q.offset) as string[];
    return { items: rows.map((j) => JSON.parse(j)), total };
  }

  async *eventJson(id: string, batchSize = 5000): AsyncGenerator<string[]> {
    const stmt = this.db.prepare(
      'SELECT pos, json FROM events WHERE snapshot_id = ? AND pos > ? ORDER BY pos LIMIT ?'
    );
    let after = -1;
    for (;;) {
      const rows = stmt.all(id, after, batchSize) as { pos: number; json: string }[];
      if (!rows.length) return;
      after = rows[rows.length - 1].pos;
      yield rows.map((r) => r.json);
      if (rows.length < batchSize) return;
    }
  }

  async countByType(id: string): Promise<Record<string, number>> {
    const rows = this.db
      .prepare('SELECT type, COUNT(*) AS n FROM events WHERE snapshot_id = ? GROUP BY type ORDER BY type')
      .all(id) as {
      type: string;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.type, r.n]));
  }

  async deleteSnapshot(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(id).changes > 0;
  }

  async setLocked(id: string, locked: boolean): Promise<SnapshotMeta | undefined> {
    this.db.prepare('UPDATE snapshots SET locked = ? WHERE id = ?').run(locked ? 1 : 0, id);
    return this.getSnapshot(id);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
