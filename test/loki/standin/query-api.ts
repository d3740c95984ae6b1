/**
 * Loki's query endpoints as the stand-in models them (docs: reference/loki-http-api):
 * `query_range`, `query`, `labels`, `label/<name>/values`. Parameters and their
 * defaults, limits and error wording follow that page and limits_config.
 */
import { parseDurationNs, type StandinConfig } from './config';
import { HttpError } from './http-error';
import { evaluateMetric, selectEntries, type Hit, type Series } from './logql/evaluate';
import { parseQuery, type LogQuery } from './logql/parse';
import type { Store } from './store';

type Params = URLSearchParams;
const NS = 1_000_000_000n;

/** Loki's timestamp parameters: RFC 3339, float seconds, or an integer (<= 10 digits: seconds, else ns). */
export function parseTime(v: string | null, def: bigint, name: string): bigint {
  if (v === null || v === '') return def;
  if (/^-?\d+$/.test(v)) return v.replace('-', '').length <= 10 ? BigInt(v) * NS : BigInt(v);
  if (/^-?\d+\.\d+$/.test(v)) {
    const [s, f] = v.split('.');
    return BigInt(s) * NS + BigInt((f + '000000000').slice(0, 9)) * (v.startsWith('-') ? -1n : 1n);
  }
  const ms = Date.parse(v);
  if (Number.isNaN(ms))
    throw new HttpError(400, `invalid parameter "${name}": cannot parse "${v}" to a valid timestamp`);
  const frac = /\.(\d+)/.exec(v)?.[1] ?? '';
  return BigInt(Math.floor(ms / 1000)) * NS + BigInt((frac + '000000000').slice(0, 9));
}

function parseStep(v: string | null, startNs: bigint, endNs: bigint): bigint {
  if (v === null || v === '') {
    // Loki's default step: (end - start) / 250, at least 1 s.
    const s = (endNs - startNs) / 250n / NS;
    return (s > 1n ? s : 1n) * NS;
  }
  const step = /^\d+(\.\d+)?$/.test(v) ? BigInt(Math.round(Number(v) * 1e9)) : parseDurationNs(v);
  if (step <= 0n)
    throw new HttpError(
      400,
      'zero or negative query resolution step widths are not accepted. Try a positive integer'
    );
  return step;
}

function parseLimit(v: string | null, cfg: StandinConfig): number {
  const limit = v === null || v === '' ? 100 : Number(v);
  if (!Number.isInteger(limit) || limit <= 0) throw new HttpError(400, 'limit must be a positive value');
  const max = cfg.limits.maxEntriesLimitPerQuery;
  if (limit > max)
    throw new HttpError(
      400,
      `max entries limit per query exceeded, limit > max_entries_limit_per_query (${limit} > ${max})`
    );
  return limit;
}

function parseDirection(v: string | null): 'forward' | 'backward' {
  if (v === null || v === '' || v === 'backward' || v === 'BACKWARD') return 'backward';
  if (v === 'forward' || v === 'FORWARD') return 'forward';
  throw new HttpError(400, `invalid direction "${v}"`);
}

const seconds = (ns: bigint) => Number(ns / 1_000_000n) / 1000;

/**
 * Streams as Loki encodes them: with `categorize-labels`, stream labels only and
 * structured metadata per entry; without it, metadata merged into the stream's
 * labels (one result stream per distinct label set).
 */
function streamsResult(hits: Hit[], categorize: boolean) {
  const out = new Map<string, { stream: Record<string, string>; values: unknown[] }>();
  for (const { stream, entry } of hits) {
    const labels = categorize ? stream.labels : { ...stream.labels, ...entry.meta };
    const key = categorize ? stream.key : JSON.stringify(Object.entries(labels).sort());
    let s = out.get(key);
    if (!s) out.set(key, (s = { stream: labels, values: [] }));
    const ts = entry.ts.toString();
    if (!categorize) s.values.push([ts, entry.line]);
    else
      s.values.push(
        Object.keys(entry.meta).length
          ? [ts, entry.line, { structuredMetadata: entry.meta }]
          : [ts, entry.line, {}]
      );
  }
  return [...out.values()];
}

function sortSeries(series: Series[]): Series[] {
  return series.sort((a, b) => (JSON.stringify(a.metric) < JSON.stringify(b.metric) ? -1 : 1));
}

export class QueryApi {
  constructor(
    private readonly store: Store,
    private readonly cfg: StandinConfig
  ) {}

