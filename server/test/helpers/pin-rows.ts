/** Store tests pin rows they hold: through the one write path, a PinWriter, in batches as a pin does. */
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
