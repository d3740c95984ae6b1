/**
 * Versioned schema migrations, one list for both stores (SQL differs only in
 * types). Applied in order at start; `schema_migrations` records each version,
 * so a migration runs once. Append new versions; never edit an applied one.
 */
export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

const snapshotsTable = (int: string, big: string) => `
CREATE TABLE snapshots (
  id TEXT PRIMARY KEY,
  seq ${big} NOT NULL UNIQUE,
  title TEXT NOT NULL,
  note TEXT NOT NULL,
  scope_json TEXT NOT NULL,
  from_ns TEXT NOT NULL,
  to_ns TEXT NOT NULL,
  types_json TEXT,
  search TEXT,
  query TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  event_count ${int} NOT NULL,
  content_sha256 TEXT NOT NULL,
  loki_version TEXT NOT NULL,
  source TEXT NOT NULL,
  alert_key TEXT,
  locked ${int} NOT NULL DEFAULT 0
);
CREATE INDEX snapshots_evict ON snapshots (locked, seq);
CREATE TABLE events (
  snapshot_id TEXT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
  pos ${int} NOT NULL,
  time_ns ${big} NOT NULL,
  type TEXT NOT NULL,
  event_id TEXT NOT NULL,
  message_lc TEXT NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (snapshot_id, pos)
);
CREATE INDEX events_type ON events (snapshot_id, type, pos);
CREATE INDEX events_time ON events (snapshot_id, time_ns);
CREATE INDEX events_event_id ON events (snapshot_id, event_id);
CREATE TABLE alert_pins (
  alert_key TEXT PRIMARY KEY,
  snapshot_id TEXT NOT NULL,
  pinned_at TEXT NOT NULL
);`;

const unreadableColumns = `
ALTER TABLE snapshots ADD COLUMN unreadable_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN unreadable INTEGER NOT NULL DEFAULT 0;`;

const custodyTable = (big: string) => `
CREATE TABLE custody_log (
  seq ${big} PRIMARY KEY,
  snapshot_id TEXT NOT NULL,
  action TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  entry_json TEXT NOT NULL
);
CREATE INDEX custody_snapshot ON custody_log (snapshot_id, seq);
ALTER TABLE events ADD COLUMN stream_json TEXT;`;

/**
 * The custody log refuses UPDATE and DELETE (and, in PostgreSQL, TRUNCATE):
 * no code path of the server rewrites it. Someone with the database's
 * owner rights can still drop the trigger; the hash chain and signatures make
 * that visible (custody-entry.ts).
 */
const custodySqlite = `${custodyTable('INTEGER')}
CREATE TRIGGER custody_no_update BEFORE UPDATE ON custody_log BEGIN SELECT RAISE(ABORT, 'custody_log is append-only'); END;
CREATE TRIGGER custody_no_delete BEFORE DELETE ON custody_log BEGIN SELECT RAISE(ABORT, 'custody_log is append-only'); END;`;

const custodyPostgres = `${custodyTable('BIGINT')}
CREATE FUNCTION custody_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'custody_log is append-only'; END $$;
CREATE TRIGGER custody_no_change BEFORE UPDATE OR DELETE ON custody_log FOR EACH ROW EXECUTE FUNCTION custody_append_only();
CREATE TRIGGER custody_no_truncate BEFORE TRUNCATE ON custody_log FOR EACH STATEMENT EXECUTE FUNCTION custody_append_only();`;

/**
 * Where a pin's rows wait until its commit moves them into `events` (SQLite):
 * better-sqlite3 has one connection, so a transaction cannot stay open while
 * Loki's pages arrive; each batch is its own short transaction into this
 * table, which no read looks at. A SQLite data dir belongs to one server, so
 * whatever is here at start-up is a killed pin's, and is deleted then.
 */
const pinStageSqlite = `
CREATE TABLE pin_stage (
  stage_id TEXT NOT NULL,
  pos INTEGER NOT NULL,
  time_ns INTEGER NOT NULL,
  type TEXT NOT NULL,
  event_id TEXT NOT NULL,
  message_lc TEXT NOT NULL,
  json TEXT NOT NULL,
  unreadable INTEGER NOT NULL,
  stream_json TEXT,
  PRIMARY KEY (stage_id, pos)
);`;

/**
 * PostgreSQL writes a pin in one transaction of its own connection, rows
 * first and the snapshot row last, so the events' foreign key must be
 * checked at commit (the pin defers it; every other statement still checks
 * at once). Uncommitted rows are invisible to everyone else and vanish with
 * a rollback or a dead connection: no staging table, nothing to clean.
 */
const deferrableEventsKey = `
ALTER TABLE events ALTER CONSTRAINT events_snapshot_id_fkey DEFERRABLE INITIALLY IMMEDIATE;`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'snapshots, events, alert pins',
    sqlite: snapshotsTable('INTEGER', 'INTEGER'),
    postgres: snapshotsTable('INTEGER', 'BIGINT'),
  },
  {
    version: 2,
    name: 'entries that are not Casefile events, kept with the snapshot',
    sqlite: unreadableColumns,
    postgres: unreadableColumns,
  },
  {
    version: 3,
    name: 'append-only custody log; stream labels kept with each event',
    sqlite: custodySqlite,
    postgres: custodyPostgres,
  },
  {
    version: 4,
    name: 'pins written batch by batch, invisible until their commit',
    sqlite: pinStageSqlite,
    postgres: deferrableEventsKey,
  },
];
