/**
 * schema's DeliveryProcessor under a real LoggerProvider, through the stock
 * OTLP exporters into the Loki stand-in (or LOKI_URL), read back with the
 * server's reader: every record once in both encodings, a record Loki
 * refuses for good isolated and dropped alone, retries through an outage,
 * back-pressure, the linger, and a bounded shutdown.
 */
import { deepStrictEqual, equal, ok, rejects } from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  EVENT_ID_ATTR,
  makeEvent,
  msToNs,
  resourceAttributes,
  toLogRecord,
  type CasefileEvent,
} from '@casefile/schema';
import {
  createLogExporter,
  DeliveryProcessor,
  MemoryQueue,
  otlpProtocol,
  type DeliveryHooks,
  type DeliveryOptions,
  type OtlpProtocol,
} from '@casefile/schema/otel';
import { freePort, startLoki, type Loki } from '../loki/loki-server';
import { readEvents } from '../loki/read';

let loki: Loki;
before(async () => {
  loki = await startLoki({ httpPort: await freePort() });
});
after(async () => {
  await loki?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** `n` process.start events of `run`, one microsecond apart (distinct lines, distinct times). */
function events(run: string, n: number): CasefileEvent[] {
  const t0 = Date.now() - 60_000;
  return Array.from({ length: n }, (_, i) =>
    makeEvent({
      id: `${run}-${i}`,
      type: 'process.start',
      timeNs: (BigInt(msToNs(t0)) + BigInt(i) * 1000n).toString(),
      pid: 1000 + i,
      executable: '/bin/sh',
      message: `${run} event ${i}`,
    })
  );
}

/** A provider for `host` whose one processor is a DeliveryProcessor into Loki; requests recorded. */
function pipeline(
  host: string,
  opts: Partial<DeliveryOptions<never>> & { protocol?: OtlpProtocol; url?: string; timeoutMs?: number } = {}
) {
  const requests: number[] = [];
  const retries: string[] = [];
  const rejected: ReadableLogRecord[] = [];
  const dropped: Array<[number, string]> = [];
  const hooks: DeliveryHooks = {
    onExport: (e) => e.ok && requests.push(e.records.length),
    onRetry: (e) => retries.push(e.error),
    onRejected: (r) => rejected.push(r),
    onDropped: (n, why) => dropped.push([n, why]),
  };
  const delivery = new DeliveryProcessor({
    queue: new MemoryQueue(opts.maxBatchRecords ? opts.maxBatchRecords * 8 : 65_536),
    hooks,
    ...opts,
    exporter: createLogExporter({
      url: opts.url ?? `${loki.url}/otlp/v1/logs`,
      protocol: opts.protocol,
      timeoutMs: opts.timeoutMs,
    }),
  });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(resourceAttributes({ serviceName: 'casefile-test-delivery', host })),
    processors: [delivery],
  });
  const logger = provider.getLogger('delivery-test');
  return { delivery, provider, logger, requests, retries, rejected, dropped };
}

async function idsInLoki(host: string, expect: number): Promise<Map<string, number>> {
  return until(
    `${expect} events of ${host} in Loki`,
    async () => {
      const got = await readEvents(
        loki.url,
        { scope: { host } },
        { fromNs: msToNs(Date.now() - 3_600_000), toNs: msToNs(Date.now() + 60_000) }
      );
      if (got.length < expect) return undefined;
      const m = new Map<string, number>();
      for (const e of got) m.set(e.id, (m.get(e.id) ?? 0) + 1);
      return m;
    },
    30_000
  );
}

