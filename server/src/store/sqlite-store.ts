/**
 * SQLite store (the default): one file, `<dataDir>/casefile.db`, in WAL mode.
 * better-sqlite3 is synchronous, so a transaction cannot interleave with
 * another pin: the cap check and the insert are atomic by construction.
 * A pin's rows are staged in `pin_stage` batch by batch and moved into
 * `events` by its commit (migrations.ts says why).
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ensureDir } from './data-dir';
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
  type EvidenceRow,
  type Page,
  type PinCustody,
  type PinWriter,
  type Room,
  type SnapshotMeta,
  type SnapshotStore,
} from './store';

export class SqliteStore implements SnapshotStore {
  readonly path: string;
  private readonly db: Database.Database;

  /** Opens (creating) `<dataDir>/casefile.db`. */
  constructor(dataDir: string) {
    ensureDir(dataDir);
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
    // Start-up: rows still staged are a killed pin's (a data dir has one server; migrations.ts).
    this.db.exec('DELETE FROM pin_stage');
  }

  /** Append a custody entry; call inside a transaction (better-sqlite3's are synchronous, so appends never interleave). */
  private appendIn(draft: CustodyDraft, seal: CustodySealer): CustodyEntry {
    const db = this.db;
    const last = db.prepare('SELECT seq, hash FROM custody_log ORDER BY seq DESC LIMIT 1').get() as
      { seq: number; hash: string } | undefined;
    const mine = db
      .prepare('SELECT hash FROM custody_log WHERE snapshot_id = ? ORDER BY seq DESC LIMIT 1')
      .pluck()
      .get(draft.snapshotId) as string | undefined;
    const e = seal(draft, {
      seq: (last?.seq ?? 0) + 1,
      prevHash: last?.hash ?? null,
      snapshotPrevHash: mine ?? null,
    });
    db.prepare(
      'INSERT INTO custody_log (seq, snapshot_id, action, hash, entry_json) VALUES (?, ?, ?, ?, ?)'
    ).run(e.seq, e.snapshotId, e.action, e.hash, JSON.stringify(e));
    return e;
  }

  async appendCustody(draft: CustodyDraft, seal: CustodySealer): Promise<CustodyEntry> {
    return this.db.transaction(() => this.appendIn(draft, seal)).immediate();
  }

  async custody(q: { snapshotId?: string; limit: number; offset: number }): Promise<Page<CustodyEntry>> {
    const where = q.snapshotId === undefined ? '' : 'WHERE snapshot_id = ?';
    const args = q.snapshotId === undefined ? [] : [q.snapshotId];
    const rows = this.db
      .prepare(`SELECT entry_json FROM custody_log ${where} ORDER BY seq LIMIT ? OFFSET ?`)
      .pluck()
      .all(...args, q.limit, q.offset) as string[];
    const total = this.db
      .prepare(`SELECT COUNT(*) FROM custody_log ${where}`)
      .pluck()
      .get(...args) as number;
    return { items: rows.map((r) => JSON.parse(r)), total };
  }

  async beginPin(snapshotId: string): Promise<PinWriter> {
    const db = this.db;
    const stage = randomUUID();
    const stageRow = db.prepare(
      'INSERT INTO pin_stage (stage_id, pos, time_ns, type, event_id, message_lc, json, unreadable, stream_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'
    );
    const dropStage = () => db.prepare('DELETE FROM pin_stage WHERE stage_id = ?').run(stage);
    let added = 0;
    let finished = false;
    const open = () => {
      if (finished) throw new Error('this pin was already committed or discarded');
    };
    return {
      add: async (rows) => {
        open();
        // One short transaction per batch: nothing stays open while the next page is read.
        db.transaction(() =>
          rows.forEach((e, i) =>
            stageRow.run(
              stage,
              added + i,
              BigInt(e.timeNs),
              e.type,
              e.id,
              e.message.toLowerCase(),
              e.json,
              e.unreadable ? 1 : 0,
              e.stream ?? null
            )
          )
        ).immediate();
        added += rows.length;
      },
      commit: async (meta, room, custody) => {
        open();
        finished = true;
        try {
          if (meta.id !== snapshotId)
            throw new Error(`this pin writes snapshot ${snapshotId}, not ${meta.id}`);
          return db
            .transaction(() => {
              const out = this.makeRoom(meta, room, custody);
              const moved = db
                .prepare(
                  `INSERT INTO events (snapshot_id, pos, time_ns, type, event_id, message_lc, json, unreadable, stream_json)
                   SELECT ?, pos, time_ns, type, event_id, message_lc, json, unreadable, stream_json
                   FROM pin_stage WHERE stage_id = ? ORDER BY pos`
                )
                .run(meta.id, stage).changes;
              if (moved !== added)
                throw new Error(
                  `${added - moved} of this pin's ${added} staged rows are gone; nothing was pinned`
                );
              dropStage();
              if (meta.alertKey)
                db.prepare('INSERT INTO alert_pins VALUES (?, ?, ?)').run(
                  meta.alertKey,
                  meta.id,
                  meta.createdAt
                );
              if (custody) this.appendIn(custody.pin, custody.seal);
              return out;
            })
            .immediate();
        } catch (err) {
          dropStage();
          throw err;
        }
      },
      discard: async () => {
        if (finished) return;
        finished = true;
        dropStage();
      },
    };
  }

  /** Inside the pin's transaction: refuse a pinned alert key, evict to make room (see Room), insert the snapshot row. */
  private makeRoom(meta: SnapshotMeta, room: Room, custody?: PinCustody): { evicted: string[] } {
    const db = this.db;
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
      if (custody) this.appendIn(custody.evict(this.metaIn(oldest)!), custody.seal);
      db.prepare('DELETE FROM snapshots WHERE id = ?').run(oldest);
      evicted.push(oldest);
      count--;
      mine--;
    }
    const seq = (db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 FROM snapshots').pluck().get() as number) ?? 1;
    db.prepare(
      `INSERT INTO snapshots (${SNAPSHOT_COLUMNS}, seq) VALUES (${SNAPSHOT_COLUMNS.split(',')
        .map(() => '?')
        .join(', ')}, ?)`
    ).run(...metaValues(meta), seq);
    return { evicted };
  }

  async listSnapshots(limit: number, offset: number): Promise<Page<SnapshotMeta>> {
    const rows = this.db
      .prepare(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots ORDER BY seq DESC LIMIT ? OFFSET ?`)
      .all(limit, offset) as SnapshotRow[];
    const total = this.db.prepare('SELECT COUNT(*) FROM snapshots').pluck().get() as number;
    return { items: rows.map(toMeta), total };
  }

  private metaIn(id: string): SnapshotMeta | undefined {
    const r = this.db.prepare(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE id = ?`).get(id) as
      SnapshotRow | undefined;
    return r && toMeta(r);
  }

  async getSnapshot(id: string): Promise<SnapshotMeta | undefined> {
    return this.metaIn(id);
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
      const last = rows.length < batchSize;
      // Emptied, so this frame does not hold the rows while the caller works (streaming exports).
      yield rows.splice(0).map((r) => r.json);
      if (last) return;
    }
  }

  async *evidenceRows(id: string, batchSize = 5000): AsyncGenerator<EvidenceRow[]> {
    const stmt = this.db.prepare(
      'SELECT pos, json, stream_json FROM events WHERE snapshot_id = ? AND pos > ? ORDER BY pos LIMIT ?'
    );
    let after = -1;
    for (;;) {
      const rows = stmt.all(id, after, batchSize) as {
        pos: number;
        json: string;
        stream_json: string | null;
      }[];
      if (!rows.length) return;
      after = rows[rows.length - 1].pos;
      const last = rows.length < batchSize;
      yield rows.splice(0).map((r) => ({ json: r.json, stream: r.stream_json }));
      if (last) return;
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

  async deleteSnapshot(id: string, custody?: CustodyWrite): Promise<boolean> {
    return this.db
      .transaction(() => {
        const m = this.metaIn(id);
        if (!m) return false;
        if (custody) {
          this.appendIn(custody.draft(m), custody.seal);
          this.db.prepare('DELETE FROM alert_pins WHERE snapshot_id = ?').run(id);
        }
        return this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(id).changes > 0;
      })
      .immediate();
  }

  async setLocked(id: string, locked: boolean, custody?: CustodyWrite): Promise<SnapshotMeta | undefined> {
    return this.db
      .transaction(() => {
        this.db.prepare('UPDATE snapshots SET locked = ? WHERE id = ?').run(locked ? 1 : 0, id);
        const m = this.metaIn(id);
        if (m && custody) this.appendIn(custody.draft(m), custody.seal);
        return m;
      })
      .immediate();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
