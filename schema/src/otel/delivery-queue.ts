/**
 * The queue a {@link DeliveryProcessor} delivers from: the collector's
 * durable one on disk, or {@link MemoryQueue} for producers that may lose
 * what is queued when they stop (the server's pinned emitter, the test seeder).
 */
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';

/** Records read from a queue, acknowledged as one once delivered. */
export interface QueuedBatch {
  readonly records: readonly ReadableLogRecord[];
}

/**
 * What the processor needs from a queue. It reads one batch at a time and
 * acknowledges batches in the order it read them.
 */
export interface DeliveryQueue<B extends QueuedBatch = QueuedBatch> {
  /** True when what is queued survives a restart: nothing is counted lost at shutdown. */
  readonly durable: boolean;
  /** Records held and not yet acknowledged (the batch being delivered included). */
  readonly depth: number;
  /** False while the queue cannot take records safely (e.g. the disk refuses writes). */
  readonly writable: boolean;
  /**
   * Take a record (synchronously: it is the queue's once this returns; the
   * processor never changes it). False when it was refused (full); the
   * processor counts it as dropped.
   */
  push(record: ReadableLogRecord): boolean;
  /** The next records after those already read, up to `maxRecords` and about `maxBytes`; undefined when none. */
  read(maxRecords: number, maxBytes: number): B | undefined;
  /** Forget a batch: delivered, or refused for good record by record. */
  ack(batch: B): void;
  /** Release files and timers; the processor calls it last, at shutdown. */
  close(): void;
}

/**
 * A bounded in-memory queue. It keeps the emitted record objects themselves
 * (read-only once emitted, as the SDK promises), so queueing copies nothing.
 * `maxBytes` of {@link read} is not applied: it holds no encoded sizes.
 */
export class MemoryQueue implements DeliveryQueue {
  readonly durable = false;
  readonly writable = true;
  private items: ReadableLogRecord[] = [];
  /** Records at the head already handed out by read(). */
  private readCount = 0;

  /** @param maxRecords records held at most; pushes beyond are refused. Default 65,536. */
  constructor(private readonly maxRecords = 65_536) {}

  get depth(): number {
    return this.items.length;
  }

  push(record: ReadableLogRecord): boolean {
    if (this.items.length >= this.maxRecords) return false;
    this.items.push(record);
    return true;
  }

  read(maxRecords: number): QueuedBatch | undefined {
    if (this.readCount >= this.items.length) return undefined;
    const records = this.items.slice(this.readCount, this.readCount + maxRecords);
    this.readCount += records.length;
    return { records };
  }

  ack(batch: QueuedBatch): void {
    const n = Math.min(batch.records.length, this.readCount);
    this.items.splice(0, n);
    this.readCount -= n;
  }

  close(): void {
    this.items = [];
    this.readCount = 0;
  }
}
