/**
 * Seed events into a real Loki through the real OpenTelemetry exporter
 * (schema's toLogRecord + resourceAttributes), with flow control: the batch
 * processor drops bursts silently (see MACHINE.md), so we flush every
 * `flushEvery` records and count failed exports.
 */
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  makeEvent,
  msToNs,
  resourceAttributes,
  toLogRecord,
  type CasefileEvent,
  type EventFilter,
} from '@casefile/schema';
import { LokiClient, type Window } from '../../src/loki/loki-client';

export async function seedEvents(
  lokiUrl: string,
  host: string,
  events: readonly CasefileEvent[],
  flushEvery = 8192
): Promise<void> {
  let failed = 0;
  const exporter = new OTLPLogExporter({ url: `${lokiUrl}/otlp/v1/logs`, timeoutMillis: 60_000 });
  const exportBatch = exporter.export.bind(exporter);
  exporter.export = (records, done) =>
    exportBatch(records, (r) => {
      if (r.code !== 0) failed += records.length;
      done(r);
    });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(resourceAttributes({ serviceName: 'casefile-test-seed', host })),
    processors: [
      new BatchLogRecordProcessor({
        exporter,
        maxExportBatchSize: 2048,
        maxQueueSize: flushEvery + 1,
        scheduledDelayMillis: 200,
        exportTimeoutMillis: 120_000,
      }),
    ],
  });
  const logger = provider.getLogger('seed');
  for (let i = 0; i < events.length; i++) {
    logger.emit(toLogRecord(events[i]));
    if ((i + 1) % flushEvery === 0) await provider.forceFlush();
  }
  await provider.forceFlush();
  await provider.shutdown();
  if (failed) throw new Error(`${failed} records failed to export to Loki`);
}

/** `n` process.start events 1 ms apart from `startMs`, on `host`, in container `container`. */
export function processEvents(
  n: number,
  startMs: number,
  container: string,
  extra: Partial<CasefileEvent> = {}
): CasefileEvent[] {
  const out: CasefileEvent[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      makeEvent({
        type: 'process.start',
        timeNs: (BigInt(msToNs(startMs + i)) + BigInt(i % 1000)).toString(),
        message: `exec /usr/bin/worker --n ${i}`,
        pid: 1000 + (i % 30000),
        executable: '/usr/bin/worker',
        commandLine: `/usr/bin/worker --n ${i}`,
        containerId: container.padEnd(64, '0').slice(0, 64),
        containerName: container,
        ...extra,
      } as CasefileEvent)
    );
  }
  return out;
}

/** Poll Loki until it returns `n` events for the filter (entries become queryable shortly after the push). */
export async function waitForEvents(
  lokiUrl: string,
  filter: EventFilter,
  window: Window,
  n: number,
  timeoutMs = 60_000
): Promise<number> {
  const client = new LokiClient({ url: lokiUrl });
  const deadline = Date.now() + timeoutMs;
  let got = 0;
  for (;;) {
    got = 0;
    for await (const p of client.readEvents(filter, window)) got += p.length;
    if (got >= n || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 300));
  }
}
