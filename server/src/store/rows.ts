/** Row <-> SnapshotMeta mapping shared by both stores (same column names). */
import type { SnapshotMeta } from './store';

export interface SnapshotRow {
  id: string;
  title: string;
  note: string;
  scope_json: string;
  from_ns: string;
  to_ns: string;
  types_json: string | null;
  search: string | null;
  query: string;
  created_by: string;
  created_at: string;
  event_count: number;
  unreadable_count: number;
  content_sha256: string;
  loki_version: string;
  source: string;
  alert_key: string | null;
  locked: number;
}

export const SNAPSHOT_COLUMNS =
  'id, title, note, scope_json, from_ns, to_ns, types_json, search, query, created_by, created_at, event_count, unreadable_count, content_sha256, loki_version, source, alert_key, locked';

export function toMeta(r: SnapshotRow): SnapshotMeta {
  const m: SnapshotMeta = {
    id: r.id,
    title: r.title,
    note: r.note,
    scope: JSON.parse(r.scope_json),
    fromNs: r.from_ns,
    toNs: r.to_ns,
    query: r.query,
    createdBy: r.created_by,
    createdAt: r.created_at,
    eventCount: Number(r.event_count),
    unreadableCount: Number(r.unreadable_count),
    contentSha256: r.content_sha256,
    lokiVersion: r.loki_version,
    source: r.source,
    locked: Boolean(Number(r.locked)),
  };
  if (r.types_json) m.types = JSON.parse(r.types_json);
  if (r.search) m.search = r.search;
  if (r.alert_key) m.alertKey = r.alert_key;
  return m;
}

/** Column values of a snapshot, in SNAPSHOT_COLUMNS order. */
export function metaValues(m: SnapshotMeta): unknown[] {
  return [
    m.id,
    m.title,
    m.note,
    JSON.stringify(m.scope),
    m.fromNs,
    m.toNs,
    m.types ? JSON.stringify(m.types) : null,
    m.search ?? null,
    m.query,
    m.createdBy,
    m.createdAt,
    m.eventCount,
    m.unreadableCount,
    m.contentSha256,
    m.lokiVersion,
    m.source,
    m.alertKey ?? null,
    m.locked ? 1 : 0,
  ];
}