  private checkLength(startNs: bigint, endNs: bigint): void {
    const max = this.cfg.limits.maxQueryLengthNs;
    if (max > 0n && endNs - startNs > max)
      throw new HttpError(
        400,
        `the query time range exceeds the limit (query length: ${(endNs - startNs) / NS}s, limit: ${max / NS}s)`
      );
  }

  /** GET|POST /loki/api/v1/query_range */
  queryRange(p: Params, categorize: boolean, now: bigint) {
    const query = p.get('query');
    if (!query) throw new HttpError(400, 'query parameter is required');
    const endNs = parseTime(p.get('end'), now, 'end');
    const startNs = parseTime(p.get('start'), endNs - 3600n * NS, 'start');
    if (endNs < startNs) throw new HttpError(400, 'end timestamp must not be before or equal to start time');
    if (p.get('interval'))
      throw new HttpError(400, 'not modelled by the Loki stand-in: the interval parameter');
    this.checkLength(startNs, endNs);
    const q = parseQuery(query);
    if (q.kind === 'log') {
      const hits = selectEntries(
        this.store,
        q,
        startNs,
        endNs,
        parseLimit(p.get('limit'), this.cfg),
        parseDirection(p.get('direction'))
      );
      return this.answer('streams', streamsResult(hits, categorize), categorize);
    }
    const step = parseStep(p.get('step'), startNs, endNs);
    if ((endNs - startNs) / step > 11000n)
      throw new HttpError(
        400,
        'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)'
      );
    // Evaluated at multiples of the step (measured on Loki 3.7.8, MACHINE.md; the query
    // frontend's step alignment): start and end rounded down to a multiple.
    const times: bigint[] = [];
    for (let t = (startNs / step) * step; t <= (endNs / step) * step; t += step) if (t >= 0n) times.push(t);
    const series = sortSeries(evaluateMetric(this.store, q, times, this.cfg.limits.maxQuerySeries));
    return this.answer(
      'matrix',
      series.map((s) => ({
        metric: s.metric,
        values: [...s.points].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([t, v]) => [seconds(t), String(v)]),
      })),
      false
    );
  }

  /** GET|POST /loki/api/v1/query (instant) */
  query(p: Params, now: bigint) {
    const query = p.get('query');
    if (!query) throw new HttpError(400, 'query parameter is required');
    const t = parseTime(p.get('time'), now, 'time');
    const q = parseQuery(query);
    if (q.kind === 'log')
      throw new HttpError(
        400,
        'log queries are not supported as an instant query type, please change your query to a range query type'
      );
    return this.answer('vector', this.instant(q, t), false);
  }

  /** An instant metric evaluation, also used by the ruler. */
  instant(q: Exclude<ReturnType<typeof parseQuery>, LogQuery>, t: bigint) {
    return sortSeries(evaluateMetric(this.store, q, [t], this.cfg.limits.maxQuerySeries)).map((s) => ({
      metric: s.metric,
      value: [seconds(t), String(s.points.get(t))] as [number, string],
    }));
  }

  /** GET /loki/api/v1/labels: stream label names with entries in [start, end) (default: the last 6 h). */
  labels(p: Params, now: bigint) {
    const endNs = parseTime(p.get('end'), now, 'end');
    const startNs = parseTime(p.get('start'), endNs - 6n * 3600n * NS, 'start');
    const names = new Set<string>();
    for (const s of this.streamsIn(startNs, endNs)) for (const k of Object.keys(s.labels)) names.add(k);
    return { status: 'success', data: [...names].sort() };
  }

  /** GET /loki/api/v1/label/<name>/values */
  labelValues(name: string, p: Params, now: bigint) {
    const endNs = parseTime(p.get('end'), now, 'end');
    const startNs = parseTime(p.get('start'), endNs - 6n * 3600n * NS, 'start');
    const values = new Set<string>();
    for (const s of this.streamsIn(startNs, endNs))
      if (s.labels[name] !== undefined) values.add(s.labels[name]);
    return { status: 'success', data: [...values].sort() };
  }

  private *streamsIn(startNs: bigint, endNs: bigint) {
    for (const s of this.store.streams.values()) {
      const i = s.lowerBound(startNs);
      if (i < s.entries.length && s.ordered()[i].ts < endNs) yield s;
    }
  }

  private answer(resultType: string, result: unknown, categorize: boolean) {
    return {
      status: 'success',
      data: {
        resultType,
        result,
        stats: {},
        ...(categorize ? { encodingFlags: ['categorize-labels'] } : {}),
      },
    };
  }
}
