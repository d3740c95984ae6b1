/**
 * The Loki stand-in's own conformance tests: one test per row of the table in
 * test/loki/standin/README.md (the row's number is in the test's name). The
 * ingest rows use the real OpenTelemetry JS exporters (JSON, protobuf, gzip).
 * Against a real Loki (LOKI_URL) the same assertions hold, except the rows that
 * need the stand-in's own process or config (durability, ruler files, limits).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { startLoki, type Loki } from './loki-server';

let loki: Loki;
const NS = 1_000_000_000n;
const now = () => BigInt(Date.now()) * 1_000_000n;
let run = 0;
/** A stream of its own for each test: `service_name` is unique. */
const svc = (t: string) => `standin-${t}-${process.pid}-${++run}`;

before(async () => {
  loki = await startLoki();
});
after(async () => {
  await loki?.stop();
});

type Attrs = Record<string, string | number | boolean>;
interface Rec {
  ts: bigint;
  body: string;
  attrs?: Attrs;
}

async function emit(
  exporter: LogRecordExporter,
  service: string,
  recs: Rec[],
  resource: Attrs = {}
): Promise<void> {
  const failures: string[] = [];
  const wrapped: LogRecordExporter = {
    export: (records, done) =>
      exporter.export(records, (r) => {
        if (r.code !== 0) failures.push(String(r.error));
        done(r);
      }),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  };
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({
      'service.name': service,
      'service.namespace': 'casefile',
      'host.name': 'standin-host',
      ...resource,
    }),
    processors: [new SimpleLogRecordProcessor({ exporter: wrapped })],
  });
  const logger = provider.getLogger('standin-test');
  for (const r of recs)
    logger.emit({
      timestamp: [Number(r.ts / NS), Number(r.ts % NS)],
      body: r.body,
      attributes: r.attrs ?? {},
    });
  await provider.forceFlush();
  await provider.shutdown();
  if (failures.length) throw new Error(failures.join('; '));
}

/** A raw OTLP/JSON push, for requests the SDK would not make. */
async function pushJson(
  service: string,
  records: unknown[],
  resourceAttrs: unknown[] = []
): Promise<Response> {
  return fetch(`${loki.url}/otlp/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceLogs: [
        {
          resource: {
            attributes: [
              { key: 'service.name', value: { stringValue: service } },
              { key: 'service.namespace', value: { stringValue: 'casefile' } },
              ...resourceAttrs,
            ],
          },
          scopeLogs: [{ scope: { name: 't' }, logRecords: records }],
        },
      ],
    }),
  });
}
const rec = (ts: bigint, body: string, attrs: Attrs = {}) => ({
  timeUnixNano: ts.toString(),
  body: { stringValue: body },
  attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: { stringValue: String(v) } })),
});

interface Streams {
  data: {
    resultType: string;
    result: {
      stream: Record<string, string>;
      values: [string, string, { structuredMetadata?: Record<string, string> }?][];
    }[];
    encodingFlags?: string[];
  };
}
async function get(
  path: string,
  params: Record<string, string>,
  headers: Record<string, string> = {}
): Promise<Response> {
  return fetch(`${loki.url}${path}?${new URLSearchParams(params)}`, { headers });
}
async function range(query: string, params: Record<string, string>, categorize = true): Promise<Streams> {
  const r = await get(
    '/loki/api/v1/query_range',
    { query, ...params },
    categorize ? { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' } : {}
  );
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as Streams;
}
const lines = (s: Streams) => s.data.result.flatMap((r) => r.values.map((v) => v[1]));
const sel = (service: string) => `{service_name="${service}"}`;
const win = (from: bigint, to: bigint) => ({ start: from.toString(), end: to.toString() });

test('row 1: OTLP/JSON through the SDK exporter is stored and readable', async () => {
  const s = svc('json');
  const t = now() - 10n * NS;
  await emit(new JsonExporter({ url: `${loki.url}/otlp/v1/logs` }), s, [{ ts: t, body: 'hello json' }]);
  assert.deepEqual(lines(await range(sel(s), { ...win(t, t + 1n), limit: '10' })), ['hello json']);
});

test('row 2: OTLP/protobuf through the SDK exporter is stored and readable', async () => {
  const s = svc('proto');
  const t = now() - 10n * NS + 7n;
  await emit(new ProtoExporter({ url: `${loki.url}/otlp/v1/logs` }), s, [
    { ts: t, body: 'hello proto', attrs: { 'process.pid': 42 } },
  ]);
  const r = await range(sel(s), { ...win(t, t + 1n), limit: '10' });
  assert.deepEqual(lines(r), ['hello proto']);
  assert.equal(r.data.result[0].values[0][0], t.toString(), 'nanoseconds survive');
  assert.equal(r.data.result[0].values[0][2]?.structuredMetadata?.process_pid, '42');
});

test('row 3: gzip-compressed OTLP is accepted', async () => {
  const s = svc('gzip');
  const t = now() - 9n * NS;
  await emit(new JsonExporter({ url: `${loki.url}/otlp/v1/logs`, compression: 'gzip' as never }), s, [
    { ts: t, body: 'zipped' },
  ]);
  assert.deepEqual(lines(await range(sel(s), { ...win(t, t + 1n) })), ['zipped']);
});

test('row 4: unsupported content types and encodings are refused with 415', async () => {
  const r = await fetch(`${loki.url}/otlp/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'x',
  });
  assert.equal(r.status, 415);
  const r2 = await fetch(`${loki.url}/otlp/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
    body: '{}',
  });
  assert.equal(r2.status, 415);
  const r3 = await fetch(`${loki.url}/otlp/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{not json',
  });
  assert.equal(r3.status, 400);
});

