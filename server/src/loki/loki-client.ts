/**
 * Loki client (axios): reads a filter and time window completely.
 *
 * Loki caps entries per query (`max_entries_limit_per_query`, 5000 in
 * provisioning/loki/loki.yaml), so {@link LokiClient.readEvents} pages forward
 * by time. Each page restarts at the last timestamp seen (inclusive) and skips
 * the ids already returned at that timestamp, so nothing is lost or repeated
 * at a page edge. Transient errors (network, 429, 5xx) are retried with
 * exponential backoff.
 */
import axios, { AxiosError, type AxiosInstance } from 'axios';
import {
  decodeStreams,
  eventsQuery,
  type CasefileEvent,
  type EventFilter,
  type LokiStream,
} from '@casefile/schema';

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

  constructor(readonly opts: LokiClientOptions) {
    const headers: Record<string, string> = { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' };
    if (opts.tenant) headers['X-Scope-OrgID'] = opts.tenant;
    if (opts.bearerToken) headers.Authorization = `Bearer ${opts.bearerToken}`;
    else if (opts.basicAuth) headers.Authorization = `Basic ${Buffer.from(opts.basicAuth).toString('base64')}`;
    this.http = axios.create({ baseURL: opts.url.replace(/\/$/, ''), headers, timeout: opts.timeoutMs ?? 30_000 });
    this.pageSize = opts.pageSize ?? 5000;
    this.retries = opts.retries ?? 5;
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
            status ? `Loki answered ${status} for ${path}: ${body || e.message}` : `Loki unreachable at ${this.opts.url}: ${e.message}`,
            status
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5000)));
      }
    }
  }

  /** One page of a log query, forward from `startNs` (inclusive). */
  async queryRange(query: string, startNs: string, endNs: string, limit = this.pageSize): Promise<LokiStream[]> {
    const body = await this.get<{ data: { resultType: string; result: LokiStream[] } }>('/loki/api/v1/query_range', {
      query,
      start: startNs,
      end: endNs,
      limit,
      direction: 'forward',
    });
    if (body.data.resultType !== 'streams') throw new LokiError(`expected streams, got ${body.data.resultType}`);
    return body.data.result;
  }

  /**
   * Every event matching `filter` in `window`, page by page, in (time, id) order.
   * Pages are yielded as they arrive, so callers can stream without holding all.
   */
  async *readEvents(filter: EventFilter, window: Window): AsyncGenerator<CasefileEvent[]> {
    const query = eventsQuery(filter);
    let start = window.fromNs;
    // Ids already yielded at timestamp `start` (the page edge).
    let edgeIds = new Set<string>();
    for (;;) {
      const { events } = decodeStreams(await this.queryRange(query, start, window.toNs));
      const fresh = events.filter((e) => !(e.timeNs === start && edgeIds.has(e.id)));
      if (fresh.length) yield fresh;
      if (events.length < this.pageSize) return;
      const last = events[events.length - 1].timeNs;
      if (last === start) {
        throw new LokiError(`more than ${this.pageSize} events share timestamp ${start}; raise the page size`);
      }
      edgeIds = new Set(events.filter((e) => e.timeNs === last).map((e) => e.id));
      start = last;
    }
  }

  /** All events of a filter and window in memory (for small windows and tests). */
  async readAll(filter: EventFilter, window: Window): Promise<CasefileEvent[]> {
    const out: CasefileEvent[] = [];
    for await (const page of this.readEvents(filter, window)) out.push(...page);
    return out;
  }

  /** Loki's build version, e.g. "3.7.8". */
  async version(): Promise<string> {
    return (await this.get<{ version: string }>('/loki/api/v1/status/buildinfo', {})).version;
  }
}
