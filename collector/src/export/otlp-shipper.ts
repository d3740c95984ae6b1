/**
 * Flow control between the durable queue and the OpenTelemetry SDK's OTLP/HTTP
 * log exporter: this replaces the SDK's BatchLogRecordProcessor (which drops
 * bursts silently, MACHINE.md). One request in flight; a batch is acknowledged
 * in the queue only after the endpoint accepted it, and retried with
 * exponential backoff (250 ms doubling to 5 s, with jitter) while the endpoint
 * is down or slow. A batch the endpoint refuses for good (4xx other than
 * 408/429) is split in halves to isolate the bad record, which is dropped and
 * counted; nothing else is ever skipped.
 */
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { nsToMs, toLogRecord, type CasefileEvent } from '@casefile/schema';
import type { Logger } from 'pino';
import type { CollectorMetrics } from '../observability/metrics';
import type { Batch, DiskQueue } from './disk-queue';

export interface ShipperOptions {
  /** OTLP/HTTP logs URL. */
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
  compression: 'gzip' | 'none';
  /** Resource attributes (schema's resourceAttributes() plus OTEL_RESOURCE_ATTRIBUTES). */
  resource: Record<string, string>;
  batchRecords: number;
  batchBytes: number;
  /** Wait this long for more events after a partial batch. Default 100 ms. */
  lingerMs?: number;
}

type Outcome = { ok: true } | { ok: false; permanent: boolean; error: string };

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5_000;

export class OtlpShipper {
  private readonly exporter: OTLPLogExporter;
  private readonly resource;
  private readonly scope = { name: 'casefile-collector' };
  private stopping = false;
  private running?: Promise<void>;
  private wake?: () => void;
  private sleepTimer?: NodeJS.Timeout;
  /** Events refused for good by the endpoint. */
  rejected = 0;
  /** Time of the last successful delivery (ms), or undefined. */
  lastSuccessMs?: number;
  lastError?: string;

  constructor(
    private readonly queue: DiskQueue,
    private readonly opts: ShipperOptions,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger
  ) {
    this.exporter = new OTLPLogExporter({
      url: opts.url,
      headers: opts.headers,
      timeoutMillis: opts.timeoutMs,
      compression: opts.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
    });
    this.resource = resourceFromAttributes(opts.resource);
  }

  /** Start the delivery loop. */
  start(): void {
    this.running ??= this.loop();
  }

  /** New events were queued: stop waiting. */
  notify(): void {
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      this.wake = () => {
        clearTimeout(this.sleepTimer);
        this.wake = undefined;
        res();
      };
      this.sleepTimer = setTimeout(this.wake, ms);
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const batch = this.queue.read(this.opts.batchRecords, this.opts.batchBytes);
      if (!batch) {
        await this.sleep(this.opts.lingerMs ?? 100);
        continue;
      }
      if (!(await this.deliver(batch))) return; // stopping: leave it in the queue
      this.queue.ack(batch);
      const now = Date.now();
      this.lastSuccessMs = now;
      if (batch.records.length < this.opts.batchRecords && !this.stopping)
        await this.sleep(this.opts.lingerMs ?? 100);
    }
  }

  /** Deliver one batch, retrying until it is accepted; false when stopped first. */
  private async deliver(batch: Batch): Promise<boolean> {
    const events = batch.records.map((r) => JSON.parse(r) as CasefileEvent);
    let backoff = BACKOFF_MIN_MS;
    let pending = [events];
    while (pending.length) {
      const part = pending[0];
      const out = await this.send(part);
      if (out.ok) {
        pending.shift();
        backoff = BACKOFF_MIN_MS;
        this.lastError = undefined;
        const now = Date.now();
        for (const e of part) this.metrics.deliveryLag.observe((now - nsToMs(e.timeNs)) / 1000);
        continue;
      }
      this.lastError = out.error;
      if (out.permanent) {
        pending.shift();
        if (part.length === 1) {
          this.rejected++;
          this.log.error(
            { id: part[0].id, type: part[0].type, error: out.error },
            'endpoint refused an event for good; dropped'
          );
        } else {
          const mid = part.length >> 1;
          pending.unshift(part.slice(0, mid), part.slice(mid));
        }
        continue;
      }
      if (this.stopping) return false;
      this.log.warn(
        { error: out.error, retryInMs: backoff, queued: this.queue.depth },
        'export failed; will retry'
      );
      await this.sleep(backoff * (0.8 + Math.random() * 0.4));
      if (this.stopping) return false;
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
    return true;
  }

  private send(events: CasefileEvent[]): Promise<Outcome> {
    const records: ReadableLogRecord[] = events.map((e) => {
      const r = toLogRecord(e);
      return {
        hrTime: r.timestamp,
        hrTimeObserved: r.timestamp,
        severityNumber: r.severityNumber,
        severityText: r.severityText,
        body: r.body,
        attributes: r.attributes,
        resource: this.resource,
        instrumentationScope: this.scope,
        droppedAttributesCount: 0,
      };
    });
    const started = process.hrtime.bigint();
    return new Promise((resolve) => {
      this.exporter.export(records, (res) => {
        const secs = Number(process.hrtime.bigint() - started) / 1e9;
        this.metrics.exportDuration.observe(secs);
        const result = res.code === 0 ? 'ok' : 'error';
        this.metrics.exportRequests.inc({ result });
        this.metrics.exportRecords.inc({ result }, records.length);
        if (res.code === 0) return resolve({ ok: true });
        const err = res.error as (Error & { code?: number | string; data?: string }) | undefined;
        const status = typeof err?.code === 'number' ? err.code : undefined;
        const permanent =
          status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
        resolve({
          ok: false,
          permanent,
          error: `${status ?? err?.code ?? ''} ${err?.message ?? 'export failed'} ${err?.data ?? ''}`.trim(),
        });
      });
    });
  }

  /**
   * Stop: deliver what is queued for up to `drainMs`, then stop retrying and
   * leave the rest on disk for the next start. Idempotent.
   */
  async stop(drainMs: number): Promise<void> {
    if (!this.running) return;
    const deadline = Date.now() + drainMs;
    // Drain while deliveries succeed; an endpoint that is down would only make us wait.
    while (this.queue.depth > 0 && Date.now() < deadline && this.lastError === undefined) {
      this.notify();
      await new Promise((r) => setTimeout(r, 20));
    }
    this.stopping = true;
    this.notify();
    await this.running;
    await this.exporter.shutdown();
  }
}