test('row 5: indexed resource attributes (Loki defaults + loki.yaml otlp_config) are the stream labels', async () => {
  const s = svc('labels');
  const t = now() - 8n * NS;
  await emit(new JsonExporter({ url: `${loki.url}/otlp/v1/logs` }), s, [{ ts: t, body: 'x' }], {
    'service.instance.id': 'i-1',
    'host.id': 'not-indexed',
  });
  const r = await range(sel(s), win(t, t + 1n));
  assert.deepEqual(r.data.result[0].stream, {
    service_name: s,
    service_namespace: 'casefile',
    service_instance_id: 'i-1',
    host_name: 'standin-host',
  });
  assert.equal(
    r.data.result[0].values[0][2]?.structuredMetadata?.host_id,
    'not-indexed',
    'other resource attributes are metadata'
  );
});

test('row 6: log attributes become structured metadata with normalised names', async () => {
  const s = svc('meta');
  const t = now() - 8n * NS;
  await emit(new JsonExporter({ url: `${loki.url}/otlp/v1/logs` }), s, [
    { ts: t, body: 'x', attrs: { 'casefile.event.id': 'e1', 'k8s.pod.name': 'p-1', 'weird-name/x': 'y' } },
  ]);
  const m = (await range(sel(s), win(t, t + 1n))).data.result[0].values[0][2]?.structuredMetadata ?? {};
  assert.equal(m.casefile_event_id, 'e1');
  assert.equal(m.k8s_pod_name, 'p-1', 'a log attribute is never an index label, even a default one');
  assert.equal(m.weird_name_x, 'y');
});

test('row 7: U+FFFD in structured metadata becomes a space; the line keeps it', async () => {
  const s = svc('fffd');
  const t = now() - 8n * NS;
  await emit(new JsonExporter({ url: `${loki.url}/otlp/v1/logs` }), s, [
    { ts: t, body: 'a\ufffdb', attrs: { v: 'c\ufffdd' } },
  ]);
  const v = (await range(sel(s), win(t, t + 1n))).data.result[0].values[0];
  assert.equal(v[1], 'a\ufffdb');
  assert.equal(v[2]?.structuredMetadata?.v, 'c d');
});

test('row 8: empty attribute values are dropped', async () => {
  const s = svc('empty');
  const t = now() - 8n * NS;
  assert.equal((await pushJson(s, [rec(t, 'x', { keep: 'k', gone: '' })])).status, 204);
  const m = (await range(sel(s), win(t, t + 1n))).data.result[0].values[0][2]?.structuredMetadata ?? {};
  assert.equal(m.keep, 'k');
  assert.equal('gone' in m, false);
});

test('row 9: array attributes are refused as not modelled', async () => {
  const r = await pushJson(svc('array'), [
    {
      ...rec(now(), 'x'),
      attributes: [{ key: 'a', value: { arrayValue: { values: [{ stringValue: '1' }] } } }],
    },
  ]);
  assert.equal(r.status, 400);
  assert.match(await r.text(), /not modelled/);
});

