/**
 * The DiskQueue as the DeliveryProcessor's queue: records are encoded into
 * queue lines on push (inside LogRecordProcessor.onEmit, so the disk queue
 * holds them from then on, with its durability promise) and decoded back
 * into log records of the collector's resource on read. A record the disk
 * queue still holds in memory (its read-ahead) comes back without decoding.
 */
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { DeliveryQueue, QueuedBatch } from '@casefile/schema/otel';
import type { Batch, DiskQueue, QueueLog } from './disk-queue';
import { decodeRecord, encodeRecord, queuedRecord, type RecordOrigin } from './record-codec';

/** Decoded records and the stretch of the disk queue they came from. */
export interface DurableBatch extends QueuedBatch {
  readonly disk: Batch;
}

export class DurableRecordQueue implements DeliveryQueue<DurableBatch> {
  readonly durable = true;
  /** Queue lines that could not be read back as records: skipped, counted, logged. */
  undecodable = 0;

  constructor(
    readonly disk: DiskQueue,
    private readonly origin: RecordOrigin,
    private readonly log: QueueLog
  ) {}

  get depth(): number {
    return this.disk.depth;
  }

  get writable(): boolean {
    return this.disk.writable;
  }

  push(record: ReadableLogRecord): boolean {
    const refused = this.disk.droppedDiskFull;
    void this.disk.append(encodeRecord(record), record);
    return this.disk.droppedDiskFull === refused;
  }

  read(maxRecords: number, maxBytes: number): DurableBatch | undefined {
    for (;;) {
      const disk = this.disk.read(maxRecords, maxBytes);
      if (!disk) return undefined;
      const records: ReadableLogRecord[] = [];
      for (let i = 0; i < disk.records.length; i++) {
        const kept = disk.memos[i] as ReadableLogRecord | undefined;
        if (kept) {
          records.push(queuedRecord(kept, this.origin));
          continue;
        }
        const line = disk.records[i];
        try {
          records.push(decodeRecord(line, this.origin));
        } catch (err) {
          this.undecodable++;
          this.log.error(
            { error: (err as Error).message, line: line.slice(0, 200) },
            'queued line is not a log record; skipped'
          );
        }
      }
      if (records.length) return { records, disk };
      this.disk.ack(disk); // nothing deliverable in it: read on
    }
  }

  ack(batch: DurableBatch): void {
    this.disk.ack(batch.disk);
  }

  close(): void {
    this.disk.close();
  }
}