for (const protocol of ['http/json', 'http/protobuf'] as const)
  test(`${protocol}: 5,000 records in batches of at most 1,000, each exactly once`, async () => {
    const host = `delivery-${protocol.replace('/', '-')}-${Date.now()}`;
    const p = pipeline(host, { protocol, maxBatchRecords: 1000 });
    const sent = events('d', 5000);
    for (const e of sent) p.logger.emit(toLogRecord(e));
    await p.delivery.forceFlush();
    equal(p.delivery.depth, 0);
    equal(p.delivery.exported, 5000);
    ok(
      p.requests.every((n) => n <= 1000),
      `requests: ${p.requests}`
    );
    ok(p.requests.length >= 5, `requests: ${p.requests}`);
    await p.provider.shutdown();
    const ids = await idsInLoki(host, 5000);
    equal(ids.size, 5000);
    for (const e of sent) equal(ids.get(e.id), 1, e.id);
  });

test('otlpProtocol: the logs variable first, then the general one; anything else refused', () => {
  equal(otlpProtocol({}), 'http/json');
  equal(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }), 'http/protobuf');
  equal(
    otlpProtocol({
      OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    }),
    'http/json'
  );
  let msg = '';
  try {
    otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
  } catch (err) {
    msg = (err as Error).message;
  }
  ok(msg.includes('OTEL_EXPORTER_OTLP_PROTOCOL=grpc'), msg);
});

test('a record Loki refuses for good is isolated by splitting and dropped alone; the other 199 arrive once', async () => {
  const host = `delivery-refused-${Date.now()}`;
  const p = pipeline(host, { maxBatchRecords: 200 });
  const sent = events('r', 200);
  for (const [i, e] of sent.entries()) {
    const r = toLogRecord(e);
    // An array attribute: the stand-in refuses the request (400, not modelled); a real Loki flattens
    // it and takes it, so there the check is only that nothing is lost.
    if (i === 137) (r.attributes as Record<string, unknown>)['casefile.test.array'] = ['a', 'b'];
    p.logger.emit(r);
  }
  await p.delivery.forceFlush();
  await p.provider.shutdown();
  if (loki.standin) {
    equal(p.delivery.rejected, 1);
    equal(p.rejected.length, 1);
    equal(p.rejected[0].attributes[EVENT_ID_ATTR], 'r-137');
    ok(p.retries.length === 0, 'a permanent refusal is not retried');
    const ids = await idsInLoki(host, 199);
    equal(ids.size, 199);
    ok(!ids.has('r-137'));
    for (const [id, n] of ids) equal(n, 1, id);
  } else {
    equal(p.delivery.rejected, 0);
    equal((await idsInLoki(host, 200)).size, 200);
  }
});

test('Loki away: retried with backoff, emitting waits past the high water, all delivered once when it is back', async () => {
  const host = `delivery-outage-${Date.now()}`;
  const p = pipeline(host, { maxBatchRecords: 100, highWaterRecords: 300 });
  const port = loki.httpPort;
  const dataDir = loki.dataDir;
  await loki.stop({ keepData: true });
  try {
    const sent = events('o', 1000);
    let i = 0;
    for (; i < 400; i++) p.logger.emit(toLogRecord(sent[i]));
    ok(p.delivery.backlogged, 'past the high water');
    let writable = false;
    const waiting = p.delivery.whenWritable().then(() => (writable = true));
    await until('two retries', () => (p.retries.length >= 2 ? true : undefined), 20_000);
    equal(writable, false, 'still waiting while Loki is away');
    ok(p.delivery.lastError, 'the export error is kept');
    loki = await startLoki({ dataDir, httpPort: port });
    await waiting;
    for (; i < sent.length; i++) p.logger.emit(toLogRecord(sent[i]));
    await p.delivery.forceFlush();
    equal(p.delivery.lastError, undefined, 'cleared by the next success');
    await p.provider.shutdown();
    equal(p.delivery.dropped, 0);
    const ids = await idsInLoki(host, 1000);
    equal(ids.size, 1000);
    for (const [id, n] of ids) equal(n, 1, id);
  } finally {
    if (!(await fetch(`${loki.url}/ready`).catch(() => undefined)))
      loki = await startLoki({ dataDir, httpPort: port });
  }
});

