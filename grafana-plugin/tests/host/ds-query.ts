/**
 * STAND-IN FOR GRAFANA'S BACKEND: `POST /api/ds/query` for a Loki data source
 * (grafana pkg/tsdb/loki). Each query goes to the real Loki's query_range / query API
 * with Grafana's step rules and the `categorize-labels` encoding flag; the answer
 * comes back as wire data frames the way Grafana shapes them: one log frame per query
 * (labels, Time, Line, tsNs, labelTypes, id) and one time series frame per metric series
 * (Time, Value with labels). A Loki error becomes `results.<refId>.error` with its status.
 */
import { createHash } from 'node:crypto';

export interface DsQuery {
  refId: string;
  expr: string;
  queryType?: 'range' | 'instant';
  maxLines?: number;
  step?: string;
  direction?: 'backward' | 'forward';
  legendFormat?: string;
  intervalMs?: number;
}

type Frame = { schema: Record<string, unknown>; data: { values: unknown[][] } };
type Result = { status: number; frames?: Frame[]; error?: string; errorSource?: string };

/** `now-1h`, `now`, or epoch ms (number or string) -> epoch ms. */
export function parseGrafanaTime(v: string | number, now = Date.now()): number {
  if (typeof v === 'number' || /^\d+$/.test(v)) return Number(v);
  const m = /^now(?:-(\d+)([smhd]))?$/.exec(v);
  if (!m) throw new Error(`unsupported time ${v}`);
  if (!m[1]) return now;
  return now - Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2] as 's']!;
}

/** Grafana interval string (`30s`, `1m`, `500ms`, or bare seconds) -> ms. */
function durationMs(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) throw new Error(`invalid step ${s}`);
  return Number(m[1]) * { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[(m[2] ?? 's') as 's'];
}

/** Loki refuses more than 11,000 points per series; Grafana's step never asks for more. */
function stepMs(q: DsQuery, rangeMs: number): number {
  const safe = Math.ceil(rangeMs / 11_000 / 1000) * 1000;
  const wanted = q.step ? durationMs(q.step) : (q.intervalMs ?? 1000);
  return Math.max(wanted, safe, 1);
}

const field = (name: string, type: string, frame: string, extra: Record<string, unknown> = {}) => ({
  name,
  type,
  typeInfo: { frame },
  ...extra,
});

function legend(format: string | undefined, labels: Record<string, string>): string | undefined {
  if (!format) return undefined;
  return format.replace(/\{\{\s*(.+?)\s*\}\}/g, (_, k: string) => labels[k] ?? '');
}

function logsFrame(q: DsQuery, result: any[], executed: string): Frame {
  const rows: { ns: string; line: string; labels: Record<string, string>; types: Record<string, string> }[] =
    [];
  for (const s of result) {
    for (const [ns, line, cat] of s.values as [string, string, any?][]) {
      const labels: Record<string, string> = { ...s.stream };
      const types: Record<string, string> = Object.fromEntries(Object.keys(s.stream).map((k) => [k, 'I']));
      for (const [k, v] of Object.entries(cat?.structuredMetadata ?? {}))
        ((labels[k] = v as string), (types[k] = 'S'));
      for (const [k, v] of Object.entries(cat?.parsed ?? {})) ((labels[k] = v as string), (types[k] = 'P'));
      rows.push({ ns, line, labels, types });
    }
  }
  const dir = q.direction === 'forward' ? 1 : -1;
  rows.sort((a, b) => dir * (BigInt(a.ns) < BigInt(b.ns) ? -1 : BigInt(a.ns) > BigInt(b.ns) ? 1 : 0));
  const id = (r: (typeof rows)[number]) =>
    `${r.ns}_${createHash('sha256').update(JSON.stringify(r.labels)).update(r.line).digest('hex').slice(0, 8)}`;
  return {
    schema: {
      refId: q.refId,
      meta: { type: 'log-lines', typeVersion: [0, 0], executedQueryString: executed },
      fields: [
        field('labels', 'other', 'json.RawMessage'),
        field('Time', 'time', 'time.Time'),
        field('Line', 'string', 'string'),
        field('tsNs', 'string', 'string'),
        field('labelTypes', 'other', 'json.RawMessage', { config: { custom: { hidden: true } } }),
        field('id', 'string', 'string'),
      ],
    },
    data: {
      values: [
        rows.map((r) => r.labels),
        rows.map((r) => Number(BigInt(r.ns) / 1_000_000n)),
        rows.map((r) => r.line),
        rows.map((r) => r.ns),
        rows.map((r) => r.types),
        rows.map(id),
      ],
    },
  };
}

function seriesFrames(q: DsQuery, result: any[], executed: string, step: number, vector: boolean): Frame[] {
  return result.map((s) => {
    const points: [number, string][] = vector ? [s.value] : s.values;
    const name = legend(q.legendFormat, s.metric);
    return {
      schema: {
        refId: q.refId,
        ...(name ? { name } : {}),
        meta: {
          type: vector ? 'numeric-multi' : 'timeseries-multi',
          typeVersion: [0, 1],
          executedQueryString: executed,
        },
        fields: [
          field('Time', 'time', 'time.Time', { config: { interval: step } }),
          field('Value', 'number', 'float64', {
            labels: s.metric,
            config: name ? { displayNameFromDS: name } : {},
          }),
        ],
      },
      data: { values: [points.map((p) => Math.round(Number(p[0]) * 1000)), points.map((p) => Number(p[1]))] },
    };
  });
}

async function runOne(lokiUrl: string, q: DsQuery, fromMs: number, toMs: number): Promise<Result> {
  const instant = q.queryType === 'instant';
  const step = stepMs(q, toMs - fromMs);
  const p = new URLSearchParams({
    query: q.expr,
    limit: String(q.maxLines ?? 1000),
    direction: q.direction ?? 'backward',
  });
  if (instant) p.set('time', `${BigInt(toMs) * 1_000_000n}`);
  else {
    p.set('start', `${BigInt(fromMs) * 1_000_000n}`);
    p.set('end', `${BigInt(toMs) * 1_000_000n}`);
    p.set('step', `${step / 1000}`);
  }
  const path = instant ? 'query' : 'query_range';
  const res = await fetch(`${lokiUrl}/loki/api/v1/${path}?${p}`, {
    headers: { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' },
  });
  const text = await res.text();
  if (!res.ok) return { status: res.status, error: text.trim(), errorSource: 'downstream' };
  const body = JSON.parse(text);
  const executed = `Expr: ${q.expr}${instant ? '' : `\nStep: ${step / 1000}s`}`;
  const { resultType, result } = body.data;
  if (resultType === 'streams') return { status: 200, frames: [logsFrame(q, result, executed)] };
  return { status: 200, frames: seriesFrames(q, result, executed, step, resultType === 'vector') };
}

/** Answer a `/api/ds/query` body; the HTTP status is the first failed query's, as in Grafana. */
export async function handleDsQuery(
  lokiUrl: string,
  body: { from: string; to: string; queries: DsQuery[] }
): Promise<{ status: number; json: { results: Record<string, Result> } }> {
  const from = parseGrafanaTime(body.from);
  const to = parseGrafanaTime(body.to);
  const results: Record<string, Result> = {};
  let status = 200;
  await Promise.all(
    body.queries.map(async (q) => {
      const r = await runOne(lokiUrl, q, from, to).catch((e: Error) => ({ status: 502, error: e.message }));
      results[q.refId] = r;
      if (r.error && status === 200) status = r.status;
    })
  );
  return { status, json: { results } };
}
