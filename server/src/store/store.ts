/**
 * The snapshot store: one interface, two implementations (SQLite by default,
 * PostgreSQL when a DSN is configured) that pass one shared test suite
 * (server/test/store.test.ts).
 *
 * Events are kept as their exact JSON text (so a snapshot hashes the same
 * after any number of restarts) plus indexed columns: snapshot id, position,
 * time, type, event id.
 */
import type { CasefileEvent, EventType, Scope, UnreadableEntry } from '@casefile/schema';
import type { CustodyDraft, CustodyEntry, CustodySealer } from '../custody/custody-entry';

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
  /** Entries Loki held in the window that are not Casefile events; stored whole, in order, among the events. */
  unreadableCount: number;
  /** SHA-256 (hex) of the events as JSON lines, in order: the snapshot's identity. */
  contentSha256: string;
  lokiVersion: string;
  /** 'api' or 'grafana-alert'. */
  source: string;
  /** Dedupe key of the alert that pinned it (fingerprint@startsAt). */
  alertKey?: string;
  locked: boolean;
}

/** One row ready to store: its exact JSON and the indexed columns; an event or an unreadable entry. */
export interface EventRow {
  id: string;
  type: string;
  timeNs: string;
  message: string;
  json: string;
  /** An entry that is not a Casefile event (its JSON is schema's UnreadableEntry). */
  unreadable?: boolean;
  /** The Loki stream labels the entry came in (canonical JSON), kept beside it. */
  stream?: string;
}

/** A row as evidence: its stored JSON and the stream labels it came in (canonical JSON, or null for rows pinned before they were kept). */
export interface EvidenceRow {
  json: string;
  stream: string | null;
}

/**
 * Custody entries a store call writes in its own transaction: the sealer and
 * the draft for the snapshot acted on (from its stored meta).
 */
export interface CustodyWrite {
  seal: CustodySealer;
  draft: (s: SnapshotMeta) => CustodyDraft;
}

/** A pin's custody entries: its own, and one for each snapshot it evicts. */
export interface PinCustody {
  seal: CustodySealer;
  pin: CustodyDraft;
  evict: (s: SnapshotMeta) => CustodyDraft;
}

/** The type column of unreadable entries (their own type label is in their JSON): counted apart by countByType. */
export const UNREADABLE_TYPE = '(unreadable)';

export interface Page<T> {
  items: T[];
  total: number;
}

export interface EventQuery {
  types?: readonly string[];
  /** Case-insensitive substring of the message. */
  search?: string;
  /** The unreadable entries instead of the events. */
  unreadable?: boolean;
  limit: number;
  offset: number;
}

/** Thrown by PinWriter.commit when the cap is reached and no snapshot it may evict is left. */
export class CapReachedError extends Error {
  constructor(
    readonly cap: number,
    own?: string
  ) {
    super(
      own
        ? `the ${cap} snapshots ${own} may take are full and none of them can be evicted (locked); unlock or delete one`
        : `all ${cap} snapshots are locked; unlock or delete one before pinning another`
    );
    this.name = 'CapReachedError';
  }
}

/** Thrown by PinWriter.commit when the alert key was already pinned. */
export class DuplicateAlertError extends Error {
  constructor(readonly snapshotId: string) {
    super(`this alert was already pinned as snapshot ${snapshotId}`);
    this.name = 'DuplicateAlertError';
  }
}

/**
 * Room for a new snapshot. At most `cap` snapshots are kept; the oldest
 * unlocked ones are evicted to make room. With `ownCap` (alert pins) the pin
 * may evict only unlocked snapshots of its own source, of which at most
 * `ownCap` are kept: it can never evict a locked or an analyst's snapshot.
 */
export interface Room {
  cap: number;
  ownCap?: number;
}

/**
 * A pin being written: its rows go in batch by batch as Loki's pages arrive,
 * so a pin's memory does not grow with its window. Nothing of it is visible
 * (listed, counted, readable) until `commit`; `discard`, a failed commit or a
 * killed server leaves nothing behind.
 */
export interface PinWriter {
  /** Append rows, in order (their positions continue across calls). */
  add(rows: readonly EventRow[]): Promise<void>;
  /**
   * In ONE transaction: evict the oldest unlocked snapshots (see {@link Room})
   * until there is room, insert the snapshot with every row added. All or
   * nothing; pins are serialised so concurrent pins never exceed the cap. The
   * writer is finished afterwards, committed or not.
   * @throws CapReachedError, DuplicateAlertError
   */
  commit(meta: SnapshotMeta, room: Room, custody?: PinCustody): Promise<{ evicted: string[] }>;
  /** Drop every row added (a failed or cancelled pin); a no-op once finished. */
  discard(): Promise<void>;
}

export interface SnapshotStore {
  /** Apply pending schema migrations (versioned, idempotent). */
  migrate(): Promise<void>;
  /** Start writing the pin of snapshot `snapshotId` (see {@link PinWriter}); call `commit` or `discard` on it. */
  beginPin(snapshotId: string): Promise<PinWriter>;
  /** Newest first. */
  listSnapshots(limit: number, offset: number): Promise<Page<SnapshotMeta>>;
  getSnapshot(id: string): Promise<SnapshotMeta | undefined>;
  /** Snapshot id pinned for an alert key, if any. */
  findByAlertKey(key: string): Promise<string | undefined>;
  /** Count of snapshots and of stored events (all snapshots), for checks and metrics. */
  counts(): Promise<{ snapshots: number; events: number; locked: number }>;
  /** Events in stored order, filtered and paged. */
  events(id: string, q: EventQuery): Promise<Page<CasefileEvent | UnreadableEntry>>;
  /** Every row's JSON text (events and unreadable entries) in stored order, in batches (streaming exports). */
  eventJson(id: string, batchSize?: number): AsyncGenerator<string[]>;
  /** Count of rows per type (unreadable entries under UNREADABLE_TYPE). */
  countByType(id: string): Promise<Record<string, number>>;
  /** Every row with its stream labels, in stored order, in batches (forensic packages). */
  evidenceRows(id: string, batchSize?: number): AsyncGenerator<EvidenceRow[]>;
  /**
   * Delete a snapshot; with `custody`, in the same transaction: its tombstone
   * (a custody entry) and its alert key, so a replayed alert pins again.
   */
  deleteSnapshot(id: string, custody?: CustodyWrite): Promise<boolean>;
  /** Lock or unlock; with `custody`, its entry in the same transaction. */
  setLocked(id: string, locked: boolean, custody?: CustodyWrite): Promise<SnapshotMeta | undefined>;
  /** Append one custody entry (serialised with every other append). */
  appendCustody(draft: CustodyDraft, seal: CustodySealer): Promise<CustodyEntry>;
  /** The custody log in order: one snapshot's entries (deleted snapshots too), or the whole log. */
  custody(q: { snapshotId?: string; limit: number; offset: number }): Promise<Page<CustodyEntry>>;
  close(): Promise<void>;
}

/** Escape `%`, `_` and `\` for a LIKE pattern with ESCAPE '\'. */
export function likePattern(s: string): string {
  return '%' + s.replace(/[\\%_]/g, '\\$&') + '%';
}
