/**
 * One seeding process of the benchmark: emits its share of events through
 * the real OpenTelemetry exporter into Loki (several run in parallel, since
 * OTLP JSON encoding is CPU-bound). Flushes every FLUSH_EVERY records so the
 * batch processor never drops (MACHINE.md), and exits non-zero on any failed export.
 *
 *   node --import tsx seed-worker.ts <lokiUrl> <host> <worker> <workers> <total> <startMs> <spacingUs>
 * Event g (global index; this worker sends g = worker, worker+workers, ...)
 * is at startMs + g * spacingUs.
 */
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { makeEvent, resourceAttributes, toLogRecord } from '@casefile/schema';

const [lokiUrl, host, workerS, workersS, totalS, startMsS, spacingUsS] = process.argv.slice(2);
const worker = Number(workerS);
const workers = Number(workersS);
const total = Number(totalS);
const startNs = BigInt(startMsS) * 1_000_000n;
const spacingNs = BigInt(spacingUsS) * 1000n;
const FLUSH_EVERY = 20_000;

let failed = 0;
const exporter = new OTLPLogExporter({ url: `${lokiUrl}/otlp/v1/logs`, timeoutMillis: 120_000 });
const exportBatch = exporter.export.bind(exporter);
exporter.export = (records, done) =>
  exportBatch(records, (r) => {
    if (r.code !== 0) failed += records.length;
    done(r);
  });
const provider = new LoggerProvider({
  resource: resourceFromAttributes(resourceAttributes({ serviceName: 'casefile-bench-seed', host })),
  processors: [
    new BatchLogRecordProcessor({
      exporter,
      maxExportBatchSize: 5000,
      maxQueueSize: FLUSH_EVERY + 1,
      scheduledDelayMillis: 100,
      exportTimeoutMillis: 300_000,
    }),
  ],
});
const logger = provider.getLogger('bench');
let n = 0;
for (let g = worker; g < total; g += workers) {
  const pid = 1000 + (g % 30000);
  logger.emit(
    toLogRecord(
      makeEvent({
        type: 'process.start',
        timeNs: (startNs + BigInt(g) * spacingNs).toString(),
        message: `exec /usr/bin/worker --job ${g}`,
        pid,
        ppid: 1,
        executable: '/usr/bin/worker',
        commandLine: `/usr/bin/worker --job ${g}`,
        user: 'app',
        containerId: 'b'.repeat(64),
        containerName: 'bench',
        imageName: 'registry.example/bench:1.0',
      })
    )
  );
  if (++n % FLUSH_EVERY === 0) await provider.forceFlush();
}
await provider.forceFlush();
await provider.shutdown();
if (failed) {
  console.error(`${failed} records failed to export`);
  process.exit(1);
}
console.log(JSON.stringify({ worker, sent: n }));
