import {
  EVENT_TYPE_LABEL,
  FIELDS,
  compareEvents,
  countByTypeQuery,
  decodeStreams,
  distinctValuesQuery,
  eventByIdQuery,
  eventsQuery,
  lokiName,
  stepFor,
  type CasefileEvent,
  type EventFilter,
  type LokiStream,
  type ScopeKey,
} from '@casefile/schema';
import { bucketsFromMatrix, type Buckets, type MatrixSeries } from '@casefile/timeline-ui';
import { LOKI_PAGE_SIZE } from '../constants';
import { request } from './http';

/**
 * Loki through Grafana's data source proxy: the raw Loki HTTP API at
 * `api/datasources/proxy/uid/<uid>/loki/api/v1/...`, so answers decode with
 * schema's decodeStreams exactly as the server's do. Every LogQL string comes
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

/**
 * Event counts per type over [fromMs, toMs), about 120 buckets, aggregated by
 * Loki (`countByTypeQuery`). Types are not filtered here: the toggles show every
 * type's count.
 */
export async function countByType(
  uid: string,
  filter: EventFilter,
  fromMs: number,
  toMs: number
): Promise<Buckets> {
  const step = stepFor(toMs - fromMs);
  const stepMs = durationMs(step);
  // Loki evaluates range queries at multiples of the step: an unaligned edge
  // would drop up to a step of events, so count whole aligned buckets.
  const from = Math.floor(fromMs / stepMs) * stepMs;
  const to = Math.ceil(toMs / stepMs) * stepMs;
  const query = countByTypeQuery({ scope: filter.scope, search: filter.search }, step);
  const ans = await request<LokiAnswer<MatrixSeries[]>>('GET', `${lokiBase(uid)}/query_range`, {
    // The point at t counts (t - step, t]: the first point closes the first bucket.
    params: { query, start: ns(from + stepMs), end: ns(to), step: stepMs / 1000 },
  });
  return bucketsFromMatrix(ans.data.result, EVENT_TYPE_LABEL, from, to, stepMs);
}

/** One page of events, oldest first, from `fromNs` (inclusive) to `toNs` (exclusive). */
export interface EventPage {
  events: CasefileEvent[];
  /** Where the next page starts; undefined when the range is exhausted. */
  nextFromNs?: string;
}

/**
 * Read one page of events in time order. Pages resume at the last event's
 * timestamp (inclusive) and drop the ids already seen there, so nothing is
 * lost or repeated at a page edge.
 */
export async function readEventPage(
  uid: string,
  filter: EventFilter,
  fromNs: string,
  toNs: string,
  seenAtEdge: ReadonlySet<string> = new Set(),
  limit = LOKI_PAGE_SIZE
): Promise<EventPage> {
  const ans = await request<LokiAnswer<LokiStream[]>>('GET', `${lokiBase(uid)}/query_range`, {
    params: { query: eventsQuery(filter), start: fromNs, end: toNs, limit, direction: 'forward' },
  });
  const all = decodeStreams(ans.data.result).events;
  const events = all.filter((e) => !(e.timeNs === fromNs && seenAtEdge.has(e.id)));
  if (all.length < limit) return { events };
  const lastNs = all[all.length - 1].timeNs;
  // A page made only of one instant cannot move forward by resuming there: step past it.
  const next = lastNs === fromNs ? (BigInt(lastNs) + 1n).toString() : lastNs;
  return { events, nextFromNs: next };
}

/** Ids of the events at the last timestamp of a list (the next page starts there). */
export function idsAtEdge(events: readonly CasefileEvent[]): Set<string> {
  const out = new Set<string>();
  const last = events[events.length - 1]?.timeNs;
  for (let i = events.length - 1; i >= 0 && events[i].timeNs === last; i--) out.add(events[i].id);
  return out;
}

/** Every event of a filter and range (capped), paging by time. */
export async function readAllEvents(
  uid: string,
  filter: EventFilter,
  fromMs: number,
  toMs: number,
  cap: number
): Promise<CasefileEvent[]> {
  const out: CasefileEvent[] = [];
  let from: string | undefined = ns(fromMs);
  let edge = new Set<string>();
  while (from && out.length < cap) {
    const page = await readEventPage(uid, filter, from, ns(toMs), edge);
    out.push(...page.events);
    edge = idsAtEdge(out);
    from = page.nextFromNs;
  }
  return out.sort(compareEvents);
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
