/**
 * The durable queue under damaged files: flipped bits, a frame cut short in
 * the middle, garbage between and inside frames, a partial write followed by
 * more appends, damage that appears after open. Every test knows exactly which
 * records the damage destroyed and checks that all others come back, in
 * order, and that the loss is counted.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DiskQueue } from '../src/export/disk-queue';
import { FRAME_HEADER, scanSegment } from '../src/export/queue-frame';
import { CollectorMetrics } from '../src/observability/metrics';

const tmp = () => mkdtempSync(join(tmpdir(), 'casefile-queue-bad-'));
const rec = (i: number) => JSON.stringify({ id: `e${i}`, pad: 'x'.repeat(60 + (i % 50)) });
const ids = (records: string[]) => records.map((r) => Number((JSON.parse(r) as { id: string }).id.slice(1)));

/** A deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function drain(q: DiskQueue): string[] {
  const out: string[] = [];
  for (let b = q.read(97, 1 << 20); b; b = q.read(97, 1 << 20)) {
    out.push(...b.records);
    q.ack(b);
  }
  return out;
}

/** Write n records through a closed queue; where each frame lies on disk. */
function filled(n: number, segmentBytes = 16384) {
  const dir = tmp();
  const q = new DiskQueue(dir, { segmentBytes, maxBytes: 64 << 20 });
  for (let i = 0; i < n; i++) void q.append(rec(i));
  q.close();
  const frames: Array<{ id: number; file: string; off: number; size: number }> = [];
  let id = 0;
  for (const f of segFiles(dir)) {
    const buf = readFileSync(f);
    const scan = scanSegment(buf, buf.length);
    equal(scan.bad.length + (scan.tail ? 1 : 0), 0, 'a fresh queue file is clean');
    scan.starts.forEach((off, i) => {
      const end = scan.starts[i + 1] ?? buf.length;
      frames.push({ id: id++, file: f, off, size: end - off });
    });
  }
  equal(frames.length, n);
  return { dir, frames };
}

const segFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(dir, f));

const range = (n: number, skip: Set<number> = new Set()) =>
  Array.from({ length: n }, (_, i) => i).filter((i) => !skip.has(i));

test('flipped bits: each damaged frame is skipped and counted, every other record comes back', () => {
  const n = 3000;
  const { dir, frames } = filled(n);
  const rnd = prng(11);
  const hit = new Set<number>();
  let bytes = 0;
  // 40 single-bit flips in 40 frames that are not neighbours (a run of neighbours is one stretch).
  while (hit.size < 40) {
    const f = frames[Math.floor(rnd() * n)];
    if (hit.has(f.id) || hit.has(f.id - 1) || hit.has(f.id + 1)) continue;
    hit.add(f.id);
    bytes += f.size;
    const buf = readFileSync(f.file);
    // Some in the header (magic, length, CRC), the rest in the payload.
    const at = f.off + (hit.size % 4 === 0 ? Math.floor(rnd() * FRAME_HEADER) : Math.floor(rnd() * f.size));
    buf[at] ^= 1 << Math.floor(rnd() * 8);
    writeFileSync(f.file, buf);
  }
  const q = new DiskQueue(dir, { segmentBytes: 16384, maxBytes: 64 << 20 });
  equal(q.depth, n - hit.size);
  equal(q.corruptRecords, hit.size, 'one record counted per damaged frame');
  equal(q.corruptBytes, bytes, 'the damaged frames are exactly the skipped bytes');
  void q.append(rec(n));
  deepStrictEqual(ids(drain(q)), [...range(n, hit), n]);
  q.close();
});

test('a frame cut short in the middle of a segment: that record is lost, the rest of the segment is not', () => {
  const { dir, frames } = filled(1000);
  const victim = frames.find(
    (f) => f.id > 10 && f.file === frames[0].file && frames[f.id + 5]?.file === f.file
  )!;
  const buf = readFileSync(victim.file);
  // Remove the second half of the frame: the next frame now starts inside the expected payload.
  const cut = Math.floor(victim.size / 2);
  writeFileSync(
    victim.file,
    Buffer.concat([buf.subarray(0, victim.off + cut), buf.subarray(victim.off + victim.size)])
  );
  const q = new DiskQueue(dir, { segmentBytes: 16384, maxBytes: 64 << 20 });
  equal(q.corruptRecords, 1);
  equal(q.corruptBytes, cut);
  deepStrictEqual(ids(drain(q)), range(1000, new Set([victim.id])));
  q.close();
});