test('a partial batch waits for the linger; a full one goes at once', async () => {
  const host = `delivery-linger-${Date.now()}`;
  const p = pipeline(host, { maxBatchRecords: 50, lingerMs: 400 });
  const sent = events('l', 60);
  const t0 = Date.now();
  p.logger.emit(toLogRecord(sent[0]));
  await until('the lingered request', () => (p.requests.length ? true : undefined), 10_000);
  ok(Date.now() - t0 >= 350, `sent after ${Date.now() - t0} ms, before the 400 ms linger`);
  deepStrictEqual(p.requests, [1]);

  const slow = pipeline(host, { maxBatchRecords: 50, lingerMs: 20_000 });
  const t1 = Date.now();
  for (const e of sent.slice(1, 51)) slow.logger.emit(toLogRecord(e));
  await until('the full batch', () => (slow.requests.length ? true : undefined), 15_000);
  ok(Date.now() - t1 < 15_000, 'a full batch does not wait for the 20 s linger');
  deepStrictEqual(slow.requests, [50]);
  await Promise.all([p.provider.shutdown(), slow.provider.shutdown()]);
});

test('endpoint down: forceFlush times out naming the error; shutdown is bounded and a memory queue reports what it leaves', async () => {
  // A port nobody listens on: every request is refused at once (the exporter retries inside its 300 ms).
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  const p = pipeline('delivery-down', {
    url: `http://127.0.0.1:${port}/otlp/v1/logs`,
    timeoutMs: 300,
    flushTimeoutMs: 3000,
    shutdownTimeoutMs: 1500,
  });
  for (const e of events('s', 10)) p.logger.emit(toLogRecord(e));
  await rejects(
    p.delivery.forceFlush(),
    /10 records still queued after 3000 ms; last export error: .*ECONNREFUSED/
  );
  ok(p.retries.length >= 1, 'retried');
  const t0 = Date.now();
  await p.provider.shutdown();
  ok(Date.now() - t0 < 2500, `shutdown took ${Date.now() - t0} ms (bound 1500 ms)`);
  deepStrictEqual(p.dropped, [[10, 'shutdown']]);
  equal(p.delivery.dropped, 10);
  equal(p.delivery.exported, 0);
});

test('shutdown does not wait past its bound for a request in flight', async () => {
  // An endpoint that takes the request and never answers.
  const srv = createServer(() => undefined);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const port = (srv.address() as { port: number }).port;
    const p = pipeline('delivery-hung', {
      url: `http://127.0.0.1:${port}/otlp/v1/logs`,
      timeoutMs: 60_000,
      lingerMs: 0,
      shutdownTimeoutMs: 1000,
    });
    for (const e of events('h', 3)) p.logger.emit(toLogRecord(e));
    await sleep(300); // the request is out
    const t0 = Date.now();
    await p.provider.shutdown();
    ok(Date.now() - t0 < 2000, `shutdown took ${Date.now() - t0} ms (bound 1000 ms, request timeout 60 s)`);
    deepStrictEqual(p.dropped, [[3, 'shutdown']]);
  } finally {
    srv.close();
  }
});

test('a full memory queue refuses and counts; records after shutdown are dropped, not queued', async () => {
  const queue = new MemoryQueue(5);
  const delivery = new DeliveryProcessor({
    exporter: createLogExporter({ url: `${loki.url}/otlp/v1/logs` }),
    queue,
    maxBatchRecords: 100,
    lingerMs: 60_000, // nothing leaves before the shutdown
  });
  const provider = new LoggerProvider({ processors: [delivery] });
  const logger = provider.getLogger('full');
  for (const e of events('f', 8)) logger.emit(toLogRecord(e));
  equal(queue.depth, 5);
  equal(delivery.dropped, 3);
  await provider.shutdown();
  equal(delivery.exported, 5, 'shutdown delivered what the queue held');
  delivery.onEmit(queue as never); // any record: refused after shutdown
  equal(delivery.dropped, 4);
  equal(queue.depth, 0);
});
