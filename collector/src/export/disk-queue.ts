/**
 * The durable queue between the pipeline and the exporter: what the OTel SDK's
 * BatchLogRecordProcessor keeps in memory (and silently drops in bursts, see
 * MACHINE.md), kept on disk instead.
 *
 * Layout in `dir`: append-only segment files `<16-digit seq>.seg` of frames
 * `[u32 LE length][u32 LE crc32][payload]`, and `ack.json` = the position up to
 * which the exporter has delivered. Fully acknowledged segments are deleted.
 *
 * Durability (documented policy):
 *  - `append()` buffers in memory; the buffer is written to the segment file
 *    every `flushIntervalMs` (default 20 ms), when it passes 1 MiB, before a read
 *    and on close. Once written, a record survives a crash of the collector
 *    (SIGKILL included): it is in the kernel's page cache.
 *  - fdatasync runs at most every `fsyncIntervalMs` (default 1 s; 0 = after
 *    every write) and on rotate/close, bounding what a power loss can take.
 *  - `ack.json` is replaced atomically (write + rename) after each delivered
 *    batch; after a crash, batches delivered but not yet acknowledged are sent
 *    again (at-least-once: duplicates are possible, loss is not).
 *  - On open, a torn frame at the end of a segment (crash mid-write) is cut off.
 *
 * Bound: when the queue holds more than `maxBytes`, the oldest segment is
 * deleted and its unacknowledged records are counted in `dropped`.
 */
import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  readFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export interface DiskQueueOptions {
  /** Bound on all segments together. Default 256 MiB. */
  maxBytes?: number;
  /** Segment size before rotation; at most maxBytes/4. Default 8 MiB. */
  segmentBytes?: number;
  /** Write buffered appends at least this often. Default 20 ms. */
  flushIntervalMs?: number;
  /** fdatasync at most this often; 0 = after every write. Default 1000 ms. */
  fsyncIntervalMs?: number;
}

/** A place in the queue: segment sequence number and byte offset in it. */
export interface Position {
  seg: number;
  off: number;
}

/** Records handed to the exporter; acknowledge with {@link DiskQueue.ack} once delivered. */
export interface Batch {
  records: string[];
  bytes: number;
  start: Position;
  end: Position;
}

interface Segment {
  seq: number;
  path: string;
  /** Bytes in the segment, written or buffered. */
  bytes: number;
  /** Bytes written to the file. */
  written: number;
  records: number;
}

const HEADER = 8;
const WRITE_BUFFER_MAX = 1 << 20;
const segName = (seq: number) => `${String(seq).padStart(16, '0')}.seg`;
const before = (a: Position, b: Position) => a.seg < b.seg || (a.seg === b.seg && a.off < b.off);

export class DiskQueue {
  private readonly segments: Segment[] = [];
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly fsyncIntervalMs: number;
  private fd: number;
  private readFd?: { seq: number; fd: number };
  private buffer: Buffer[] = [];
  private bufferBytes = 0;
  private ackPos: Position;
  private readPos: Position;
  /** Records of the head segment before ackPos. */
  private ackedInHead = 0;
  private lastSync = Date.now();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** Unacknowledged records deleted because the queue was full. */
  dropped = 0;
  /** Bytes cut from segment ends on open (torn or corrupt frames after a crash). */
  recoveredTornBytes = 0;
  /** Records appended since open. */
  appended = 0;

  constructor(
    readonly dir: string,
    opts: DiskQueueOptions = {}
  ) {
    this.maxBytes = opts.maxBytes ?? 256 * 1024 ** 2;
    this.segmentBytes = Math.max(
      4096,
      Math.min(opts.segmentBytes ?? 8 * 1024 ** 2, Math.floor(this.maxBytes / 4))
    );
    this.fsyncIntervalMs = opts.fsyncIntervalMs ?? 1000;
    mkdirSync(dir, { recursive: true });
    this.ackPos = this.readAck();
    for (const name of readdirSync(dir)
      .filter((n) => /^\d{16}\.seg$/.test(n))
      .sort()) {
      const seq = Number(name.slice(0, 16));
      const path = join(dir, name);
      if (seq < this.ackPos.seg) {
        unlinkSync(path);
        continue;
      }
      this.segments.push(this.recover(seq, path));
    }
    if (!this.segments.length || this.tail.bytes >= this.segmentBytes)
      this.segments.push(this.newSegment((this.segments.at(-1)?.seq ?? this.ackPos.seg - 1) + 1));
    this.fd = openSync(this.tail.path, 'a');
    if (this.ackPos.seg < this.segments[0].seq) this.ackPos = { seg: this.segments[0].seq, off: 0 };
    this.ackedInHead = this.countFrames(
      this.segments[0],
      this.ackPos.seg === this.segments[0].seq ? this.ackPos.off : 0
    );
    this.readPos = { ...this.ackPos };
    this.timer = setInterval(() => this.flush(), opts.flushIntervalMs ?? 20);
    this.timer.unref();
  }