test('row 10: a line over max_line_size is refused with 400; the rest of the push is kept', async () => {
  const s = svc('linesize');
  const t = now() - 7n * NS;
  const r = await pushJson(s, [rec(t, 'x'.repeat(256 * 1024 + 1)), rec(t + 1n, 'small')]);
  assert.equal(r.status, 400);
  assert.match(await r.text(), /Max entry size '262144' bytes exceeded/);
  assert.deepEqual(lines(await range(sel(s), win(t, t + 2n))), ['small']);
});

test('row 11: structured metadata over its size or count limit is refused with 400', async () => {
  const s = svc('metasize');
  const t = now() - 7n * NS;
  const big = await pushJson(s, [rec(t, 'x', { a: 'v'.repeat(512 * 1024) })]);
  assert.equal(big.status, 400);
  assert.match(await big.text(), /structured metadata too large/);
  const many = await pushJson(s, [
    rec(t, 'y', Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, 'v']))),
  ]);
  assert.equal(many.status, 400);
  assert.match(await many.text(), /too many structured metadata labels/);
});

test('row 12: too old (reject_old_samples_max_age) and too new (creation_grace_period) are refused', async () => {
  const s = svc('age');
  const old = await pushJson(s, [rec(now() - 169n * 3600n * NS, 'old')]);
  assert.equal(old.status, 400);
  assert.match(await old.text(), /timestamp too old/);
  const future = await pushJson(s, [rec(now() + 11n * 60n * NS, 'future')]);
  assert.equal(future.status, 400);
  assert.match(await future.text(), /timestamp too new/);
});

test('row 13: an entry older than the stream newest minus max_chunk_age/2 is refused', async () => {
  const s = svc('ooo');
  const t = now() - 60n * NS;
  assert.equal((await pushJson(s, [rec(t, 'new')])).status, 204);
  assert.equal(
    (await pushJson(s, [rec(t - 4n * 60n * NS, 'slightly older')])).status,
    204,
    'within the window: accepted'
  );
  const r = await pushJson(s, [rec(t - 6n * 60n * NS, 'too old for the stream')]);
  assert.equal(r.status, 400);
  assert.match(await r.text(), /entry too far behind/);
});

test('row 14: an exact duplicate of the previous line (same time, same text) is ignored', async () => {
  const s = svc('dup');
  const t = now() - 6n * NS;
  assert.equal(
    (await pushJson(s, [rec(t, 'same', { id: 'a' }), rec(t, 'same', { id: 'b' }), rec(t, 'other')])).status,
    204
  );
  assert.deepEqual(lines(await range(sel(s), { ...win(t, t + 1n), direction: 'forward' })), [
    'same',
    'other',
  ]);
});

test('row 15: query_range covers [start, end): start inclusive, end exclusive', async () => {
  const s = svc('bounds');
  const t = now() - 5n * NS;
  await pushJson(s, [rec(t, 'a'), rec(t + 1n, 'b'), rec(t + 2n, 'c')]);
  assert.deepEqual(lines(await range(sel(s), { ...win(t + 1n, t + 2n), direction: 'forward' })), ['b']);
  assert.deepEqual(lines(await range(sel(s), { ...win(t, t + 3n), direction: 'forward' })), ['a', 'b', 'c']);
});

test('row 16: direction and limit: the first `limit` entries in that direction', async () => {
  const s = svc('dir');
  const t = now() - 5n * NS;
  await pushJson(
    s,
    [1, 2, 3, 4, 5].map((i) => rec(t + BigInt(i), `e${i}`))
  );
  assert.deepEqual(lines(await range(sel(s), { ...win(t, t + 10n), direction: 'forward', limit: '2' })), [
    'e1',
    'e2',
  ]);
  assert.deepEqual(lines(await range(sel(s), { ...win(t, t + 10n), direction: 'backward', limit: '2' })), [
    'e5',
    'e4',
  ]);
  assert.equal(lines(await range(sel(s), win(t, t + 10n))).length, 5, 'default limit 100');
});

test('row 17: a limit over max_entries_limit_per_query is refused with 400', async () => {
  const r = await get('/loki/api/v1/query_range', { query: sel('x'), limit: '5001' });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /max entries limit per query exceeded/);
});

