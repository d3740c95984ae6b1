/**
 * Seed a real Loki through the real OpenTelemetry JS SDK, the way a
 * collector on `host` would (schema's toLogRecord + resourceAttributes), with
 * schema's DeliveryProcessor over a memory queue: failed requests are
 * retried, emitting waits while the queue is past its high water (so a
 * generator can stream millions), and it throws rather than seed fewer
 * events than asked.
 */
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { resourceAttributes, toLogRecord, type CasefileEvent } from '@casefile/schema';
import { createLogExporter, DeliveryProcessor, MemoryQueue, otlpProtocol } from '@casefile/schema/otel';

export interface SeedOptions {
  /** service.name of the seeding "collector". Default casefile-test-seed. */
  serviceName?: string;
  /** Records queued at most before emitting waits for deliveries. Default 8192. */
  flushEvery?: number;
  /** Records per OTLP request. Default 2048. */
  batchSize?: number;
}

/** Send `events` (any iterable, so a generator can stream millions) for one host; resolves once all were accepted. */
export async function seedEvents(
  lokiUrl: string,
  host: string,
  events: Iterable<CasefileEvent>,
  { serviceName = 'casefile-test-seed', flushEvery = 8192, batchSize = 2048 }: SeedOptions = {}
): Promise<number> {
  const delivery = new DeliveryProcessor({
    exporter: createLogExporter({
      url: `${lokiUrl}/otlp/v1/logs`,
      protocol: otlpProtocol(),
      timeoutMs: 120_000,
    }),
    // Room for the high water plus the batch that crosses it: the queue never refuses.
    queue: new MemoryQueue(flushEvery + batchSize),
    maxBatchRecords: batchSize,
    highWaterRecords: flushEvery,
    lingerMs: 200,
    flushTimeoutMs: 300_000,
  });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(resourceAttributes({ serviceName, host })),
    processors: [delivery],
  });
  const logger = provider.getLogger(serviceName);
  let n = 0;
  try {
    for (const e of events) {
      logger.emit(toLogRecord(e));
      if (++n % batchSize === 0 && delivery.backlogged) await delivery.whenWritable();
    }
    await delivery.forceFlush();
  } finally {
    await provider.shutdown();
  }
  const lost = delivery.rejected + delivery.dropped;
  if (lost)
    throw new Error(
      `${lost} of ${n} records not accepted by Loki at ${lokiUrl} (last error: ${delivery.lastError ?? 'none'})`
    );
  return n;
}
