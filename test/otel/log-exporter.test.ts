/**
 * schema's createLogExporter loads the protobuf exporter only when that
 * protocol is chosen: a batch exported before it has loaded waits for it and
 * goes out as protobuf; where the package is missing, JSON still works and
 * protobuf exports fail, retryably, naming the package, with the record kept.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { makeEvent, msToNs, toLogRecord } from '@casefile/schema';
import { createLogExporter, DeliveryProcessor, MemoryQueue } from '@casefile/schema/otel';
import { runWithoutPackages } from '../modules/without-packages';

const event = (i: number) =>
  makeEvent({
    id: `log-exporter-${i}`,
    type: 'process.start',
    timeNs: msToNs(Date.now()),
    pid: 4000 + i,
    executable: '/bin/sh',
    message: `log exporter event ${i}`,
  });

test('http/protobuf: the first batch, exported while the exporter still loads, goes out once as protobuf', async () => {
  const requests: Array<{ type?: string; bytes: number }> = [];
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      requests.push({ type: req.headers['content-type'], bytes });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/logs`;
  const results: boolean[] = [];
  const delivery = new DeliveryProcessor({
    queue: new MemoryQueue(16),
    exporter: createLogExporter({ url, protocol: 'http/protobuf' }),
    lingerMs: 0,
    hooks: { onExport: (e) => results.push(e.ok) },
  });
  const provider = new LoggerProvider({ processors: [delivery] });
  try {
    provider.getLogger('log-exporter-test').emit(toLogRecord(event(1)));
    await delivery.forceFlush();
    deepStrictEqual(results, [true]);
    equal(requests.length, 1);
    equal(requests[0].type, 'application/x-protobuf');
    ok(requests[0].bytes > 0);
    equal(delivery.depth, 0);
  } finally {
    await provider.shutdown();
    server.close();
  }
});

test('without the protobuf exporter installed: JSON is unaffected, protobuf exports fail retryably naming the package', async () => {
  const r = await runWithoutPackages(
    ['@opentelemetry/exporter-logs-otlp-proto'],
    `import { LoggerProvider } from '@opentelemetry/sdk-logs';
    import { makeEvent, msToNs, toLogRecord } from './schema/src/index.ts';
    import { createLogExporter, DeliveryProcessor, MemoryQueue } from './schema/src/otel/index.ts';
    const json = createLogExporter({ url: 'http://127.0.0.1:9/v1/logs' });
    const retried = new Promise((retry) => {
      const delivery = new DeliveryProcessor({
        queue: new MemoryQueue(16),
        exporter: createLogExporter({ url: 'http://127.0.0.1:9/v1/logs', protocol: 'http/protobuf' }),
        lingerMs: 0,
        hooks: { onRetry: (e) => retry({ error: e.error, queued: e.queued }) },
      });
      new LoggerProvider({ processors: [delivery] }).getLogger('t').emit(toLogRecord(makeEvent({
        id: 'x', type: 'process.start', timeNs: msToNs(Date.now()), pid: 1, executable: '/bin/sh', message: 'x',
      })));
    });
    console.log(JSON.stringify({ json: json.constructor.name, ...(await retried) }));
    process.exit(0);`
  );
  equal(r.code, 0, r.stderr);
  deepStrictEqual(JSON.parse(r.stdout), {
    json: 'OTLPLogExporter',
    error:
      'OTLP protocol http/protobuf needs @opentelemetry/exporter-logs-otlp-proto, which cannot be loaded: ' +
      "Cannot find package '@opentelemetry/exporter-logs-otlp-proto' (hidden by the test)",
    queued: 1,
  });
});