test('row 18: response encodings: categorize-labels keeps metadata per entry; plain merges it into streams', async () => {
  const s = svc('enc');
  const t = now() - 4n * NS;
  await pushJson(s, [rec(t, 'a', { k: '1' }), rec(t + 1n, 'b', { k: '2' })]);
  const cat = await range(sel(s), win(t, t + 2n));
  assert.deepEqual(cat.data.encodingFlags, ['categorize-labels']);
  assert.equal(cat.data.result.length, 1);
  const plain = await range(sel(s), win(t, t + 2n), false);
  assert.equal(plain.data.encodingFlags, undefined);
  assert.deepEqual(plain.data.result.map((r) => r.stream.k).sort(), ['1', '2']);
  assert.equal(plain.data.result[0].values[0].length, 2);
});

test('row 19: metric range queries: count_over_time over (t - range, t] at multiples of the step; sum by, count by, > 0', async () => {
  const s = svc('metric');
  const base = ((now() - 120n * NS) / (10n * NS)) * 10n * NS; // a multiple of 10 s
  // Two entries exactly on a step boundary and one just after it.
  await pushJson(s, [
    rec(base, 'a', { ty: 'x', id: '1' }),
    rec(base + 10n * NS, 'b', { ty: 'x', id: '2' }),
    rec(base + 10n * NS + 1n, 'c', { ty: 'y' }),
  ]);
  const r = await get('/loki/api/v1/query_range', {
    query: `sum by (ty) (count_over_time(${sel(s)} [10s]))`,
    start: (base + 3n * NS).toString(), // unaligned: evaluated at multiples of the step anyway
    end: (base + 30n * NS).toString(),
    step: '10',
  });
  assert.equal(r.status, 200);
  const m = (await r.json()) as {
    data: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  assert.equal(m.data.resultType, 'matrix');
  const sec = Number(base / NS);
  const byTy = Object.fromEntries(m.data.result.map((x) => [x.metric.ty, x.values]));
  assert.deepEqual(
    byTy.x,
    [
      [sec, '1'],
      [sec + 10, '1'],
    ],
    '(t - 10s, t]: the entry at t counts at t, not at t + 10s'
  );
  assert.deepEqual(byTy.y, [[sec + 20, '1']]);
  const cmp = await get('/loki/api/v1/query_range', {
    query: `sum by (ty) (count_over_time(${sel(s)} [1m])) > 1`,
    ...win(base, base + 30n * NS),
    step: '10',
  });
  const cm = (await cmp.json()) as {
    data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  assert.deepEqual(
    cm.data.result.map((x) => x.metric.ty),
    ['x']
  );
  const cnt = await get('/loki/api/v1/query', {
    query: `count by (ty) (count_over_time(${sel(s)} [1m]))`,
    time: (base + 30n * NS).toString(),
  });
  const cv = (await cnt.json()) as {
    data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  assert.equal(cv.data.resultType, 'vector');
  assert.deepEqual(
    Object.fromEntries(cv.data.result.map((x) => [x.metric.ty, x.value[1]])),
    { x: '2', y: '1' },
    'count by counts series (one per distinct label set)'
  );
});

test('row 20: more than 11,000 points per series is refused with 400', async () => {
  const r = await get('/loki/api/v1/query_range', {
    query: `count_over_time(${sel('x')} [1m])`,
    start: String(now() - 12000n * NS),
    end: String(now()),
    step: '1',
  });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /11,000 points/);
});

test('row 21: more series than max_query_series is refused with 400', async () => {
  const s = svc('series');
  const t = now() - 3n * NS;
  const n = 10_001;
  for (let i = 0; i < n; i += 2000)
    assert.equal(
      (
        await pushJson(
          s,
          Array.from({ length: Math.min(2000, n - i) }, (_, j) =>
            rec(t + BigInt(i + j), `l${i + j}`, { id: `i${i + j}` })
          )
        )
      ).status,
      204
    );
  const r = await get('/loki/api/v1/query', {
    query: `count_over_time(${sel(s)} [1m])`,
    time: String(t + BigInt(n)),
  });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /maximum number of series \(10000\)/);
});

test('row 22: instant queries answer vectors; a log query on the instant API is refused', async () => {
  const r = await get('/loki/api/v1/query', { query: sel('x') });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /log queries are not supported as an instant query type/);
});

test('row 23: syntax errors, unmodelled LogQL and empty-compatible selectors are 400s', async () => {
  for (const [q, re] of [
    ['{a="b"', /parse error/],
    ['{a="b"} | json', /not modelled/],
    ['rate({a="b"}[1m])', /not modelled/],
    ['{a=~".*"}', /at least one regexp or equality matcher/],
  ] as const) {
    const r = await get('/loki/api/v1/query_range', { query: q });
    assert.equal(r.status, 400, q);
    assert.match(await r.text(), re, q);
  }
});

