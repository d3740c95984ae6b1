/**
 * Reading events back from Loki in tests and benches of any component, through
 * the server's own reader (the collector's tests must not import the server:
 * .dependency-cruiser.cjs; helpers shared across components live here).
 */
import type { CasefileEvent, EventFilter } from '@casefile/schema';
import { LokiClient } from '../../server/src/loki/loki-client';

/** Every event matching `filter` in [fromNs, toNs), in (time, id) order. */
export function readEvents(
  lokiUrl: string,
  filter: EventFilter,
  window: { fromNs: string; toNs: string }
): Promise<CasefileEvent[]> {
  return new LokiClient({ url: lokiUrl }).readAll(filter, window);
}
