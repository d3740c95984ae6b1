/**
 * The SDK floor of the pipeline benchmark: the same synthetic events, made
 * and mapped to log records as the collector does (makeEvent, toLogRecord),
 * through the bare OpenTelemetry SDK alone (LoggerProvider -> the stock
 * BatchLogRecordProcessor -> the stock OTLPLogExporter, http/json) into the
 * same kind of sink: no stages, no durable queue. The records are built
 * before the clock starts, so the figure is the SDK's own cost.
 *
 *   node --import tsx collector/bench/sdk-floor.ts SINK_URL N   (prints one JSON line)
 *
 * Run by pipeline.ts as a child process pinned to the collector's core.
 */
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { makeEvent, resourceAttributes, toLogRecord } from '@casefile/schema';
import { syntheticEvent } from '../src/pipeline/synthetic-source';

/** Records per OTLP request: the collector's default (queue.batchRecords). */
const BATCH = 2048;
/** Records emitted per turn of the event loop, as the synthetic source does. */
const CHUNK = 512;

const [url, count] = [process.argv[2], Number(process.argv[3])];
if (!url || !(count > 0)) {
  console.error('usage: sdk-floor.ts SINK_URL N');
  process.exit(2);
}

const records = Array.from({ length: count }, (_, i) =>
  toLogRecord(makeEvent({ ...syntheticEvent('floor', i), host: 'bench' }))
);
const provider = new LoggerProvider({
  resource: resourceFromAttributes(resourceAttributes({ serviceName: 'casefile-collector', host: 'bench' })),
  processors: [
    new BatchLogRecordProcessor({
      exporter: new OTLPLogExporter({ url }),
      maxExportBatchSize: BATCH,
      maxQueueSize: count,
      scheduledDelayMillis: 20,
    }),
  ],
});
const logger = provider.getLogger('casefile-collector');

const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await new Promise<void>((done) => {
  let i = 0;
  const step = () => {
    for (const end = Math.min(count, i + CHUNK); i < end; i++) logger.emit(records[i]);
    if (i < count) setImmediate(step);
    else done();
  };
  step();
});
await provider.forceFlush();
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
await provider.shutdown();
process.stdout.write(
  JSON.stringify({ eps: count / secs, cpuPer1k: (cpu.user + cpu.system) / 1000 / (count / 1000) }) + '\n'
);