test('row 24: line filters (|= != |~ !~, RE2 with (?i)) and label filters (anchored regex, missing label = "")', async () => {
  const s = svc('filters');
  const t = now() - 2n * NS;
  await pushJson(s, [
    rec(t, 'Alpha one', { c: 'web' }),
    rec(t + 1n, 'beta two', { c: 'web-2' }),
    rec(t + 2n, 'gamma three'),
  ]);
  const q = async (pipeline: string) =>
    lines(await range(`${sel(s)} ${pipeline}`, { ...win(t, t + 3n), direction: 'forward' }));
  assert.deepEqual(await q('|= "one"'), ['Alpha one']);
  assert.deepEqual(await q('!= "one"'), ['beta two', 'gamma three']);
  assert.deepEqual(await q('|~ "(?i)alpha"'), ['Alpha one']);
  assert.deepEqual(await q('!~ "t[wh]"'), ['Alpha one']);
  assert.deepEqual(await q('| c="web"'), ['Alpha one']);
  assert.deepEqual(await q('| c=~"web"'), ['Alpha one'], 'label regexes are anchored');
  assert.deepEqual(await q('| c=~"web.*"'), ['Alpha one', 'beta two']);
  assert.deepEqual(await q('| c=""'), ['gamma three'], 'a missing label equals ""');
  assert.deepEqual(await q('| c!="web"'), ['beta two', 'gamma three']);
  assert.deepEqual(
    await q('|= "a\\x20t"'),
    ['beta two', 'gamma three'].filter((l) => l.includes('a t')),
    'Go string escapes'
  );
});

test('row 25: labels and label values list stream labels with entries in the range', async () => {
  const s = svc('names');
  const t = now() - 2n * NS;
  await pushJson(s, [rec(t, 'x', { meta_only: 'm' })]);
  const r = (await (await get('/loki/api/v1/labels', win(t, t + 1n))).json()) as { data: string[] };
  assert.ok(r.data.includes('service_name'));
  assert.equal(r.data.includes('meta_only'), false, 'structured metadata is not a label name');
  const v = (await (await get('/loki/api/v1/label/service_name/values', win(t, t + 1n))).json()) as {
    data: string[];
  };
  assert.ok(v.data.includes(s));
});

test('row 26: ready and buildinfo', async () => {
  assert.equal((await fetch(`${loki.url}/ready`)).status, 200);
  const b = (await (await fetch(`${loki.url}/loki/api/v1/status/buildinfo`)).json()) as { version: string };
  assert.equal(typeof b.version, 'string');
});

test(
  'row 27: anything else is refused: unknown paths 404, wrong methods 405',
  { skip: !process.env.LOKI_URL ? false : 'a real Loki has more endpoints' },
  async () => {
    const r = await fetch(`${loki.url}/loki/api/v1/series`);
    assert.equal(r.status, 404);
    assert.match(await r.text(), /not modelled by the Loki stand-in/);
    assert.equal((await fetch(`${loki.url}/otlp/v1/logs`)).status, 405);
  }
);

