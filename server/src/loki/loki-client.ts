/**
 * Loki client (axios): reads a filter and time window completely.
 *
 * What to ask Loki next is decided by schema's PageWalker (the one walker,
 * shared with the Grafana plugin) from the raw entries of each answer; this
 * client only does the I/O around it: slices read in parallel, retries,
 * tenant and auth. Transient errors (network, 429, 5xx) are retried with
 * exponential backoff; after that a LokiError ends the read (never a short
 * result that looks complete).
 */
import axios, { AxiosError, type AxiosInstance } from 'axios';
import {
  PageWalker,
  eventsQuery,
  type CasefileEvent,
  type EventFilter,
  type LokiStream,
  type UnreadableEntry,
  type WalkPage,
  type WalkRequest,
} from '@casefile/schema';
import { sortKeys } from '../evidence/canonical';

export interface LokiClientOptions {
  /** Base URL, e.g. http://127.0.0.1:3100 */
  url: string;
  /** Sent as X-Scope-OrgID when set (multi-tenant Loki). */
  tenant?: string;
  /** Basic auth `user:password`, or a bearer token. */
  basicAuth?: string;
  bearerToken?: string;
  /** Entries per page; must not exceed Loki's max_entries_limit_per_query. Default 5000. */
  pageSize?: number;
  /** Attempts per request for transient errors. Default 5. */
  retries?: number;
  /** Per-request timeout in ms. Default 30000. */
  timeoutMs?: number;
  /** Slices of a window read ahead while the caller consumes one. Default 2. */
  prefetch?: number;
  /** Called before each retry of a transient failure (for metrics and logs). */
  onRetry?: (path: string, attempt: number, reason: string) => void;
}

/**
 * Complete instants of a read: events and the entries that are not events,
 * each in (time, id) order, events as the walker decoded them (no copies:
 * hashes and stored forms use canonicalJson, which orders keys itself),
 * unreadable entries with their keys in canonical order; `streams` holds
 * the Loki stream labels each event came in, one object per stream, shared,
 * in Loki's order (unreadable entries carry theirs in `stream`).
 */
export interface ReadPage {
  events: CasefileEvent[];
  unreadable: UnreadableEntry[];
  streams: Map<CasefileEvent, Record<string, string>>;
}

/** Events and unreadable entries of a page merged into one list in (time, id) order. */
export function inOrder(page: ReadPage): (CasefileEvent | UnreadableEntry)[] {
  if (!page.unreadable.length) return page.events;
  const out: (CasefileEvent | UnreadableEntry)[] = [];
  const { events: a, unreadable: b } = page;
  let i = 0;
  let j = 0;
  const before = (x: CasefileEvent, y: UnreadableEntry) =>
    x.timeNs.length !== y.timeNs.length
      ? x.timeNs.length < y.timeNs.length
      : x.timeNs !== y.timeNs
        ? x.timeNs < y.timeNs
        : x.id <= y.id;
  while (i < a.length || j < b.length)
    out.push(j >= b.length || (i < a.length && before(a[i], b[j])) ? a[i++] : b[j++]);
  return out;
}

/** One slice of a window, walked by its own PageWalker; `step` is its request in flight. */
interface Slice<T> {
  from: bigint;
  walker: PageWalker;
  /** Its completed pages, already converted. */
  pages: T[];
  step?: Promise<void>;
}

/** A walker's page as a ReadPage: each event with the stream labels it came in. */
function readPage(page: WalkPage): ReadPage {
  const streams = new Map<CasefileEvent, Record<string, string>>();
  page.events.forEach((e, i) => streams.set(e, page.eventStreams[i]));
  // Unreadable entries are rare and written whole (CSV, package): their keys in canonical order.
  return { events: page.events, unreadable: page.unreadable.map(sortKeys), streams };
}

export class LokiError extends Error {
  constructor(
    message: string,
    readonly status?: number
  ) {
    super(message);
    this.name = 'LokiError';
  }
}

/** A time window in nanoseconds since the epoch (decimal strings), start inclusive, end exclusive. */
export interface Window {
  fromNs: string;
  toNs: string;
}

export class LokiClient {
  private readonly http: AxiosInstance;
  private readonly pageSize: number;
  private readonly retries: number;
  private readonly prefetch: number;

