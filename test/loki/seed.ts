/**
 * Seed a real Loki through the real OpenTelemetry JS exporter, the way a
 * collector on `host` would (schema's toLogRecord + resourceAttributes).
 *
 * The SDK's BatchLogRecordProcessor drops bursts silently (MACHINE.md), so
 * this flushes every `flushEvery` records with a queue just large enough, and
 * counts failed exports: it throws rather than seed fewer events than asked.
 */
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { resourceAttributes, toLogRecord, type CasefileEvent } from '@casefile/schema';

export interface SeedOptions {
  /** service.name of the seeding "collector". Default casefile-test-seed. */
  serviceName?: string;
  /** Records between flushes. Default 8192. */
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
  let failed = 0;
  const exporter = new OTLPLogExporter({ url: `${lokiUrl}/otlp/v1/logs`, timeoutMillis: 120_000 });
  const exportBatch = exporter.export.bind(exporter);
  exporter.export = (records, done) =>
    exportBatch(records, (r) => {
      if (r.code !== 0) failed += records.length;
      done(r);
    });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(resourceAttributes({ serviceName, host })),
    processors: [
      new BatchLogRecordProcessor({
        exporter,
        maxExportBatchSize: batchSize,
        maxQueueSize: flushEvery + 1,
        scheduledDelayMillis: 200,
        exportTimeoutMillis: 300_000,
      }),
    ],
  });
  const logger = provider.getLogger(serviceName);
  let n = 0;
  for (const e of events) {
    logger.emit(toLogRecord(e));
    if (++n % flushEvery === 0) await provider.forceFlush();
  }
  await provider.forceFlush();
  await provider.shutdown();
  if (failed) throw new Error(`${failed} of ${n} records failed to export to Loki at ${lokiUrl}`);
  return n;
}
