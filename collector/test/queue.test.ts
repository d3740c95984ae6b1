import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DiskQueue } from '../src/export/disk-queue';

const tmp = () => mkdtempSync(join(tmpdir(), 'casefile-queue-'));
const rec = (i: number) => JSON.stringify({ id: `e${i}`, pad: 'x'.repeat(100) });

function drain(q: DiskQueue, batch = 100): string[] {
  const out: string[] = [];
  for (let b = q.read(batch, 1 << 20); b; b = q.read(batch, 1 << 20)) {
    out.push(...b.records);
    q.ack(b);
  }
  return out;
}

test('FIFO across segment rotations; acknowledged segments are deleted', () => {
  const dir = tmp();
  const q = new DiskQueue(dir, { maxBytes: 1 << 20, segmentBytes: 8192 });
  for (let i = 0; i < 1000; i++) q.append(rec(i));
  equal(q.depth, 1000);
  ok(readdirSync(dir).filter((f) => f.endsWith('.seg')).length > 10);
  const got = drain(q, 77);
  deepStrictEqual(
    got,
    Array.from({ length: 1000 }, (_, i) => rec(i))
  );
  equal(q.depth, 0);
  equal(q.dropped, 0);
  ok(readdirSync(dir).filter((f) => f.endsWith('.seg')).length <= 1);
  q.close();
  q.close(); // idempotent
});

test('survives reopen: unacknowledged records come back, acknowledged ones do not', () => {
  const dir = tmp();
  const q = new DiskQueue(dir, { segmentBytes: 4096, maxBytes: 1 << 20 });
  for (let i = 0; i < 300; i++) q.append(rec(i));
  const b1 = q.read(120, 1 << 20)!;
  q.ack(b1);
  q.read(50, 1 << 20); // read but never acknowledged (in flight at the crash)
  q.flush();
  // No close(): as after SIGKILL, the files are what is left.
  const q2 = new DiskQueue(dir, { segmentBytes: 4096, maxBytes: 1 << 20 });
  equal(q2.depth, 180);
  for (let i = 300; i < 310; i++) q2.append(rec(i));
  deepStrictEqual(
    drain(q2),
    Array.from({ length: 190 }, (_, i) => rec(i + 120))
  );
  q.close();
  q2.close();
});

test('a torn frame at the end (crash mid-write) is cut off on open, the rest kept', () => {
  const dir = tmp();
  const q = new DiskQueue(dir, { maxBytes: 1 << 20 });
  for (let i = 0; i < 10; i++) q.append(rec(i));
  q.close();
  const seg = readdirSync(dir).find((f) => f.endsWith('.seg'))!;
  const size = statSync(join(dir, seg)).size;
  appendFileSync(join(dir, seg), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 65, 66])); // header promises 200 bytes
  const q2 = new DiskQueue(dir, { maxBytes: 1 << 20 });
  equal(q2.recoveredTornBytes, 10);
  equal(statSync(join(dir, seg)).size, size);
  q2.append(rec(10));
  deepStrictEqual(
    drain(q2),
    Array.from({ length: 11 }, (_, i) => rec(i))
  );
  q2.close();
});

test('bounded by bytes: when full the oldest are dropped and counted', () => {
  const dir = tmp();
  const maxBytes = 64 * 1024;
  const q = new DiskQueue(dir, { maxBytes, segmentBytes: 8192 });
  const n = 5000;
  for (let i = 0; i < n; i++) q.append(rec(i));
  q.flush();
  ok(q.bytes <= maxBytes, `${q.bytes} <= ${maxBytes}`);
  const onDisk = readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .reduce((s, f) => s + statSync(join(dir, f)).size, 0);
  ok(onDisk <= maxBytes, `on disk ${onDisk}`);
  ok(q.dropped > 0);
  equal(q.dropped + q.depth, n, 'every record is either still queued or counted as dropped');
  const depth = q.depth;
  const got = drain(q);
  equal(got.length, depth);
  deepStrictEqual(
    got,
    Array.from({ length: got.length }, (_, i) => rec(n - got.length + i)),
    'the newest are kept, in order'
  );
  q.close();
});

test('rewind re-reads from the oldest unacknowledged record', () => {
  const q = new DiskQueue(tmp(), {});
  for (let i = 0; i < 5; i++) q.append(rec(i));
  const a = q.read(3, 1 << 20)!;
  q.rewind();
  const b = q.read(3, 1 << 20)!;
  deepStrictEqual(b.records, a.records);
  q.ack(b);
  deepStrictEqual(drain(q), [rec(3), rec(4)]);
  q.close();
});

test('a record larger than a read chunk', () => {
  const q = new DiskQueue(tmp(), { maxBytes: 64 << 20 });
  const big = 'y'.repeat(3 << 20);
  q.append('a');
  q.append(big);
  q.append('b');
  deepStrictEqual(drain(q, 10), ['a', big, 'b']);
  q.close();
});
