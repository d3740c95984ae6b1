/**
 * The one way Casefile hands log records to an OTLP exporter: a
 * `LogRecordProcessor` that owns queueing, batching, timers, retry and
 * back-pressure, in place of the SDK's BatchLogRecordProcessor (which drops
 * bursts silently, MACHINE.md). The queue is given: the collector's durable
 * disk queue, or a {@link MemoryQueue}.
 *
 * - `onEmit` pushes the record into the queue synchronously, so a durable
 *   queue holds it from then on.
 * - One export request in flight. A batch waits up to `lingerMs` to fill
 *   unless `maxBatchRecords` are queued or a flush or shutdown is waiting.
 * - A batch is acknowledged in the queue only after the endpoint accepted
 *   it; while the endpoint is down or slow it is retried with exponential
 *   backoff (250 ms doubling to 5 s, with jitter).
 * - A batch refused for good (a 4xx other than 408/429, or one the exporter
 *   cannot serialise) is split in halves to isolate the bad record, which is
 *   dropped and reported; nothing else is ever skipped.
 * - Outcomes go to {@link DeliveryHooks} (metrics, logs): nothing wraps the
 *   exporter.
 */
import type { Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, LogRecordProcessor, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { DeliveryQueue, QueuedBatch } from './delivery-queue';

/** Why records were lost before reaching the endpoint. */
export type DropReason = 'queue_full' | 'shutdown';

/** Where the processor reports what happened; every hook is optional (one that throws is ignored). */
export interface DeliveryHooks {
  /** One export request finished (`records` are the request's, read-only). */
  onExport?(e: { ok: boolean; records: readonly ReadableLogRecord[]; seconds: number; error?: string }): void;
  /** A request failed and is tried again after `retryInMs`. */
  onRetry?(e: { error: string; retryInMs: number; queued: number }): void;
  /** The endpoint refused this record for good: it is dropped. */
  onRejected?(record: ReadableLogRecord, error: string): void;
  /** Records lost: refused by a full queue, or left in a non-durable queue at shutdown. */
  onDropped?(count: number, reason: DropReason): void;
}

export interface DeliveryOptions<B extends QueuedBatch> {
  exporter: LogRecordExporter;
  queue: DeliveryQueue<B>;
  /** Records per request. Default 2048. */
  maxBatchRecords?: number;
  /** About this many bytes per request, for queues that know record sizes. Default 4 MiB. */
  maxBatchBytes?: number;
  /** How long a partial batch waits for more records. Default 100 ms. */
  lingerMs?: number;
  /** Queued records at which {@link DeliveryProcessor.backlogged} turns true. Default 4 batches. */
  highWaterRecords?: number;
  /** Bound on {@link DeliveryProcessor.forceFlush} and {@link DeliveryProcessor.whenWritable}. Default 30 s. */
  flushTimeoutMs?: number;
  /** Time shutdown spends draining before it stops retrying. Default 5 s. */
  shutdownTimeoutMs?: number;
  hooks?: DeliveryHooks;
}

type Outcome = { ok: true } | { ok: false; permanent: boolean; error: string };

/** Something waiting for the queue to reach a state (flush, shutdown, back-pressure). */
interface Waiter {
  reached: () => boolean;
  /** Give up at the first failed request (shutdown: an endpoint that is down would only make us wait). */
  stopOnError: boolean;
  done: (reached: boolean) => void;
}

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5_000;

/** The text of a failed export: HTTP status, message and the endpoint's answer. */
function errorText(r: ExportResult): { error: string; permanent: boolean } {
  const err = r.error as (Error & { code?: number | string; data?: string }) | undefined;
  const status = typeof err?.code === 'number' ? err.code : undefined;
  return {
    permanent: status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429,
    error: `${status ?? err?.code ?? ''} ${err?.message ?? 'export failed'} ${err?.data ?? ''}`.trim(),
  };
}

/** See the module comment. */
export class DeliveryProcessor<B extends QueuedBatch = QueuedBatch> implements LogRecordProcessor {
  private readonly exporter: LogRecordExporter;
  private readonly queue: DeliveryQueue<B>;
  private readonly hooks: DeliveryHooks;
  private readonly maxBatchRecords: number;
  private readonly maxBatchBytes: number;
  private readonly lingerMs: number;
  private readonly highWater: number;
  private readonly flushTimeoutMs: number;
  private readonly shutdownTimeoutMs: number;
  /** The delivery loop while it runs (one request in flight at most). */
  private pumping?: Promise<void>;
  /** The linger timer, or the zero timer that starts a full batch (`timerNow`). */
  private timer?: NodeJS.Timeout;
  private timerNow = false;
  /** The queue had records but none to read (e.g. still in memory on a full disk): wait a linger before trying again. */
  private starved = false;
  /** A partial batch has waited its linger: send it. */
  private lingered = false;
  private backoff?: { timer: NodeJS.Timeout; wake: () => void };
  private halted = false;
  private stopping?: Promise<void>;
  private readonly waiters = new Set<Waiter>();
  /** Flushes and shutdowns waiting: partial batches go at once. */
  private urgent = 0;
  /** Records acknowledged since start (delivered or refused for good). */
  private settled = 0;
  /** Records the endpoint accepted. */
  exported = 0;
  /** Records the endpoint refused for good. */
  rejected = 0;
  /** Records lost before the endpoint (see {@link DropReason}). */
  dropped = 0;
  /** Time of the last accepted request (ms), or undefined. */
  lastSuccessMs?: number;
  /** The last failed request's error, cleared by the next success. */
  lastError?: string;

  constructor(opts: DeliveryOptions<B>) {
    this.exporter = opts.exporter;
    this.queue = opts.queue;
    this.hooks = opts.hooks ?? {};
    this.maxBatchRecords = opts.maxBatchRecords ?? 2048;
    this.maxBatchBytes = opts.maxBatchBytes ?? 4 << 20;
    this.lingerMs = opts.lingerMs ?? 100;
    this.highWater = opts.highWaterRecords ?? this.maxBatchRecords * 4;
    this.flushTimeoutMs = opts.flushTimeoutMs ?? 30_000;
    this.shutdownTimeoutMs = opts.shutdownTimeoutMs ?? 5_000;
    // What an earlier run left in a durable queue goes first.
    if (this.queue.depth > 0) this.schedule();
  }

  /** Records queued and not yet acknowledged. */
  get depth(): number {
    return this.queue.depth;
  }

  /** True while producers should wait ({@link whenWritable}): the queue is past its high water or refuses writes. */
  get backlogged(): boolean {
    return this.queue.depth >= this.highWater || !this.queue.writable;
  }

  onEmit(record: ReadableLogRecord, _context?: Context): void {
    if (this.stopping) return this.drop(1, 'shutdown');
    if (!this.queue.push(record)) return this.drop(1, 'queue_full');
    this.schedule();
  }

  /** Deliver everything queued now; rejects when that takes longer than `flushTimeoutMs`. */
  async forceFlush(): Promise<void> {
    const target = this.settled + this.queue.depth;
    if (
      await this.waitFor(() => this.settled >= target || this.queue.depth === 0, this.flushTimeoutMs, false)
    )
      return;
    throw new Error(this.stuck('forceFlush', this.flushTimeoutMs));
  }

  /** Resolves once {@link backlogged} is false; rejects after `flushTimeoutMs`. */
  async whenWritable(): Promise<void> {
    if (!this.backlogged) return;
    if (await this.waitFor(() => !this.backlogged, this.flushTimeoutMs, false)) return;
    throw new Error(this.stuck('back-pressure wait', this.flushTimeoutMs));
  }

  /**
   * Bounded by `shutdownTimeoutMs` in all: drain while requests succeed (an
   * endpoint that is down would only make us wait), stop retrying, wait for
   * the request in flight while time is left, then close the queue. A
   * durable queue keeps what is left (a batch abandoned in flight is sent
   * again next start); a memory queue's rest is reported dropped. Idempotent.
   */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      const deadline = Date.now() + this.shutdownTimeoutMs;
      if (this.queue.depth > 0 && this.lastError === undefined)
        await this.waitFor(() => this.queue.depth === 0, this.shutdownTimeoutMs, true);
      this.halted = true;
      clearTimeout(this.timer);
      this.timer = undefined;
      this.backoff?.wake();
      await this.within(this.pumping, deadline);
      const left = this.queue.depth;
      if (left && !this.queue.durable) this.drop(left, 'shutdown');
      for (const w of this.waiters) w.done(false);
      this.queue.close();
      await this.within(this.exporter.shutdown(), deadline);
    })();
    return this.stopping;
  }

  /** `p`, or nothing once `deadline` (ms) has passed. */
  private async within(p: Promise<void> | undefined, deadline: number): Promise<void> {
    if (!p) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))));
    await Promise.race([p, late]);
    clearTimeout(timer);
  }

  private stuck(what: string, ms: number): string {
    const err = this.lastError ? `; last export error: ${this.lastError}` : '';
    return `${what}: ${this.queue.depth} records still queued after ${ms} ms${err}`;
  }

  private drop(count: number, reason: DropReason): void {
    this.dropped += count;
    this.report(() => this.hooks.onDropped?.(count, reason));
  }

  /** Start the loop now (a full batch, a flush) or after the linger (a partial one). */
  private schedule(): void {
    if (this.pumping || this.halted || this.queue.depth === 0) return;
    const now = !this.starved && (this.urgent > 0 || this.queue.depth >= this.maxBatchRecords);
    if (this.timer && (this.timerNow || !now)) return;
    clearTimeout(this.timer);
    this.timerNow = now;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.starved = false;
        this.lingered = true;
        this.start();
      },
      now ? 0 : this.lingerMs
    );
    this.timer.unref();
  }

  private start(): void {
    if (this.pumping || this.halted) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      this.checkWaiters(false);
      this.schedule();
    });
  }

  /** Deliver batches while there are full ones (or a partial one that lingered, or a flush waits). */
  private async pump(): Promise<void> {
    while (!this.halted && this.queue.depth > 0) {
      if (!this.lingered && this.urgent === 0 && this.queue.depth < this.maxBatchRecords) return;
      this.lingered = false;
      const batch = this.queue.read(this.maxBatchRecords, this.maxBatchBytes);
      if (!batch) {
        this.starved = true; // nothing readable now (the queue logged why): try again after a linger
        return;
      }
      if (!(await this.deliver(batch.records))) return; // stopped first: the batch stays queued
      this.queue.ack(batch);
      this.settled += batch.records.length;
      this.checkWaiters(false);
    }
  }

  /** Deliver one batch, retrying until every record is accepted or refused for good; false when halted first. */
  private async deliver(records: readonly ReadableLogRecord[]): Promise<boolean> {
    let backoff = BACKOFF_MIN_MS;
    const pending = [records];
    while (pending.length) {
      const part = pending[0];
      const out = await this.send(part);
      if (out.ok) {
        pending.shift();
        backoff = BACKOFF_MIN_MS;
        this.exported += part.length;
        this.lastError = undefined;
        this.lastSuccessMs = Date.now();
        continue;
      }
      this.lastError = out.error;
      if (out.permanent) {
        pending.shift();
        if (part.length === 1) {
          this.rejected++;
          this.report(() => this.hooks.onRejected?.(part[0], out.error));
        } else {
          const mid = part.length >> 1;
          pending.unshift(part.slice(0, mid), part.slice(mid));
        }
        continue;
      }
      this.checkWaiters(true);
      if (this.halted) return false;
      const retryInMs = Math.round(backoff * (0.8 + Math.random() * 0.4));
      this.report(() => this.hooks.onRetry?.({ error: out.error, retryInMs, queued: this.queue.depth }));
      await this.sleep(retryInMs);
      if (this.halted) return false;
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
    return true;
  }

  private async send(records: readonly ReadableLogRecord[]): Promise<Outcome> {
    // Detected resource attributes may still be settling (host.id from the machine id).
    const resource = records[0].resource;
    if (resource.asyncAttributesPending) await resource.waitForAsyncAttributes?.();
    const started = process.hrtime.bigint();
    let threw = false;
    const result = await new Promise<ExportResult>((resolve) => {
      try {
        this.exporter.export(records as ReadableLogRecord[], resolve);
      } catch (err) {
        // The exporter could not even serialise the batch: refused for good, split to find the record.
        threw = true;
        resolve({ code: ExportResultCode.FAILED, error: err as Error });
      }
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.code === ExportResultCode.SUCCESS) {
      this.report(() => this.hooks.onExport?.({ ok: true, records, seconds }));
      return { ok: true };
    }
    const { error, permanent } = errorText(result);
    this.report(() => this.hooks.onExport?.({ ok: false, records, seconds, error }));
    return { ok: false, permanent: permanent || threw, error };
  }

  /** Call a hook; one that throws must not stop delivery. */
  private report(call: () => void): void {
    try {
      call();
    } catch {
      /* the hook's own failure: delivery goes on */
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.backoff = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.backoff = { timer, wake };
    });
  }

  /** Resolve `reached()` true within `timeoutMs` (false after it, or at a failure with `stopOnError`). */
  private waitFor(reached: () => boolean, timeoutMs: number, stopOnError: boolean): Promise<boolean> {
    if (reached()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => w.done(false), timeoutMs);
      const w: Waiter = {
        reached,
        stopOnError,
        done: (ok) => {
          if (!this.waiters.delete(w)) return;
          clearTimeout(timer);
          this.urgent--;
          resolve(ok);
        },
      };
      this.waiters.add(w);
      this.urgent++;
      this.schedule();
    });
  }

  private checkWaiters(failed: boolean): void {
    for (const w of this.waiters)
      if (w.reached()) w.done(true);
      else if (failed && w.stopOnError) w.done(false);
  }
}
