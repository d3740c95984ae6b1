import {
  EVENT_TYPE_LABEL,
  FIELDS,
  PageWalker,
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
  type UnreadableEntry,
} from '@casefile/schema';
import { bucketsFromMatrix, type Buckets, type MatrixSeries } from '@casefile/timeline-ui';
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