  private get tail(): Segment {
    return this.segments[this.segments.length - 1];
  }

  private readAck(): Position {
    try {
      const p = JSON.parse(readFileSync(join(this.dir, 'ack.json'), 'utf8')) as Position;
      if (Number.isSafeInteger(p.seg) && Number.isSafeInteger(p.off)) return p;
    } catch {
      /* no ack yet: start at the beginning */
    }
    return { seg: 0, off: 0 };
  }

  private newSegment(seq: number): Segment {
    const path = join(this.dir, segName(seq));
    writeFileSync(path, '', { flag: 'a' });
    return { seq, path, bytes: 0, written: 0, records: 0 };
  }

  /** Count valid frames; cut a torn or corrupt end. */
  private recover(seq: number, path: string): Segment {
    const seg: Segment = { seq, path, bytes: 0, written: 0, records: 0 };
    const fd = openSync(path, 'r+');
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) got += readSync(fd, buf, got, size - got, got);
      let off = 0;
      while (off + HEADER <= size) {
        const len = buf.readUInt32LE(off);
        if (
          off + HEADER + len > size ||
          crc32(buf.subarray(off + HEADER, off + HEADER + len)) !== buf.readUInt32LE(off + 4)
        )
          break;
        off += HEADER + len;
        seg.records++;
      }
      if (off < size) {
        ftruncateSync(fd, off);
        this.recoveredTornBytes += size - off;
      }
      seg.bytes = seg.written = off;
    } finally {
      closeSync(fd);
    }
    return seg;
  }

  /** Frames in `seg` before byte offset `end`. */
  private countFrames(seg: Segment, end: number): number {
    if (end === 0) return 0;
    const fd = openSync(seg.path, 'r');
    try {
      const h = Buffer.allocUnsafe(HEADER);
      let off = 0;
      let n = 0;
      while (off < end && readSync(fd, h, 0, HEADER, off) === HEADER) {
        off += HEADER + h.readUInt32LE(0);
        n++;
      }
      return n;
    } finally {
      closeSync(fd);
    }
  }

  /** Queue one record (buffered; durable once written, see the policy above). */
  append(payload: string): void {
    if (this.closed) throw new Error('queue closed');
    const len = Buffer.byteLength(payload);
    const frame = Buffer.allocUnsafe(HEADER + len);
    frame.write(payload, HEADER);
    frame.writeUInt32LE(len, 0);
    frame.writeUInt32LE(crc32(frame.subarray(HEADER)), 4);
    if (this.tail.bytes > 0 && this.tail.bytes + frame.length > this.segmentBytes) this.rotate();
    this.buffer.push(frame);
    this.bufferBytes += frame.length;
    this.tail.bytes += frame.length;
    this.tail.records++;
    this.appended++;
    if (this.bufferBytes >= WRITE_BUFFER_MAX) this.flush();
    this.enforceBound();
  }

  /** Write the buffer to the open segment (and fdatasync per policy). */
  flush(): void {
    if (this.closed) return;
    if (this.bufferBytes) {
      const data = this.buffer.length === 1 ? this.buffer[0] : Buffer.concat(this.buffer, this.bufferBytes);
      let done = 0;
      while (done < data.length) done += writeSync(this.fd, data, done);
      this.tail.written += data.length;
      this.buffer = [];
      this.bufferBytes = 0;
    }
    if (
      this.tail.written &&
      (this.fsyncIntervalMs === 0 || Date.now() - this.lastSync >= this.fsyncIntervalMs)
    )
      this.sync();
  }

  private sync(): void {
    fdatasyncSync(this.fd);
    this.lastSync = Date.now();
  }

  private rotate(): void {
    this.flush();
    this.sync();
    closeSync(this.fd);
    this.segments.push(this.newSegment(this.tail.seq + 1));
    this.fd = openSync(this.tail.path, 'a');
  }

  /** Over the bound: delete the oldest segments (never the one being written). */
  private enforceBound(): void {
    while (this.bytes > this.maxBytes && this.segments.length > 1) {
      const head = this.segments.shift()!;
      this.dropped += head.records - this.ackedInHead;
      this.ackedInHead = 0;
      this.closeReadFd(head.seq);
      unlinkSync(head.path);
      const next = { seg: this.segments[0].seq, off: 0 };
      if (before(this.ackPos, next)) this.ackPos = next;
      if (before(this.readPos, next)) this.readPos = next;
      this.writeAck();
    }
  }

  /** Bytes held (unacknowledged and acknowledged-but-not-yet-deleted). */
  get bytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.bytes;
    return n;
  }

  /** Records not yet acknowledged. */
  get depth(): number {
    let n = -this.ackedInHead;
    for (const s of this.segments) n += s.records;
    return n;
  }

  private segment(seq: number): Segment | undefined {
    return this.segments.find((s) => s.seq === seq);
  }

  private closeReadFd(seq?: number): void {
    if (this.readFd && (seq === undefined || this.readFd.seq === seq)) {
      closeSync(this.readFd.fd);
      this.readFd = undefined;
    }
  }

  /**
   * The next records after those already read, up to `maxRecords` and about
   * `maxBytes`; undefined when there are none. Reading does not remove: call
   * {@link ack} after delivery, or {@link rewind} to read again.
   */
  read(maxRecords: number, maxBytes: number): Batch | undefined {
    if (this.bufferBytes) this.flush();
    const start = { ...this.readPos };
    const records: string[] = [];
    let bytes = 0;
    while (records.length < maxRecords && bytes < maxBytes) {
      const seg = this.segment(this.readPos.seg);
      if (!seg) break;
      if (this.readPos.off >= seg.written) {
        if (seg === this.tail) break;
        this.closeReadFd(seg.seq);
        this.readPos = { seg: this.segments[this.segments.indexOf(seg) + 1].seq, off: 0 };
        continue;
      }
      if (this.readFd?.seq !== seg.seq) {
        this.closeReadFd();
        this.readFd = { seq: seg.seq, fd: openSync(seg.path, 'r') };
      }
      const want = Math.min(seg.written - this.readPos.off, Math.max(maxBytes - bytes, 64 * 1024));
      const buf = Buffer.allocUnsafe(want);
      const got = readSync(this.readFd.fd, buf, 0, want, this.readPos.off);
      let off = 0;
      while (off + HEADER <= got && records.length < maxRecords) {
        const len = buf.readUInt32LE(off);
        if (off + HEADER + len > got) {
          if (off === 0) {
            // One record larger than the chunk: read exactly it.
            const big = Buffer.allocUnsafe(len);
            readSync(this.readFd.fd, big, 0, len, this.readPos.off + HEADER);
            records.push(big.toString('utf8'));
            off = HEADER + len;
            bytes += len;
          }
          break;
        }
        records.push(buf.toString('utf8', off + HEADER, off + HEADER + len));
        off += HEADER + len;
        bytes += len;
        if (bytes >= maxBytes) break;
      }
      this.readPos = { seg: seg.seq, off: this.readPos.off + off };
    }
    if (!records.length) return undefined;
    return { records, bytes, start, end: { ...this.readPos } };
  }

  /** Read again from the oldest unacknowledged record (after a failed delivery). */
  rewind(): void {
    this.readPos = { ...this.ackPos };
  }

  /**
   * Mark everything up to `batch.end` delivered: persisted atomically, and
   * segments wholly before it deleted. Batches must be acknowledged in order.
   */
  ack(batch: Batch): void {
    if (this.closed || !before(this.ackPos, batch.end)) return; // already dropped or acknowledged
    const sameSegment = batch.start.seg === batch.end.seg && batch.start.seg === this.ackPos.seg;
    this.ackPos = { ...batch.end };
    while (this.segments.length > 1 && this.segments[0].seq < this.ackPos.seg) {
      const s = this.segments.shift()!;
      this.closeReadFd(s.seq);
      unlinkSync(s.path);
    }
    // Crossing into a new segment is rare (once per segment): count its frames then.
    this.ackedInHead = sameSegment
      ? this.ackedInHead + batch.records.length
      : this.countFrames(this.segments[0], this.ackPos.seg === this.segments[0].seq ? this.ackPos.off : 0);
    this.writeAck();
  }

  private writeAck(): void {
    const tmp = join(this.dir, 'ack.json.tmp');
    writeFileSync(tmp, JSON.stringify(this.ackPos));
    renameSync(tmp, join(this.dir, 'ack.json'));
  }

  /** Write and fdatasync what is buffered, then close. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.sync();
    this.closed = true;
    clearInterval(this.timer);
    closeSync(this.fd);
    this.closeReadFd();
  }
}
