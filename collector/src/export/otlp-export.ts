/**
 * The collector's export, on the OpenTelemetry SDK's own boundary: a
 * LoggerProvider (resource from the OTel detectors, OTEL_RESOURCE_ATTRIBUTES
 * and Casefile's identity) whose one processor is schema's DeliveryProcessor
 * over the durable disk queue, exporting through the stock OTLPLogExporter
 * (http/json or http/protobuf). Its outcomes feed /metrics and the log.
 */
import { join } from 'node:path';
import type { Logger as OtelLogger } from '@opentelemetry/api-logs';
import { LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { EVENT_ID_ATTR, EVENT_TYPE_ATTR } from '@casefile/schema';
import { createLogExporter, DeliveryProcessor, producerResource } from '@casefile/schema/otel';
import type { Logger } from 'pino';
import type { CollectorConfig } from '../config';
import type { CollectorMetrics } from '../observability/metrics';
import { DiskQueue } from './disk-queue';
import { DurableRecordQueue, type DurableBatch } from './durable-queue';

/**
 * Unread records the disk queue keeps in memory for delivery (payload bytes):
 * about two batches of 2048 ~800-byte records and the one in flight, what the
 * exporter is normally behind by. Each kept record also holds its SDK log
 * record (about as large again), so this bounds that memory too; past it,
 * records are read back from disk.
 */
const READ_AHEAD_BYTES = 4 << 20;

/** Instrumentation scope of every record the collector emits. */
const SCOPE_NAME = 'casefile-collector';

export interface CollectorExport {
  /** The durable queue itself (depth, counters, recovery figures). */
  readonly queue: DiskQueue;
  /** Its view as log records (undecodable lines counted there). */
  readonly records: DurableRecordQueue;
  readonly delivery: DeliveryProcessor<DurableBatch>;
  readonly provider: LoggerProvider;
  /** Emit events here: `logger.emit(toLogRecord(e))`. */
  readonly logger: OtelLogger;
}

const hrMs = (t: readonly [number, number]) => t[0] * 1000 + t[1] / 1e6;

/** Open the queue (recovering what an earlier run left) and build the provider around it; needs `config.otlp.endpoint`. */
export function createExport(
  config: CollectorConfig,
  version: string,
  metrics: CollectorMetrics,
  log: Logger
): CollectorExport {
  const { otlp } = config;
  if (!otlp.endpoint) throw new Error('createExport: no OTLP endpoint configured');
  const resource = producerResource(
    {
      serviceName: otlp.serviceName,
      serviceVersion: version,
      host: config.host.name,
      hostId: config.host.id,
    },
    otlp.resourceAttributes
  );
  const scope = { name: SCOPE_NAME, version };
  const queueLog = log.child({ component: 'queue' });
  const exportLog = log.child({ component: 'export' });
  const queue = new DiskQueue(join(config.stateDir, 'queue'), {
    memoryBytes: READ_AHEAD_BYTES,
    ...config.queue,
    log: queueLog,
  });
  const records = new DurableRecordQueue(queue, { resource, scope }, queueLog);
  const refused = (r: ReadableLogRecord, error: string) =>
    exportLog.error(
      { id: r.attributes[EVENT_ID_ATTR], type: r.attributes[EVENT_TYPE_ATTR], error },
      'endpoint refused an event for good; dropped'
    );
  const delivery = new DeliveryProcessor({
    exporter: createLogExporter({
      url: otlp.endpoint,
      protocol: otlp.protocol,
      headers: otlp.headers,
      timeoutMs: otlp.timeoutMs,
      compression: otlp.compression,
    }),
    queue: records,
    maxBatchRecords: config.queue.batchRecords,
    maxBatchBytes: config.queue.batchBytes,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    hooks: {
      onExport({ ok, records: sent, seconds }) {
        const result = ok ? 'ok' : 'error';
        metrics.exportDuration.observe(seconds);
        metrics.exportRequests.inc({ result });
        metrics.exportRecords.inc({ result }, sent.length);
        if (!ok) return;
        const now = Date.now();
        for (const r of sent) metrics.deliveryLag.observe((now - hrMs(r.hrTime)) / 1000);
      },
      onRetry: (e) => exportLog.warn(e, 'export failed; will retry'),
      onRejected: refused,
    },
  });
  const provider = new LoggerProvider({ resource, processors: [delivery] });
  return { queue, records, delivery, provider, logger: provider.getLogger(SCOPE_NAME, version) };
}