test(
  'row 28: what was acknowledged survives SIGKILL and a restart on the same data dir',
  { skip: process.env.LOKI_URL ? 'needs the stand-in process' : false },
  async () => {
    const { mkdtempSync, rmSync, appendFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'casefile-standin-durable-'));
    let l = await startLoki({ dataDir: dir });
    try {
      const t = now() - NS;
      const r = await fetch(`${l.url}/otlp/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          resourceLogs: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'durable' } }] },
              scopeLogs: [{ logRecords: [rec(t, 'kept')] }],
            },
          ],
        }),
      });
      assert.equal(r.status, 204);
      await l.stop({ signal: 'SIGKILL', keepData: true });
      appendFileSync(join(dir, 'standin-wal', 'wal.jsonl'), '[[{"service_name":"torn"'); // a write cut by the kill
      l = await startLoki({ dataDir: dir, httpPort: l.httpPort });
      const got = await fetch(
        `${l.url}/loki/api/v1/query_range?${new URLSearchParams({ query: '{service_name="durable"}', ...win(t, t + 1n) })}`
      );
      assert.deepEqual(lines((await got.json()) as Streams), ['kept']);
    } finally {
      await l.stop({ keepData: false });
      rmSync(dir, { recursive: true, force: true });
    }
  }
);

test(
  'row 29: the ruler loads rules/<tenant>/*.yaml, serves them, fires with `for`, posts to Alertmanager v2 and resolves',
  { skip: process.env.LOKI_URL ? 'needs the stand-in ruler' : false },
  async () => {
    const { createServer } = await import('node:http');
    const { writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { freePort } = await import('./loki-server');
    const posts: { labels: Record<string, string>; annotations: Record<string, string>; endsAt?: string }[] =
      [];
    const am = createServer((req, res) => {
      let b = '';
      req.on('data', (d) => (b += d));
      req.on('end', () => {
        if (req.url === '/api/v2/alerts') posts.push(...JSON.parse(b));
        res.writeHead(200).end();
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => am.listen(port, '127.0.0.1', r));
    const s = svc('ruler');
    let l: Loki | undefined;
    try {
      const { mkdtempSync, cpSync, mkdirSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const dir = mkdtempSync(join(tmpdir(), 'casefile-standin-ruler-'));
      mkdirSync(join(dir, 'rules', 'fake'), { recursive: true });
      cpSync(join(import.meta.dirname, '../../provisioning/loki/rules'), join(dir, 'rules'), {
        recursive: true,
      });
      writeFileSync(
        join(dir, 'rules', 'fake', 'zz-test.yaml'),
        `groups:\n  - name: t\n    rules:\n      - alert: T\n        expr: sum by (c) (count_over_time({service_name="${s}"} [2s])) > 0\n        for: 1s\n        labels: { team: x }\n        annotations: { summary: "{{ $labels.c }} has {{ $value }}" }\n` +
          // A second rule of the same name that never matches must not clear the first one's alert.
          `      - alert: T\n        expr: sum by (c) (count_over_time({service_name="${s}-none"} [2s])) > 0\n`
      );
      l = await startLoki({
        dataDir: dir,
        rulerInterval: '500ms',
        alertmanagerUrl: `http://127.0.0.1:${port}`,
      });
      assert.match(await (await fetch(`${l.url}/loki/api/v1/rules`)).text(), /alert: T\b/);
      await fetch(`${l.url}/otlp/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          resourceLogs: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: s } }] },
              scopeLogs: [{ logRecords: [rec(now(), 'x', { c: 'web' })] }],
            },
          ],
        }),
      });
      const until = async (f: () => boolean, ms: number) => {
        for (const end = Date.now() + ms; !f() && Date.now() < end;)
          await new Promise((r) => setTimeout(r, 100));
        return f();
      };
      assert.ok(
        await until(() => posts.some((p) => p.labels.alertname === 'T' && !p.endsAt), 10_000),
        'fired after `for`'
      );
      const fired = posts.find((p) => p.labels.alertname === 'T')!;
      assert.deepEqual(fired.labels, { alertname: 'T', c: 'web', team: 'x' });
      assert.equal(fired.annotations.summary, 'web has 1');
      assert.ok(
        await until(() => posts.some((p) => p.labels.alertname === 'T' && p.endsAt), 10_000),
        'resolved once the entry left the range'
      );
      rmSync(dir, { recursive: true, force: true });
    } finally {
      await l?.stop();
      am.close();
    }
  }
);

test('row 30: time parameters: integer ns, <= 10-digit seconds, float seconds, RFC 3339', async () => {
  const s = svc('times');
  const t = (now() / NS - 3n) * NS; // a whole second
  await pushJson(s, [rec(t, 'on the second')]);
  const forms = [
    [t.toString(), (t + 1n).toString()],
    [String(t / NS), String(t / NS + 1n)],
    [`${t / NS}.000`, `${t / NS}.5`],
    [new Date(Number(t / 1_000_000n)).toISOString(), new Date(Number(t / 1_000_000n) + 1).toISOString()],
  ];
  for (const [start, end] of forms)
    assert.deepEqual(lines(await range(sel(s), { start, end })), ['on the second'], `${start}..${end}`);
});

test('row 31: a range longer than max_query_length is refused with 400', async () => {
  const r = await get('/loki/api/v1/query_range', {
    query: sel('x'),
    start: String(now() - 722n * 3600n * NS),
    end: String(now()),
  });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /query time range exceeds the limit/);
});
