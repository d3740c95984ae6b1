/**
 * The durable queue's read-ahead (`memoryBytes`): records written and not yet
 * read come back from memory, with what append() was given, in order, and the
 * reader goes to disk where memory does not hold them (after a restart, past
 * the bound). The files are the same either way. And the DurableRecordQueue
 * hands out the same log records whichever way they came.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, type LogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { DiskQueue, type Batch } from '../src/export/disk-queue';
import { DurableRecordQueue } from '../src/export/durable-queue';
import { FRAME_HEADER, scanSegment } from '../src/export/queue-frame';

const tmp = () => mkdtempSync(join(tmpdir(), 'casefile-queue-ahead-'));
/** Records of one size (121 bytes), so a bound in bytes is a bound in records. */
const rec = (i: number) => JSON.stringify({ id: `e${String(i).padStart(4, '0')}`, pad: 'x'.repeat(100) });
const REC_BYTES = Buffer.byteLength(rec(0));
const segFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(dir, f));

/** Every batch until empty, acknowledged. */
function drain(q: DiskQueue, batch = 64): Batch[] {
  const out: Batch[] = [];
  for (let b = q.read(batch, 1 << 20); b; b = q.read(batch, 1 << 20)) {
    out.push(b);
    q.ack(b);
  }
  return out;
}

test('unread records come back from memory with their memo; the files are those of a queue without it', () => {
  const [withDir, withoutDir] = [tmp(), tmp()];
  const q = new DiskQueue(withDir, { segmentBytes: 8192, maxBytes: 1 << 20, memoryBytes: 1 << 20 });
  const plain = new DiskQueue(withoutDir, { segmentBytes: 8192, maxBytes: 1 << 20 });
  for (let i = 0; i < 500; i++) {
    void q.append(rec(i), { n: i });
    void plain.append(rec(i));
  }
  q.flush();
  plain.flush();
  const files = segFiles(withDir);
  ok(files.length > 5, 'several segments');
  deepStrictEqual(
    files.map((f) => readFileSync(f)),
    segFiles(withoutDir).map((f) => readFileSync(f)),
    'the same bytes on disk'
  );
  const batches = drain(q, 77);
  deepStrictEqual(
    batches.flatMap((b) => b.records),
    Array.from({ length: 500 }, (_, i) => rec(i))
  );
  deepStrictEqual(
    batches.flatMap((b) => b.memos),
    Array.from({ length: 500 }, (_, i) => ({ n: i })),
    'every record from memory'
  );
  equal(q.depth, 0);
  q.close();
  plain.close();
});

test('past the memory bound the reader reads the disk, then memory again: in order, none twice, none lost', () => {
  const q = new DiskQueue(tmp(), { segmentBytes: 8192, maxBytes: 1 << 20, memoryBytes: 100 * REC_BYTES });
  for (let i = 0; i < 300; i++) void q.append(rec(i), i);
  const first = drain(q, 64);
  for (let i = 300; i < 400; i++) void q.append(rec(i), i);
  const second = drain(q, 64);
  const records = [...first, ...second].flatMap((b) => b.records);
  const memos = [...first, ...second].flatMap((b) => b.memos);
  deepStrictEqual(
    records,
    Array.from({ length: 400 }, (_, i) => rec(i))
  );
  const fromMemory = memos.filter((m) => m !== undefined);
  deepStrictEqual(
    fromMemory,
    [...Array.from({ length: 100 }, (_, i) => i), ...Array.from({ length: 100 }, (_, i) => 300 + i)],
    'the first 100 (the bound) from memory, 100..299 from disk, the later ones from memory again'
  );
  q.close();
});

test('after a restart the records come from disk; damage on disk to a record still in memory loses nothing', () => {
  const dir = tmp();
  const q = new DiskQueue(dir, { segmentBytes: 1 << 20, maxBytes: 64 << 20, memoryBytes: 1 << 20 });
  for (let i = 0; i < 200; i++) void q.append(rec(i), i);
  q.flush();
  const [file] = segFiles(dir);
  const buf = readFileSync(file);
  const scan = scanSegment(buf, buf.length);
  buf[scan.starts[50] + FRAME_HEADER + 3] ^= 0x10; // payload of record 50
  writeFileSync(file, buf);
  const b = q.read(100, 1 << 20)!;
  equal(b.records.length, 100);
  equal(b.records[50], rec(50), 'from memory, as appended');
  equal(q.corruptRecords, 0);
  // Not acknowledged: a restart reads them again, from disk, where record 50 is damaged.
  const again = new DiskQueue(dir, { segmentBytes: 1 << 20, maxBytes: 64 << 20, memoryBytes: 1 << 20 });
  const batches = drain(again);
  const records = batches.flatMap((x) => x.records);
  equal(records.length, 199);
  ok(!records.includes(rec(50)));
  ok(
    batches.every((x) => x.memos.every((m) => m === undefined)),
    'nothing from memory after the restart'
  );
  equal(again.corruptRecords, 1);
  q.close();
  again.close();
});

test('the DurableRecordQueue hands out the same log records from memory and from disk', async () => {
  const resource = resourceFromAttributes({ 'service.name': 'read-ahead-test' });
  const scope = { name: 'casefile-collector', version: '0.0.0' };
  const log = { warn() {}, error() {} };
  const dirs = [tmp(), tmp()];
  const read: ReadableLogRecord[][] = [];
  for (const [k, memoryBytes] of [1 << 20, 0].entries()) {
    const queue = new DurableRecordQueue(new DiskQueue(dirs[k], { memoryBytes }), { resource, scope }, log);
    const into: LogRecordProcessor = {
      onEmit: (r) => void queue.push(r),
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const provider = new LoggerProvider({ resource, processors: [into] });
    const logger = provider.getLogger(scope.name, scope.version);
    for (let i = 0; i < 50; i++)
      logger.emit({
        timestamp: [1_700_000_000 + i, 5],
        observedTimestamp: [1_700_000_000 + i, 7],
        severityNumber: 9,
        severityText: 'INFO',
        body: `event ${i}`,
        eventName: 'casefile.test',
        attributes: { 'event.id': `e${i}`, n: i, ok: i % 2 === 0, list: ['a', String(i)] },
      });
    const batch = queue.read(100, 1 << 20)!;
    equal(batch.disk.memos.filter((m) => m !== undefined).length, memoryBytes ? 50 : 0);
    read.push(batch.records as ReadableLogRecord[]);
    queue.ack(batch);
    queue.close();
    await provider.shutdown();
  }
  const [fromMemory, fromDisk] = read;
  equal(fromMemory.length, 50);
  deepStrictEqual(fromMemory, fromDisk);
  ok(
    fromMemory.every((r) => r.resource === resource && r.instrumentationScope === scope),
    'one resource and scope object: one ResourceLogs per request'
  );
});
