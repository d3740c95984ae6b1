/**
 * The snapshot store: one interface, two implementations (SQLite by default,
 * PostgreSQL when a DSN is configured) that pass one shared test suite
 * (server/test/store.test.ts).
 *
 * Events are kept as their exact JSON text (so a snapshot hashes the same
 * after any number of restarts) plus indexed columns: snapshot id, position,
 * time, type, event id.
 */
import type { CasefileEvent, EventType, Scope } from '@casefile/schema';

export interface SnapshotMeta {
  id: string;
  title: string;
  note: string;
  scope: Scope;
  /** Window, ns since epoch as decimal strings; from inclusive, to exclusive. */
  fromNs: string;
  toNs: string;
  types?: EventType[];
  search?: string;
  /** The LogQL query the events were read with. */
  query: string;
  createdBy: string;
  /** RFC 3339. */
  createdAt: string;
  eventCount: number;
  /** SHA-256 (hex) of the events as JSON lines, in order: the snapshot's identity. */
  contentSha256: string;
  lokiVersion: string;
  /** 'api' or 'grafana-alert'. */
  source: string;
  /** Dedupe key of the alert that pinned it (fingerprint@startsAt). */
  alertKey?: string;
  locked: boolean;
}

/** One event row ready to store: its exact JSON and the indexed columns. */
export interface EventRow {
  id: string;
  type: string;
  timeNs: string;
  message: string;
  json: string;
}

export interface Page<T> {
  items: T[];
  total: number;
}

export interface EventQuery {
  types?: readonly string[];
  /** Case-insensitive substring of the message. */
  search?: string;
  limit: number;
  offset: number;
}

/** Thrown by createSnapshot when the cap is reached and every snapshot is locked. */
export class CapReachedError extends Error {
  constructor(readonly cap: number) {
    super(`all ${cap} snapshots are locked; unlock or delete one before pinning another`);
    this.name = 'CapReachedError';
  }
}

/** Thrown by createSnapshot when the alert key was already pinned. */
export class DuplicateAlertError extends Error {
  constructor(readonly snapshotId: string) {
    super(`this alert was already pinned as snapshot ${snapshotId}`);
    this.name = 'DuplicateAlertError';
  }
}

export interface SnapshotStore {
  /** Apply pending schema migrations (versioned, idempotent). */
  migrate(): Promise<void>;
  /**
   * In ONE transaction: evict the oldest unlocked snapshots until there is room
   * under `cap`, insert the snapshot and all its events. All or nothing; pins
   * are serialised so concurrent pins never exceed the cap.
   * @throws CapReachedError, DuplicateAlertError
   */
  createSnapshot(
    meta: SnapshotMeta,
    events: readonly EventRow[],
    cap: number
  ): Promise<{ evicted: string[] }>;
  /** Newest first. */
  listSnapshots(limit: number, offset: number): Promise<Page<SnapshotMeta>>;
  getSnapshot(id: string): Promise<SnapshotMeta | undefined>;
  /** Snapshot id pinned for an alert key, if any. */
  findByAlertKey(key: string): Promise<string | undefined>;
  /** Count of snapshots and of stored events (all snapshots), for checks and metrics. */
  counts(): Promise<{ snapshots: number; events: number; locked: number }>;
  /** Events in stored order, filtered and paged. */
  events(id: string, q: EventQuery): Promise<Page<CasefileEvent>>;
  /** Every event's JSON text in stored order, in batches (streaming exports). */
  eventJson(id: string, batchSize?: number): AsyncGenerator<string[]>;
  /** Count of events per type. */
  countByType(id: string): Promise<Record<string, number>>;
  deleteSnapshot(id: string): Promise<boolean>;
  setLocked(id: string, locked: boolean): Promise<SnapshotMeta | undefined>;
  close(): Promise<void>;
}

/** Escape `%`, `_` and `\` for a LIKE pattern with ESCAPE '\'. */
export function likePattern(s: string): string {
  return '%' + s.replace(/[\\%_]/g, '\\$&') + '%';
}