test('garbage between frames loses nothing; garbage over a frame loses that one; both counted', () => {
  const { dir, frames } = filled(1000);
  const rnd = prng(7);
  const garbage = Buffer.from(Array.from({ length: 500 }, () => Math.floor(rnd() * 256)));
  const between = frames[100];
  const over = frames[400];
  ok(between.file !== over.file, 'two different segments');
  const a = readFileSync(between.file);
  writeFileSync(between.file, Buffer.concat([a.subarray(0, between.off), garbage, a.subarray(between.off)]));
  const b = readFileSync(over.file);
  garbage.copy(b, over.off + 5, 0, Math.min(over.size - 5, 40));
  writeFileSync(over.file, b);
  const q = new DiskQueue(dir, { segmentBytes: 16384, maxBytes: 64 << 20 });
  deepStrictEqual(ids(drain(q)), range(1000, new Set([over.id])));
  equal(q.corruptBytes, 500 + over.size);
  // The count is an upper bound: a stretch without a frame start still counts one record.
  equal(q.corruptRecords, 2);
  q.close();
});

test('a partial write at the end followed by more appends: cut back to the last whole frame, nothing misaligned', () => {
  const { dir, frames } = filled(500);
  const last = frames.at(-1)!;
  const size = statSync(last.file).size;
  // As after a crash mid-write: the first 30 bytes of a frame, then the queue appends again.
  const q0 = new DiskQueue(tmp(), {});
  void q0.append(rec(9999));
  q0.close();
  const partial = readFileSync(segFiles(q0.dir)[0]).subarray(0, 30);
  writeFileSync(last.file, Buffer.concat([readFileSync(last.file), partial]));
  const q = new DiskQueue(dir, { segmentBytes: 16384, maxBytes: 64 << 20 });
  equal(q.recoveredTornBytes, 30);
  equal(q.corruptRecords, 0, 'a torn end is not counted as damage: its append never resolved');
  equal(statSync(last.file).size, size);
  for (let i = 500; i < 600; i++) void q.append(rec(i));
  q.flush();
  for (const f of segFiles(dir)) {
    const buf = readFileSync(f);
    const scan = scanSegment(buf, buf.length);
    equal(scan.bad.length + (scan.tail ? 1 : 0), 0, `${f} aligned`);
  }
  deepStrictEqual(ids(drain(q)), range(600));
  q.close();
});

test('damage that appears while the queue is open is found by the reader, skipped and counted', () => {
  const dir = tmp();
  const q = new DiskQueue(dir, { segmentBytes: 1 << 20, maxBytes: 64 << 20 });
  for (let i = 0; i < 200; i++) void q.append(rec(i));
  q.flush();
  const [file] = segFiles(dir);
  const buf = readFileSync(file);
  const scan = scanSegment(buf, buf.length);
  buf[scan.starts[50] + FRAME_HEADER + 3] ^= 0x10; // payload of record 50
  buf[scan.starts[120] + 1] ^= 0x01; // magic of record 120
  writeFileSync(file, buf);
  deepStrictEqual(ids(drain(q)), range(200, new Set([50, 120])));
  equal(q.corruptRecords, 2);
  equal(q.corruptBytes, scan.starts[51] - scan.starts[50] + (scan.starts[121] - scan.starts[120]));
  equal(q.depth, 0);
  q.close();
});

test('an unreadable segment (here a directory in its place) is skipped and logged, never written over', () => {
  const { dir, frames } = filled(300);
  const files = segFiles(dir);
  const last = files.at(-1)!;
  const lost = frames.filter((f) => f.file === last).map((f) => f.id);
  rmSync(last);
  mkdirSync(last); // reading it fails (EISDIR), as a file with EIO would
  const errors: string[] = [];
  const log = { warn() {}, error: (_f: object, msg: string) => void errors.push(msg) };
  const q = new DiskQueue(dir, { segmentBytes: 16384, maxBytes: 64 << 20, log });
  ok(errors.includes('queue segment unreadable; skipped'));
  void q.append(rec(300));
  deepStrictEqual(ids(drain(q)), [...range(300, new Set(lost)), 300]);
  ok(statSync(last).isDirectory(), 'left in place');
  q.close();
});

test('the damage counters are on /metrics', async () => {
  const { dir, frames } = filled(100);
  const f = frames[42];
  const buf = readFileSync(f.file);
  buf[f.off + FRAME_HEADER] ^= 0x20;
  writeFileSync(f.file, buf);
  const q = new DiskQueue(dir, { segmentBytes: 16384, maxBytes: 64 << 20 });
  const metrics = new CollectorMetrics({
    eventsBySourceType: new Map(),
    invalidBySource: new Map(),
    dropped: () => ({}),
    queue: () => q.stats(),
    sources: () => [],
    redacted: () => 0,
  });
  const text = await metrics.registry.metrics();
  ok(text.includes(`casefile_queue_corrupt_bytes_total ${f.size}`), text);
  ok(text.includes('casefile_queue_corrupt_records_total 1'));
  ok(text.includes('casefile_queue_dropped_full_total{cause="bound"} 0'));
  ok(text.includes('casefile_queue_dropped_full_total{cause="disk"} 0'));
  ok(text.includes('casefile_queue_writable 1'));
  ok(text.includes('casefile_queue_depth 99'));
  q.close();
});
