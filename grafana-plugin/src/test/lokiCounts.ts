import { EVENT_TYPE_LABEL } from '@casefile/schema';
import type { Seen } from './backendSrvStandIn';

const UNIT_NS: Record<string, bigint> = {
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
};

/** A LogQL range such as `[30s]` or `[3600000ms]` in ns. */
function rangeNs(query: string): bigint {
  const m = /\[(\d+)(ms|s|m|h|d)\]/.exec(query);
  if (!m) throw new Error(`no range in ${query}`);
  return BigInt(m[1]) * UNIT_NS[m[2]];
}

/**
 * Loki's answer to `sum by (casefile_event_type) (count_over_time(... [range]))` over
 * entries [labels, ts ns, line], evaluated as Loki does: the point at t counts
 * (t - range, t]; a range query at multiples of `step` (start and end rounded down),
 * an instant query at `time`. The query's filters are not applied: pass the matching entries.
 */
export function countAnswer(entries: Array<[Record<string, string>, string, string]>, r: Seen) {
  const q = String(r.params.query);
  const range = rangeNs(q);
  const at = (t: bigint) => {
    const by = new Map<string, number>();
    for (const [l, ts] of entries) {
      const n = BigInt(ts);
      if (n > t - range && n <= t) by.set(l[EVENT_TYPE_LABEL], (by.get(l[EVENT_TYPE_LABEL]) ?? 0) + 1);
    }
    return by;
  };
  if (r.params.time !== undefined) {
    const t = BigInt(String(r.params.time));
    const result = [...at(t)].map(([type, n]) => ({
      metric: { [EVENT_TYPE_LABEL]: type },
      value: [Number(t) / 1e9, String(n)],
    }));
    return { data: { status: 'success', data: { resultType: 'vector', result } } };
  }
  const step = BigInt(Math.round(Number(r.params.step) * 1e9));
  const start = BigInt(String(r.params.start));
  const end = BigInt(String(r.params.end));
  const series = new Map<string, Array<[number, string]>>();
  for (let t = (start / step) * step; t <= (end / step) * step; t += step)
    for (const [type, n] of at(t)) {
      const s = series.get(type) ?? [];
      s.push([Number(t / 1_000_000n) / 1000, String(n)]);
      series.set(type, s);
    }
  const result = [...series].map(([type, values]) => ({ metric: { [EVENT_TYPE_LABEL]: type }, values }));
  return { data: { status: 'success', data: { resultType: 'matrix', result } } };
}
