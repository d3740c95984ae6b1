/**
 * Evaluation of parsed LogQL over the stand-in's store, with Loki's semantics
 * (docs: reference/loki-http-api, query/log_queries, query/metric_queries):
 * log queries select [start, end), merged across streams in the query's
 * direction, at most `limit` entries; a range aggregation at time t covers
 * (t - range, t]; a missing label equals "".
 */
import { HttpError } from '../http-error';
import type { Entry, Store, Stream } from '../store';
import type { LogQuery, Matcher, MetricQuery } from './parse';

export interface Hit {
  stream: Stream;
  entry: Entry;
}

function labelOf(stream: Stream, e: Entry, name: string): string {
  return e.meta[name] ?? stream.labels[name] ?? '';
}

function passes(q: LogQuery, stream: Stream, e: Entry): boolean {
  for (const st of q.stages) {
    if (st.kind === 'line') {
      if (!st.filter.test(e.line)) return false;
    } else if (!st.matcher.test(labelOf(stream, e, st.matcher.name))) return false;
  }
  return true;
}

function selects(ms: Matcher[], s: Stream): boolean {
  return ms.every((m) => m.test(s.labels[m.name] ?? ''));
}

/** The entries of a log query in [startNs, endNs), in direction order, at most `limit`. */
export function selectEntries(
  store: Store,
  q: LogQuery,
  startNs: bigint,
  endNs: bigint,
  limit: number,
  direction: 'forward' | 'backward'
): Hit[] {
  const streams = [...store.streams.values()].filter((s) => selects(q.selector, s));
  // One cursor per stream, merged by time (ties: stream order, then push order).
  const fwd = direction === 'forward';
  const cursors = streams.map((s) => {
    const a = s.ordered();
    return {
      s,
      a,
      i: fwd ? s.lowerBound(startNs) : s.lowerBound(endNs) - 1,
      stop: fwd ? s.lowerBound(endNs) : s.lowerBound(startNs) - 1,
    };
  });
  const out: Hit[] = [];
  const advance = (c: (typeof cursors)[number]) => {
    while (c.i !== c.stop && !passes(q, c.s, c.a[c.i])) c.i += fwd ? 1 : -1;
  };
  cursors.forEach(advance);
  while (out.length < limit) {
    let best: (typeof cursors)[number] | undefined;
    for (const c of cursors) {
      if (c.i === c.stop) continue;
      if (!best || (fwd ? c.a[c.i].ts < best.a[best.i].ts : c.a[c.i].ts > best.a[best.i].ts)) best = c;
    }
    if (!best) break;
    out.push({ stream: best.s, entry: best.a[best.i] });
    best.i += fwd ? 1 : -1;
    advance(best);
  }
  return out;
}

export interface Series {
  metric: Record<string, string>;
  /** Evaluation time (ns) -> value. */
  points: Map<bigint, number>;
}

/** All labels of an entry: stream labels, then structured metadata (no parsers are modelled). */
function allLabels(h: Hit): Record<string, string> {
  return { ...h.stream.labels, ...h.entry.meta };
}

function keyOf(labels: Record<string, string>, names?: string[]): [string, Record<string, string>] {
  const picked: Record<string, string> = {};
  for (const n of names ?? Object.keys(labels).sort()) {
    const v = labels[n];
    if (v !== undefined && v !== '') picked[n] = v;
  }
  return [JSON.stringify(picked), picked];
}

/**
 * Evaluate a metric query at every time in `times` (ns, ascending). Series with no
 * sample at a time have no point there, as in Loki.
 */
export function evaluateMetric(store: Store, q: MetricQuery, times: bigint[], maxSeries: number): Series[] {
  const out = evalNode(store, q, times);
  if (out.length > maxSeries)
    throw new HttpError(400, `maximum number of series (${maxSeries}) reached for a single query`);
  return out;
}

function evalNode(store: Store, q: MetricQuery, times: bigint[]): Series[] {
  switch (q.kind) {
    case 'count_over_time':
      return countOverTime(store, q.log, q.rangeNs, times, undefined);
    case 'sum':
      // sum by (x) of counts is the count grouped by x: no per-entry series needed.
      if (q.inner.kind === 'count_over_time')
        return countOverTime(store, q.inner.log, q.inner.rangeNs, times, q.by);
      return aggregate(evalNode(store, q.inner, times), q.by, (a, _) => a + _);
    case 'count':
      return aggregate(
        evalNode(store, q.inner, times).map((s) => ({
          metric: s.metric,
          points: new Map([...s.points].map(([t]) => [t, 1])),
        })),
        q.by,
        (a, b) => a + b
      );
    case 'cmp': {
      const test = {
        '>': (v: number) => v > q.value,
        '<': (v: number) => v < q.value,
        '>=': (v: number) => v >= q.value,
        '<=': (v: number) => v <= q.value,
        '==': (v: number) => v === q.value,
        '!=': (v: number) => v !== q.value,
      }[q.op];
      return evalNode(store, q.left, times)
        .map((s) => ({ metric: s.metric, points: new Map([...s.points].filter(([, v]) => test(v))) }))
        .filter((s) => s.points.size);
    }
  }
}

function aggregate(series: Series[], by: string[], add: (a: number, b: number) => number): Series[] {
  const groups = new Map<string, Series>();
  for (const s of series) {
    const [k, metric] = keyOf(s.metric, by);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { metric, points: new Map() }));
    for (const [t, v] of s.points) g.points.set(t, g.points.has(t) ? add(g.points.get(t)!, v) : v);
  }
  return [...groups.values()];
}

/** count_over_time at each t: entries in (t - range, t], grouped by `by` (all labels when undefined). */
function countOverTime(
  store: Store,
  log: LogQuery,
  rangeNs: bigint,
  times: bigint[],
  by: string[] | undefined
): Series[] {
  if (!times.length) return [];
  const first = times[0];
  const last = times[times.length - 1];
  const hits = selectEntries(store, log, first - rangeNs + 1n, last + 1n, Number.MAX_SAFE_INTEGER, 'forward');
  const groups = new Map<string, Series>();
  for (const h of hits) {
    const [k, metric] = keyOf(allLabels(h), by);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { metric, points: new Map() }));
    // Every evaluation time t with ts <= t < ts + range.
    const ts = h.entry.ts;
    for (let i = lowerBound(times, ts); i < times.length && times[i] < ts + rangeNs; i++) {
      g.points.set(times[i], (g.points.get(times[i]) ?? 0) + 1);
    }
  }
  for (const [k, g] of groups) if (!g.points.size) groups.delete(k);
  return [...groups.values()];
}

function lowerBound(a: bigint[], t: bigint): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
