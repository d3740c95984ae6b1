import {
  EVENT_TYPE_LABEL,
  EVENT_TYPE_NAMES,
  FIELDS,
  PageWalker,
  countByTypeQuery,
  decodeStreams,
  distinctValuesQuery,
  eventByIdQuery,
  eventsQuery,
  isEventType,
  lokiName,
  stepFor,
  type CasefileEvent,
  type EventFilter,
  type EventType,
  type LokiStream,
  type ScopeKey,
  type UnreadableEntry,
} from '@casefile/schema';
import { bucketCount, bucketsFromMatrix, type Buckets, type MatrixSeries } from '@casefile/timeline-ui';
import { LOKI_PAGE_SIZE } from '../constants';
import { request } from './http';

/**
 * Loki through Grafana's data source proxy: the raw Loki HTTP API at
 * `api/datasources/proxy/uid/<uid>/loki/api/v1/...`, so answers decode with
 * schema's PageWalker and decoder exactly as the server's do. Every LogQL string comes
 * from schema's builders.
 */
export function lokiBase(uid: string): string {
  return `api/datasources/proxy/uid/${encodeURIComponent(uid)}/loki/api/v1`;
}

interface LokiAnswer<R> {
  status: string;
  data: { resultType: string; result: R };
}

const ns = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;

