/**
 * How many entries a pin window holds, asked of Loki as one instant metric
 * query (schema's countByTypeQuery, summed over the types), so a pin job can
 * say "read N of about M". It is an estimate: the range is whole
 * milliseconds, so it may count up to 1 ms beyond the window's end.
 */
import { countByTypeQuery, type EventFilter } from '@casefile/schema';
import type { LokiClient, Window } from '../loki/loki-client';

/** One instant-vector sample as Loki answers it: [seconds, "value"]. */
interface VectorAnswer {
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

/**
 * Entries matching `filter` in `window`, or undefined when Loki would not
 * count them (the pin itself does not depend on this).
 */
export async function countWindow(
  loki: LokiClient,
  filter: EventFilter,
  window: Window
): Promise<number | undefined> {
  const from = BigInt(window.fromNs);
  const rangeMs = (BigInt(window.toNs) - from + 999_999n) / 1_000_000n;
  if (rangeMs <= 0n) return 0;
  // count_over_time counts (t - range, t]: with t one ns before from + range that is [from, from + range).
  const time = from + rangeMs * 1_000_000n - 1n;
  const body = await loki.get<VectorAnswer>('/loki/api/v1/query', {
    query: countByTypeQuery(filter, `${rangeMs}ms`),
    time: time.toString(),
  });
  if (body.data?.resultType !== 'vector') return undefined;
  return body.data.result.reduce((n, s) => n + Number(s.value[1]), 0);
}
