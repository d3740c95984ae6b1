/** Store tests pin rows they hold: through the one write path, a PinWriter, in batches as a pin does. */
import { randomUUID } from 'node:crypto';
import type { EventRow, PinCustody, Room, SnapshotMeta, SnapshotStore } from '../../src/store/store';

/** Write `rows` as snapshot `meta` in batches of `batch` and commit; on any failure discard, like SnapshotService. */
export async function createSnapshot(
  store: SnapshotStore,
  meta: SnapshotMeta,
  rows: readonly EventRow[],
  room: Room,
  custody?: PinCustody,
  batch = 5000
): Promise<{ evicted: string[] }> {
  const w = await store.beginPin(meta.id);
  try {
    for (let i = 0; i < rows.length; i += batch) await w.add(rows.slice(i, i + batch));
    return await w.commit(meta, room, custody);
  } catch (err) {
    await w.discard();
    throw err;
  }
}

/** A snapshot's metadata for store tests: a fresh id, fixed values, `over` on top. */
export function snapshotMeta(over: Partial<SnapshotMeta> = {}): SnapshotMeta {
  return {
    id: randomUUID(),
    title: 'incident',
    note: 'note',
    scope: { containerName: 'web' },
    fromNs: '1700000000000000000',
    toNs: '1700000060000000000',
    query: '{service_namespace="casefile"}',
    createdBy: 'alice',
    createdAt: new Date().toISOString(),
    eventCount: 0,
    unreadableCount: 0,
    contentSha256: 'ab'.repeat(32),
    lokiVersion: '3.7.8',
    source: 'api',
    locked: false,
    ...over,
  };
}