/** Parse a LogQL duration from stepFor ('30s', '5m', '1h', '1d') to ms. */
export function durationMs(d: string): number {
  const unit: Record<string, number> = {
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
    w: 604_800_000,
  };
  let total = 0;
  for (const m of d.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(m[1]) * unit[m[2]];
  return total;
}

type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;

/**
 * Exact counts per type of the events in [aMs, bMs): an instant query at b - 1 ns over a
 * range of b - a, since Loki's count_over_time at t counts (t - range, t].
 */
async function countInRange(uid: string, filter: EventFilter, aMs: number, bMs: number) {
  const query = countByTypeQuery({ scope: filter.scope, search: filter.search }, `${bMs - aMs}ms`);
  const ans = await request<LokiAnswer<Vector>>('GET', `${lokiBase(uid)}/query`, {
    params: { query, time: `${BigInt(bMs) * 1_000_000n - 1n}` },
  });
  const out: Partial<Record<EventType, number>> = {};
  for (const r of ans.data.result) {
    const t = r.metric[EVENT_TYPE_LABEL];
    if (t && isEventType(t)) out[t] = (out[t] ?? 0) + Number(r.value[1]);
  }
  return out;
}

/**
 * Event counts per type over exactly [fromMs, toMs), the range the grid reads, in
 * about 120 step-aligned buckets (`countByTypeQuery`); types are not filtered here,
 * the toggles show every type's count.
 *
 * Loki evaluates a range query at multiples of the step, each point counting
 * (t - step, t]: whole buckets would count events outside the range at both
 * edges. So the range query covers only the whole buckets inside the range, and
 * exact instant queries count the two partial edge buckets and the whole range.
 * The whole range's count is the truth: an event exactly on an inner bucket edge
 * (Loki's buckets are closed at their end) moves the sum of the inner buckets by
 * one, which is put back into the inner bucket it belongs to at the edge.
 */
export async function countByType(
  uid: string,
  filter: EventFilter,
  fromMs: number,
  toMs: number
): Promise<Buckets> {
  fromMs = Math.round(fromMs);
  toMs = Math.max(fromMs + 1, Math.round(toMs));
  const step = stepFor(toMs - fromMs);
  const stepMs = durationMs(step);
  const first = Math.floor(fromMs / stepMs) * stepMs;
  const last = Math.ceil(toMs / stepMs) * stepMs;
  // Inner whole buckets: [innerFrom, innerTo).
  const innerFrom = Math.ceil(fromMs / stepMs) * stepMs;
  const innerTo = Math.floor(toMs / stepMs) * stepMs;
  const range = { fromMs, toMs };
  const empty = () => bucketsFromMatrix([], EVENT_TYPE_LABEL, first, last, stepMs);
  const query = countByTypeQuery({ scope: filter.scope, search: filter.search }, step);
  const none: Partial<Record<EventType, number>> = {};
  const [total, head, tail, inner] = await Promise.all([
    countInRange(uid, filter, fromMs, toMs),
    innerFrom <= innerTo && fromMs < innerFrom ? countInRange(uid, filter, fromMs, innerFrom) : none,
    innerFrom <= innerTo && innerTo < toMs ? countInRange(uid, filter, innerTo, toMs) : none,
    innerTo > innerFrom
      ? request<LokiAnswer<MatrixSeries[]>>('GET', `${lokiBase(uid)}/query_range`, {
          // The point at t counts (t - step, t]: the first point closes the first inner bucket.
          params: { query, start: ns(innerFrom + stepMs), end: ns(innerTo), step: stepMs / 1000 },
        }).then((a) => bucketsFromMatrix(a.data.result, EVENT_TYPE_LABEL, first, last, stepMs))
      : Promise.resolve(empty()),
  ]);
  const n = bucketCount(first, last, stepMs);
  const headAt = 0;
  const tailAt = n - 1;
  const firstInner = Math.round((innerFrom - first) / stepMs);
  const lastInner = Math.round((innerTo - first) / stepMs) - 1;
  const counts: Buckets['counts'] = {};
  for (const t of EVENT_TYPE_NAMES) {
    const all = total[t] ?? 0;
    if (!all && !inner.counts[t]) continue;
    const row = inner.counts[t] ?? new Array(n).fill(0);
    if (innerFrom > innerTo) {
      // The range lies inside one bucket.
      row.fill(0);
      row[headAt] = all;
    } else {
      row[headAt] += head[t] ?? 0;
      row[tailAt] += tail[t] ?? 0;
      const drift = all - row.reduce((a, c) => a + c, 0);
      if (drift > 0 && firstInner <= lastInner) row[firstInner] += drift;
      else if (drift < 0 && firstInner <= lastInner) row[lastInner] = Math.max(0, row[lastInner] + drift);
    }
    if (all > 0) counts[t] = row;
  }
  return { fromMs: first, toMs: last, stepMs, counts, range };
}

/** What one {@link EventReader.nextPage} added: complete instants, in (time, id) order. */
export interface EventPage {
  events: CasefileEvent[];
  /** Entries Loki holds in range that are not Casefile events (no id, or a type this build does not know). */
  unreadable: UnreadableEntry[];
}

/**
 * Reads a filter and range from Loki on demand, page by page, walked by
 * schema's PageWalker (the same walker as the server's): progress from the
 * raw entries Loki returned, overlapping starts de-duplicated, an instant with
 * more entries than a page read in partitions, trimmed to [fromNs, toNs).
 */
export class EventReader {
  private readonly walker: PageWalker;
  /** Entries read so far that are not Casefile events. */
  unreadableCount = 0;

  constructor(
    private readonly uid: string,
    filter: EventFilter,
    fromNs: string,
    toNs: string,
    pageSize = LOKI_PAGE_SIZE
  ) {
    this.walker = new PageWalker({ query: eventsQuery(filter), fromNs, toNs, pageSize });
  }

  /** True when the whole range has been read. */
  get done(): boolean {
    return this.walker.done;
  }

  /** Ask Loki until something new is complete or the range is exhausted; `limit` caps the first request. */
  async nextPage(limit?: number): Promise<EventPage> {
    const out: EventPage = { events: [], unreadable: [] };
    for (let r = this.walker.next(limit); r; r = this.walker.next()) {
      const ans = await request<LokiAnswer<LokiStream[]>>('GET', `${lokiBase(this.uid)}/query_range`, {
        params: { query: r.query, start: r.startNs, end: r.endNs, limit: r.limit, direction: r.direction },
      });
      if (ans.data?.resultType !== 'streams')
        throw new Error(`Loki answered ${JSON.stringify(ans.data?.resultType)} where streams were expected`);
      const page = this.walker.accept(r, ans.data.result);
      out.events.push(...page.events);
      out.unreadable.push(...page.unreadable);
      if (out.events.length || out.unreadable.length) break;
    }
    this.unreadableCount += out.unreadable.length;
    return out;
  }
}

/** Every event of a filter and range (stops after `cap`); entries that are not events are left out. */
export async function readAllEvents(
  uid: string,
  filter: EventFilter,
  fromMs: number,
  toMs: number,
  cap: number
): Promise<CasefileEvent[]> {
  const reader = new EventReader(uid, filter, ns(fromMs), ns(toMs));
  const out: CasefileEvent[] = [];
  while (!reader.done && out.length < cap) out.push(...(await reader.nextPage()).events);
  return out;
}

/** One event by id, within a range (for a link that names an event). */
export async function readEventById(
  uid: string,
  id: string,
  fromMs: number,
  toMs: number
): Promise<CasefileEvent | undefined> {
  const ans = await request<LokiAnswer<LokiStream[]>>('GET', `${lokiBase(uid)}/query_range`, {
    params: { query: eventByIdQuery(id), start: ns(fromMs), end: ns(toMs), limit: 10, direction: 'forward' },
  });
  return decodeStreams(ans.data.result).events[0];
}

/**
 * Values of one scope field seen in the range, most frequent first, for a
 * picker (`distinctValuesQuery`, an instant metric query over the whole range).
 */
export async function distinctValues(
  uid: string,
  key: ScopeKey,
  filter: EventFilter,
  fromMs: number,
  toMs: number
): Promise<string[]> {
  const range = `${Math.max(1, Math.ceil((toMs - fromMs) / 1000))}s`;
  const ans = await request<LokiAnswer<Array<{ metric: Record<string, string>; value: [number, string] }>>>(
    'GET',
    `${lokiBase(uid)}/query`,
    {
      params: { query: distinctValuesQuery(key, filter, range), time: ns(toMs) },
    }
  );
  const label = lokiName(FIELDS[key].attr);
  return ans.data.result
    .filter((r) => r.metric[label])
    .sort((a, b) => Number(b.value[1]) - Number(a.value[1]))
    .map((r) => r.metric[label]);
}
