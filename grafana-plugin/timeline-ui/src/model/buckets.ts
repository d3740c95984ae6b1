import { EVENT_TYPE_NAMES, isEventType, nsToMs, type CasefileEvent, type EventType } from '@casefile/schema';

/**
 * Events counted per type in equal time buckets: what the timeline draws.
 * Filled either from Loki's metric answer ({@link bucketsFromMatrix}) or, for
 * events already in memory (snapshots, the panel), by {@link bucketEvents}.
 */
export interface Buckets {
  fromMs: number;
  toMs: number;
  stepMs: number;
  /** counts[type][i]: events of that type in [fromMs + i*stepMs, fromMs + (i+1)*stepMs), within `range`. */
  counts: Partial<Record<EventType, number[]>>;
  /**
   * The time range the counts stand for, when narrower than the buckets: the first and last
   * bucket then hold only their part inside it (the grid's range, [fromMs, toMs)).
   */
  range?: { fromMs: number; toMs: number };
}

/** The time range the buckets stand for: `range` if set, else all buckets. */
export function bucketsRange(b: Buckets): { fromMs: number; toMs: number } {
  return b.range ?? { fromMs: b.fromMs, toMs: b.toMs };
}

/** Bucket i's time span, cut to the range the buckets stand for. */
export function bucketSpan(b: Buckets, i: number): { fromMs: number; toMs: number } {
  const r = bucketsRange(b);
  return {
    fromMs: Math.max(r.fromMs, b.fromMs + i * b.stepMs),
    toMs: Math.min(r.toMs, b.fromMs + (i + 1) * b.stepMs),
  };
}

export function bucketCount(fromMs: number, toMs: number, stepMs: number): number {
  return Math.max(1, Math.ceil((toMs - fromMs) / stepMs));
}

/**
 * Count events per type and bucket. Events outside [fromMs, toMs) are ignored.
 *
 * @example bucketEvents([{ type: 'process.start', timeNs: '60000000000', ... }], 0, 120000, 60000).counts['process.start'] // => [0, 1]
 */
export function bucketEvents(
  events: readonly CasefileEvent[],
  fromMs: number,
  toMs: number,
  stepMs: number
): Buckets {
  const n = bucketCount(fromMs, toMs, stepMs);
  const counts: Partial<Record<EventType, number[]>> = {};
  for (const e of events) {
    const t = nsToMs(e.timeNs);
    if (t < fromMs || t >= toMs) continue;
    const i = Math.min(n - 1, Math.floor((t - fromMs) / stepMs));
    (counts[e.type] ??= new Array(n).fill(0))[i]++;
  }
  return { fromMs, toMs, stepMs, counts };
}

/** One series of a Loki `query_range` matrix answer. */
export interface MatrixSeries {
  metric: Record<string, string>;
  /** [unix seconds, "count"] */
  values: Array<[number, string]>;
}

/**
 * Buckets from Loki's answer to `countByTypeQuery(filter, step)`: the point at
 * time t counts the events in (t - step, t], so it lands in the bucket ending at t.
 */
export function bucketsFromMatrix(
  series: readonly MatrixSeries[],
  typeLabel: string,
  fromMs: number,
  toMs: number,
  stepMs: number
): Buckets {
  const n = bucketCount(fromMs, toMs, stepMs);
  const counts: Partial<Record<EventType, number[]>> = {};
  for (const s of series) {
    const type = s.metric[typeLabel];
    if (!type || !isEventType(type)) continue;
    const row = (counts[type] ??= new Array(n).fill(0));
    for (const [sec, v] of s.values) {
      const i = Math.ceil((sec * 1000 - fromMs) / stepMs) - 1;
      row[Math.min(n - 1, Math.max(0, i))] += Number(v);
    }
  }
  return { fromMs, toMs, stepMs, counts };
}

/** Total per type over all buckets. */
export function totalsByType(b: Buckets): Record<EventType, number> {
  const out = {} as Record<EventType, number>;
  for (const t of EVENT_TYPE_NAMES) out[t] = (b.counts[t] ?? []).reduce((a, c) => a + c, 0);
  return out;
}

/** Stacked total per bucket over the shown types. */
export function stackTotals(b: Buckets, shown: (t: EventType) => boolean): number[] {
  const out = new Array(bucketCount(b.fromMs, b.toMs, b.stepMs)).fill(0);
  for (const t of EVENT_TYPE_NAMES) {
    const row = b.counts[t];
    if (!row || !shown(t)) continue;
    for (let i = 0; i < row.length; i++) out[i] += row[i];
  }
  return out;
}