  constructor(readonly opts: LokiClientOptions) {
    const headers: Record<string, string> = { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' };
    if (opts.tenant) headers['X-Scope-OrgID'] = opts.tenant;
    if (opts.bearerToken) headers.Authorization = `Bearer ${opts.bearerToken}`;
    else if (opts.basicAuth)
      headers.Authorization = `Basic ${Buffer.from(opts.basicAuth).toString('base64')}`;
    this.http = axios.create({
      baseURL: opts.url.replace(/\/$/, ''),
      headers,
      timeout: opts.timeoutMs ?? 30_000,
    });
    this.pageSize = opts.pageSize ?? 5000;
    this.retries = opts.retries ?? 5;
    this.prefetch = Math.max(1, opts.prefetch ?? 2);
  }

  /** GET with retries on transient failures; other errors become a LokiError with Loki's message. */
  async get<T>(path: string, params: Record<string, string | number>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.http.get<T>(path, { params })).data;
      } catch (err) {
        const e = err as AxiosError;
        const status = e.response?.status;
        const transient = !status || status === 429 || status >= 500;
        if (!transient || attempt >= this.retries) {
          const body = typeof e.response?.data === 'string' ? e.response.data.trim() : '';
          throw new LokiError(
            status
              ? `Loki answered ${status} for ${path}: ${body || e.message}`
              : `Loki unreachable at ${this.opts.url}: ${e.message}`,
            status
          );
        }
        this.opts.onRetry?.(path, attempt, status ? `HTTP ${status}` : e.message);
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5000)));
      }
    }
  }

  /** One `query_range` answer for a walker's request. */
  async queryRange(r: WalkRequest): Promise<LokiStream[]> {
    const body = await this.get<{ status?: string; data: { resultType: string; result: LokiStream[] } }>(
      '/loki/api/v1/query_range',
      { query: r.query, start: r.startNs, end: r.endNs, limit: r.limit, direction: r.direction }
    );
    if (body.data?.resultType !== 'streams')
      throw new LokiError(`expected streams from Loki, got ${JSON.stringify(body.data?.resultType)}`);
    return body.data.result;
  }

  /**
   * Every entry matching `filter` in `window`, as pages of complete instants
   * in (time, id) order: events, and the entries that are not Casefile events
   * (kept whole). Pages are yielded as they arrive, so callers can stream.
   *
   * The window is cut into slices sized from the density seen so far (about
   * 60% of a page each), each walked by its own PageWalker, and up to
   * `prefetch` slices have a request in flight while the caller consumes the
   * current one: Loki answers a narrow slice much faster than "the next 5000
   * from here to the end", and the two overlap. Slices join exactly because
   * each walker trims to its own [from, to) and starts its requests a little
   * before it (overlap, de-duplicated). When the only slice left is still
   * long, it is cut where its walker says it can be (`resumeNs`) and the rest
   * is sliced again.
   */
  readEvents(filter: EventFilter, window: Window): AsyncGenerator<ReadPage> {
    return this.readPages(filter, window, (p) => p);
  }

  /**
   * {@link readEvents}, each page passed through `convert` as soon as Loki's
   * answer completes it, synchronously: only what `convert` returns is held
   * while the caller is busy (read-ahead slices, a slow client). An export
   * that turns pages into bytes there holds bytes, not event objects, so the
   * objects die young and the V8 heap does not grow with the read-ahead.
   */
  async *readPages<T>(
    filter: EventFilter,
    window: Window,
    convert: (page: ReadPage) => T
  ): AsyncGenerator<T> {
    const query = eventsQuery(filter);
    const to = BigInt(window.toNs);
    let planned = BigInt(window.fromNs);
    // Slice length in ns; undefined until the first answer tells the density.
    let span: bigint | undefined;
    const queue: Slice<T>[] = [];
    const open = (from: bigint, end: bigint): Slice<T> => ({
      from,
      walker: new PageWalker({
        query,
        fromNs: from.toString(),
        toNs: end.toString(),
        pageSize: this.pageSize,
      }),
      pages: [],
    });
    const step = (s: Slice<T>): Promise<void> => {
      if (s.step) return s.step;
      const req = s.walker.next()!;
      const run = this.queryRange(req).then((r) => {
        const page = s.walker.accept(req, r);
        if (page.events.length || page.unreadable.length) s.pages.push(convert(readPage(page)));
        s.step = undefined;
      });
      run.catch(() => {}); // awaited when its slice is read; not unhandled meanwhile
      return (s.step = run);
    };
    const plan = () => {
      while (queue.length < this.prefetch && planned < to) {
        const end = span === undefined || planned + span > to ? to : planned + span;
        queue.push(open(planned, end));
        planned = end;
      }
      for (const s of queue.slice(1)) if (!s.step && !s.pages.length && !s.walker.done) step(s);
    };
    const learn = (count: number, covered: bigint) => {
      const target = BigInt(Math.ceil(this.pageSize * 0.6));
      const next = count === 0 ? (span ?? covered) * 4n : (covered * target) / BigInt(count);
      span = next < 1_000_000n ? 1_000_000n : next;
    };
    const read = (s: Slice<T>) => s.walker.stats.events + s.walker.stats.unreadable;
    plan();
    while (queue.length) {
      const head = queue[0];
      if (head.pages.length) {
        yield head.pages.shift()!;
        continue;
      }
      if (head.walker.done) {
        queue.shift();
        learn(read(head), BigInt(head.walker.opts.toNs) - head.from);
        plan();
        continue;
      }
      await step(head);
      const cut = head.walker.resumeNs;
      if (!head.walker.done && queue.length === 1 && cut !== undefined && BigInt(cut) > head.from) {
        // Nothing is read ahead: cut the slice where its walker can resume and slice the rest again.
        for (const p of head.pages.splice(0)) yield p;
        queue.shift();
        learn(read(head), BigInt(cut) - head.from);
        planned = BigInt(cut);
        plan();
      }
    }
  }

  /** All events of a filter and window in memory (small windows and tests; entries that are not events are left out). */
  async readAll(filter: EventFilter, window: Window): Promise<CasefileEvent[]> {
    const out: CasefileEvent[] = [];
    for await (const page of this.readEvents(filter, window)) out.push(...page.events);
    return out;
  }

  /** Loki's build version, e.g. "3.7.8". */
  async version(): Promise<string> {
    return (await this.get<{ version: string }>('/loki/api/v1/status/buildinfo', {})).version;
  }
}
