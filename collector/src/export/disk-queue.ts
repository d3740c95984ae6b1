/**
 * The durable queue between the pipeline and the exporter: what the OTel SDK's
 * BatchLogRecordProcessor keeps in memory (and silently drops in bursts, see
 * MACHINE.md), kept on disk instead.
 *
 * Layout in `dir`: segment files `<16-digit seq>.seg` of frames (format and
 * resynchronisation in ./queue-frame.ts), and `ack.json` = the position up to
 * which the exporter has delivered. Fully acknowledged segments are deleted.
 *
 * Durability (the promise; collector/README.md "Durable queue"):
 *  - Group commit: appended frames are held in memory and written with one
 *    positional write plus fdatasync every `flushIntervalMs` (default 20 ms),
 *    when they pass 1 MiB, before a read and on close. The write is
 *    synchronous (page cache); the fdatasync runs on libuv's thread pool, one
 *    at a time, so a slow disk never blocks the event loop (the sources keep
 *    reading); rotation and close sync in place. The promise `append()`
 *    returns resolves `true` only after the fdatasync that covers the record:
 *    a resolved record survives SIGKILL and power loss. A SIGKILL or power cut
 *    loses at most the records whose promise has not resolved yet (one group,
 *    ≤ `flushIntervalMs` of events). `fsyncIntervalMs` > 0 trades that for
 *    fewer fdatasyncs: records are written each group (SIGKILL-safe) but
 *    resolve, and are power-safe, only at the next fdatasync.
 *  - A failed write or fdatasync (full disk, EIO) is truncated back to the last
 *    good frame, so a partial write never misaligns the file; the records stay
 *    in memory and the write is retried with backoff. While the disk refuses,
 *    at most `maxPendingBytes` wait in memory; beyond that new records are
 *    dropped, counted in `droppedDiskFull` and resolve `false`.
 *  - `ack.json` is replaced atomically after each delivered batch (retried if
 *    the disk refuses); after a crash, batches delivered but not yet
 *    acknowledged are sent again (at-least-once: duplicates, no loss).
 *  - Damaged frames are skipped, never cut off: the reader resynchronises at
 *    the next valid frame and counts the skipped bytes and records. A torn end
 *    of the last segment (crash mid-write) is truncated on open.
 *
 * Read-ahead in memory (`memoryBytes` > 0): the records of frames written but
 * not yet read are also kept in memory (up to that many payload bytes) and
 * handed to the reader from there, with the value given to `append()`, so the
 * frames written moments ago are not read back and parsed again. The reader
 * reads the disk after a restart, past the bound, and after a rewind; what is
 * written, synced and acknowledged is the same either way.
 *
 * Bound: when the queue holds more than `maxBytes`, the oldest segment is
 * deleted and its unacknowledged records are counted in `droppedBound`.
 * Nothing here throws after construction except `append()` on a closed queue.
 */
import {
  closeSync,
  constants,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  FRAME_HEADER,
  checkFrame,
  encodeFrame,
  framesIn,
  nextFrame,
  scanSegment,
  type BadRange,
} from './queue-frame';

/** Where the queue reports what it could not do (a pino logger fits). */
export interface QueueLog {
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface DiskQueueOptions {
  /** Bound on all segments together. Default 256 MiB. */
  maxBytes?: number;
  /** Segment size before rotation; at most maxBytes/4. Default 8 MiB. */
  segmentBytes?: number;
  /** Group commit period: write (and fdatasync) appended records at least this often. Default 20 ms. */
  flushIntervalMs?: number;
  /** fdatasync at most this often; 0 = every group commit. Default 0. */
  fsyncIntervalMs?: number;
  /** Records held in memory while the disk refuses writes. Default min(16 MiB, maxBytes/4). */
  maxPendingBytes?: number;
  /** Payload bytes of written, unread records kept in memory for the reader (see above); 0 = off. Default 0. */
  memoryBytes?: number;
  log?: QueueLog;
}

/** A place in the queue: segment sequence number and byte offset in it. */
export interface Position {
  seg: number;
  off: number;
}

/** Records handed to the exporter; acknowledge with {@link DiskQueue.ack} once delivered. */
export interface Batch {
  records: string[];
  /** Per record, the value given to `append()` when it came from memory; undefined when read from disk. */
  memos: unknown[];
  bytes: number;
  start: Position;
  end: Position;
}

/** The queue's counters, for /metrics and /healthz. */
export interface QueueStats {
  depth: number;
  bytes: number;
  appended: number;
  /** Bytes waiting in memory for the disk. */
  pendingBytes: number;
  droppedBound: number;
  droppedDiskFull: number;
  corruptBytes: number;
  corruptRecords: number;
  writable: boolean;
}

interface Segment {
  seq: number;
  path: string;
  /** Bytes of whole frames in the file (valid or skipped): the next write goes here. */
  written: number;
  /** Valid frames in the file. */
  records: number;
  /** Damaged stretches the reader jumps over, in order. */
  bad: BadRange[];
}

/** A written, unread record kept for the reader: where its frame lies, and what append() was given. */
interface Unread {
  seg: number;
  off: number;
  size: number;
  payload: string;
  memo: unknown;
}

/** Appends waiting for the commit that makes them durable. */
interface Group {
  /** Sequence number (appended count) of the group's last record. */
  last: number;
  promise: Promise<boolean>;
  resolve: (durable: boolean) => void;
}

const COMMIT_AT_BYTES = 1 << 20;
const READ_CHUNK = 64 * 1024;
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2000;
const DROPPED = Promise.resolve(false);
const NO_LOG: QueueLog = { warn() {}, error() {} };
const segName = (seq: number) => `${String(seq).padStart(16, '0')}.seg`;
const before = (a: Position, b: Position) => a.seg < b.seg || (a.seg === b.seg && a.off < b.off);
const errText = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);

export class DiskQueue {
  private readonly segments: Segment[] = [];
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly fsyncIntervalMs: number;
  private readonly maxPendingBytes: number;
  private readonly commitAtBytes: number;
  private readonly log: QueueLog;
  /** Write fd of the tail segment, opened at its first write. */
  private fd?: number;
  private readFd?: { seq: number; fd: number };
  /** Frames appended, not yet written. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Per pending frame, what goes to `unread` once it is written (undefined: past memoryBytes). */
  private pendingUnread: Array<Unread | undefined> = [];
  /** Written frames not yet read, in file order, and their payload bytes (read-ahead, see above). */
  private unread: Unread[] = [];
  private unreadBytes = 0;
  private readonly memoryBytes: number;
  /** Frames written to the tail since its last fdatasync (rewritten if that fails), and where they start. */
  private unsynced: Buffer[] = [];
  private syncedOff = 0;
  /** The fdatasync on the thread pool: what it covers, and whether its fd is to be closed after it. */
  private syncing?: { fd: number; seq: number; written: number; off: number; retire: boolean };
  private groups: Group[] = [];
  /** Frames accepted into pending since open, and how many of them are written. */
  private accepted = 0;
  private written = 0;
  /** The last segment could not be repaired on open: write to a new one. */
  private sealTail = false;
  private ackPos: Position;
  private readPos: Position;
  /** Records of the head segment before ackPos. */
  private ackedInHead = 0;
  private ackDirty = false;
  private lastSync = Date.now();
  /** While writes fail: the first error, and when to try again. */
  private failing?: { error: string; since: number; retryAt: number; delay: number };
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** Records appended since open (dropped ones included). */
  appended = 0;
  /** Unacknowledged records deleted because the queue passed maxBytes. */
  droppedBound = 0;
  /** Records refused because the disk refused writes and memory held maxPendingBytes. */
  droppedDiskFull = 0;
  /** Bytes of damaged frames skipped (after the acknowledged position). */
  corruptBytes = 0;
  /** Records lost in those bytes (frame starts found in them, at least one per stretch). */
  corruptRecords = 0;
  /** Bytes cut from the end of the last segment on open (a write cut short by a crash). */
  recoveredTornBytes = 0;

  constructor(
    readonly dir: string,
    opts: DiskQueueOptions = {}
  ) {
    this.maxBytes = opts.maxBytes ?? 256 * 1024 ** 2;
    this.segmentBytes = Math.max(
      4096,
      Math.min(opts.segmentBytes ?? 8 * 1024 ** 2, Math.floor(this.maxBytes / 4))
    );
    this.fsyncIntervalMs = opts.fsyncIntervalMs ?? 0;
    this.maxPendingBytes = opts.maxPendingBytes ?? Math.min(16 * 1024 ** 2, Math.floor(this.maxBytes / 4));
    this.commitAtBytes = Math.min(COMMIT_AT_BYTES, Math.max(1, this.maxPendingBytes >> 1));
    this.memoryBytes = opts.memoryBytes ?? 0;
    this.log = opts.log ?? NO_LOG;
    mkdirSync(dir, { recursive: true });
    this.ackPos = this.readAck();
    const names = readdirSync(dir)
      .filter((n) => /^\d{16}\.seg$/.test(n))
      .sort();
    for (const [i, name] of names.entries()) {
      const seq = Number(name.slice(0, 16));
      const path = join(dir, name);
      if (seq < this.ackPos.seg) this.unlink(path);
      else
        try {
          this.segments.push(this.recover(seq, path, i === names.length - 1));
        } catch (err) {
          // Unreadable (EIO, EACCES): left in place for a person to look at, never written over.
          this.sealTail = true;
          this.log.error({ segment: path, error: errText(err) }, 'queue segment unreadable; skipped');
        }
    }
    const lastSeq = names.length ? Number(names[names.length - 1].slice(0, 16)) : this.ackPos.seg - 1;
    if (!this.segments.length || this.sealTail || this.tail.written >= this.segmentBytes)
      this.segments.push(this.emptySegment(Math.max(lastSeq, this.ackPos.seg - 1) + 1));
    this.syncedOff = this.tail.written;
    if (this.ackPos.seg < this.segments[0].seq) this.ackPos = { seg: this.segments[0].seq, off: 0 };
    this.readPos = { ...this.ackPos };
    this.timer = setInterval(() => this.commit(), opts.flushIntervalMs ?? 20);
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

  private emptySegment(seq: number): Segment {
    return { seq, path: join(this.dir, segName(seq)), written: 0, records: 0, bad: [] };
  }

  /** Read a segment back: count its frames, note damaged stretches, cut a torn end of the last one. */
  private recover(seq: number, path: string, last: boolean): Segment {
    const seg = this.emptySegment(seq);
    const buf = readFileSync(path);
    const scan = scanSegment(buf, buf.length);
    const ackOff = seq === this.ackPos.seg ? this.ackPos.off : 0;
    seg.records = scan.starts.length;
    if (seq === this.ackPos.seg) this.ackedInHead = scan.starts.filter((s) => s < ackOff).length;
    seg.bad = scan.bad;
    for (const r of scan.bad) if (r.end > ackOff) this.countCorrupt(seg, r, framesIn(buf, r.start, r.end));
    seg.written = buf.length;
    const t = scan.tail;
    if (t) {
      if (!t.torn && t.end > ackOff) this.countCorrupt(seg, t, framesIn(buf, t.start, t.end));
      if (last) {
        try {
          const fd = openSync(path, 'r+');
          try {
            ftruncateSync(fd, t.start);
          } finally {
            closeSync(fd);
          }
          seg.written = t.start;
          if (t.torn) this.recoveredTornBytes += t.end - t.start;
        } catch (err) {
          // Leave the file as it is and write to a new segment instead.
          seg.bad.push({ start: t.start, end: t.end });
          this.sealTail = true;
          this.log.warn(
            { segment: path, error: errText(err) },
            'could not cut the torn end of a queue segment'
          );
        }
      } else seg.bad.push({ start: t.start, end: t.end });
    }
    return seg;
  }

  /** Count and log a damaged stretch. */
  private countCorrupt(seg: Segment, r: BadRange, records: number): void {
    this.corruptBytes += r.end - r.start;
    this.corruptRecords += records;
    this.log.error(
      { segment: seg.path, offset: r.start, bytes: r.end - r.start, records },
      'damaged queue frames skipped; resynchronised at the next valid frame'
    );
  }

  /**
   * Queue one record. Resolves `true` once it is written and fdatasync'd (see
   * the policy above), `false` when it was dropped because the disk refuses
   * writes and memory is full. Never rejects. `memo` (e.g. the record
   * `payload` encodes) comes back in {@link Batch.memos} when the record is
   * read from memory.
   */
  append(payload: string, memo?: unknown): Promise<boolean> {
    if (this.closed) throw new Error('queue closed');
    this.appended++;
    const frame = encodeFrame(payload);
    if (this.pendingBytes > 0 && this.pendingBytes + frame.length > this.maxPendingBytes) {
      this.droppedDiskFull++;
      return DROPPED;
    }
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    const size = frame.length - FRAME_HEADER;
    if (this.unreadBytes + size <= this.memoryBytes) {
      this.pendingUnread.push({ seg: 0, off: 0, size, payload, memo });
      this.unreadBytes += size;
    } else this.pendingUnread.push(undefined);
    this.accepted++;
    let g = this.groups.at(-1);
    if (!g || g.last <= this.written) {
      let resolve!: (d: boolean) => void;
      const promise = new Promise<boolean>((r) => (resolve = r));
      g = { last: 0, promise, resolve };
      this.groups.push(g);
    }
    g.last = this.accepted;
    if (this.pendingBytes >= this.commitAtBytes) this.commit();
    return g.promise;
  }

  /** Write and fdatasync what is pending now (also done by the timer). Never throws. */
  flush(): void {
    this.commit(true);
  }

  /** Group commit: write pending frames, fdatasync per policy, resolve the groups covered. */
  private commit(force = false): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.failing && !force && now < this.failing.retryAt) return;
    try {
      while (this.pending.length) this.writeSome();
      if (force) this.syncNow();
      else if (
        this.unsynced.length &&
        (this.fsyncIntervalMs === 0 || now - this.lastSync >= this.fsyncIntervalMs)
      )
        this.startSync();
      if (this.ackDirty) this.writeAck();
      if (this.failing) {
        this.log.warn(
          {
            error: this.failing.error,
            forMs: now - this.failing.since,
            droppedDiskFull: this.droppedDiskFull,
          },
          'queue writes work again'
        );
        this.failing = undefined;
      }
    } catch (err) {
      this.failed(err, now);
    }
    this.enforceBound();
  }

  /** A write or fdatasync failed: back off (the records wait in memory), log once per episode. */
  private failed(err: unknown, now: number): void {
    const delay = this.failing ? Math.min(this.failing.delay * 2, RETRY_MAX_MS) : RETRY_MIN_MS;
    if (!this.failing)
      this.log.error(
        { error: errText(err), pendingBytes: this.pendingBytes },
        'queue write failed; holding records in memory and retrying'
      );
    this.failing = { error: errText(err), since: this.failing?.since ?? now, retryAt: now + delay, delay };
  }

  /** Write the pending frames that fit in the tail segment (rotating first when it is full). */
  private writeSome(): void {
    if (this.tail.written > 0 && this.tail.written + this.pending[0].length > this.segmentBytes)
      this.rotate();
    const seg = this.tail;
    const fd = this.writeFd();
    let n = 0;
    let bytes = 0;
    while (
      n < this.pending.length &&
      (n === 0 || seg.written + bytes + this.pending[n].length <= this.segmentBytes)
    )
      bytes += this.pending[n++].length;
    const frames = this.pending.slice(0, n);
    const data = n === 1 ? frames[0] : Buffer.concat(frames, bytes);
    try {
      for (let done = 0; done < bytes;) done += writeSync(fd, data, done, bytes - done, seg.written + done);
    } catch (err) {
      this.cutBack(fd, seg.written);
      throw err;
    }
    // The frames are in the file now: their records wait for the reader in memory, at their places.
    let at = seg.written;
    for (let i = 0; i < n; i++) {
      const u = this.pendingUnread[i];
      if (u) {
        u.seg = seg.seq;
        u.off = at;
        this.unread.push(u);
      }
      at += frames[i].length;
    }
    this.pendingUnread.splice(0, n);
    seg.written += bytes;
    seg.records += n;
    this.pending.splice(0, n);
    this.pendingBytes -= bytes;
    this.unsynced.push(...frames);
    this.written += n;
  }

  /** Undo a partial write: the file ends at the last whole frame again. */
  private cutBack(fd: number, off: number): void {
    try {
      ftruncateSync(fd, off);
    } catch (err) {
      this.log.error({ error: errText(err), offset: off }, 'could not truncate a partial queue write');
    }
  }

  /** The tail's write fd; a new segment file is created (and its directory entry synced) here. */
  private writeFd(): number {
    if (this.fd !== undefined) return this.fd;
    const seg = this.tail;
    const fd = openSync(seg.path, constants.O_WRONLY | constants.O_CREAT, 0o600);
    try {
      if (fstatSync(fd).size !== seg.written) ftruncateSync(fd, seg.written);
      if (seg.written === 0) this.syncDir();
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.fd = fd;
    return fd;
  }

  /** Close a fd we are done with; a failure there loses nothing and must not escape a timer or callback. */
  private closeFd(fd: number): void {
    try {
      closeSync(fd);
    } catch (err) {
      this.log.warn({ error: errText(err) }, 'could not close a queue file');
    }
  }

  private syncDir(): void {
    const d = openSync(this.dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  }

  /** fdatasync the tail in place (rotation, flush, close); on failure its frames are written again later. */
  private syncNow(): void {
    if (this.fd === undefined || !this.unsynced.length) return;
    const at = { seq: this.tail.seq, written: this.written, off: this.tail.written };
    try {
      fdatasyncSync(this.fd);
    } catch (err) {
      this.rewriteUnsynced();
      throw err;
    }
    this.synced(at);
  }

  /** fdatasync the tail on the thread pool (one at a time); the commit timer goes on writing meanwhile. */
  private startSync(): void {
    if (this.fd === undefined || this.syncing) return;
    const at = {
      fd: this.fd,
      seq: this.tail.seq,
      written: this.written,
      off: this.tail.written,
      retire: false,
    };
    this.syncing = at;
    fdatasync(at.fd, (err) => {
      this.syncing = undefined;
      if (at.retire) this.closeFd(at.fd);
      if (this.closed) return;
      if (!err) return this.synced(at);
      // Unless a later sync in place covered it, what the kernel did with the pages is unknown: write again.
      if (at.seq === this.tail.seq && this.syncedOff < at.off) this.rewriteUnsynced();
      this.failed(err, Date.now());
    });
  }

  /** An fdatasync covering frames up to `at` succeeded: resolve their appends. */
  private synced(at: { seq: number; written: number; off: number }): void {
    this.lastSync = Date.now();
    if (at.seq === this.tail.seq)
      while (this.unsynced.length && this.syncedOff + this.unsynced[0].length <= at.off)
        this.syncedOff += this.unsynced.shift()!.length;
    while (this.groups.length && this.groups[0].last <= at.written) this.groups.shift()!.resolve(true);
  }

  /** After a failed fdatasync (fsyncgate): cut the tail back to the last synced frame, queue its frames again. */
  private rewriteUnsynced(): void {
    if (this.fd !== undefined) this.cutBack(this.fd, this.syncedOff);
    // Their records are read from disk once written again.
    const seq = this.tail.seq;
    while (this.unread.length && this.unread.at(-1)!.seg === seq && this.unread.at(-1)!.off >= this.syncedOff)
      this.unreadBytes -= this.unread.pop()!.size;
    this.pendingUnread.unshift(...this.unsynced.map(() => undefined));
    this.tail.written = this.syncedOff;
    this.tail.records -= this.unsynced.length;
    this.written -= this.unsynced.length;
    this.pending.unshift(...this.unsynced);
    for (const f of this.unsynced) this.pendingBytes += f.length;
    this.unsynced = [];
  }

  private rotate(): void {
    this.syncNow();
    this.retireFd();
    this.segments.push(this.emptySegment(this.tail.seq + 1));
    this.syncedOff = 0;
  }

  /** Close the tail's write fd, or leave that to the fdatasync still using it. */
  private retireFd(): void {
    if (this.fd === undefined) return;
    if (this.syncing?.fd === this.fd) this.syncing.retire = true;
    else this.closeFd(this.fd);
    this.fd = undefined;
  }

  /** Over the bound: delete the oldest segments (never the one being written). */
  private enforceBound(): void {
    while (this.bytes > this.maxBytes && this.segments.length > 1) {
      const head = this.segments.shift()!;
      this.droppedBound += head.records - this.ackedInHead;
      this.ackedInHead = 0;
      this.closeReadFd(head.seq);
      this.unlink(head.path);
      const next = { seg: this.segments[0].seq, off: 0 };
      if (before(this.ackPos, next)) this.ackPos = next;
      if (before(this.readPos, next)) this.readPos = next;
      this.writeAck();
    }
  }

  private unlink(path: string): void {
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn({ segment: path, error: errText(err) }, 'could not delete a queue segment');
    }
  }

  /** Bytes held: segments on disk (acknowledged-but-not-yet-deleted included) and records waiting in memory. */
  get bytes(): number {
    let n = this.pendingBytes;
    for (const s of this.segments) n += s.written;
    return n;
  }

  /** Records not yet acknowledged. */
  get depth(): number {
    let n = this.pending.length - this.ackedInHead;
    for (const s of this.segments) n += s.records;
    return n;
  }

  /** Every record lost on purpose: over the bound, or refused while the disk was full. */
  get dropped(): number {
    return this.droppedBound + this.droppedDiskFull;
  }

  /** False while the disk refuses writes (records wait in memory): back-pressure for callers. */
  get writable(): boolean {
    return !this.failing;
  }

  /** The counters together. */
  stats(): QueueStats {
    return {
      depth: this.depth,
      bytes: this.bytes,
      appended: this.appended,
      pendingBytes: this.pendingBytes,
      droppedBound: this.droppedBound,
      droppedDiskFull: this.droppedDiskFull,
      corruptBytes: this.corruptBytes,
      corruptRecords: this.corruptRecords,
      writable: this.writable,
    };
  }

  private segment(seq: number): Segment | undefined {
    return this.segments.find((s) => s.seq === seq);
  }

  private closeReadFd(seq?: number): void {
    if (this.readFd && (seq === undefined || this.readFd.seq === seq)) {
      this.closeFd(this.readFd.fd);
      this.readFd = undefined;
    }
  }

  /** Frames in `seg` before byte offset `end` (damaged stretches skipped). */
  private countFrames(seg: Segment, end: number): number {
    if (end === 0) return 0;
    const fd = openSync(seg.path, 'r');
    try {
      const h = Buffer.allocUnsafe(FRAME_HEADER);
      let off = 0;
      let n = 0;
      while (off < end) {
        const bad = seg.bad.find((r) => r.start === off);
        if (bad) {
          off = bad.end;
          continue;
        }
        if (readSync(fd, h, 0, FRAME_HEADER, off) !== FRAME_HEADER) break;
        off += FRAME_HEADER + h.readUInt32LE(4);
        n++;
      }
      return n;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The next records after those already read, up to `maxRecords` and about
   * `maxBytes`; undefined when there are none. Reading does not remove: call
   * {@link ack} after delivery, or {@link rewind} to read again. Pending
   * appends are committed first. Never throws.
   */
  read(maxRecords: number, maxBytes: number): Batch | undefined {
    this.commit();
    const start = { ...this.readPos };
    const records: string[] = [];
    const memos: unknown[] = [];
    let bytes = 0;
    try {
      while (records.length < maxRecords && bytes < maxBytes) {
        const seg = this.segment(this.readPos.seg);
        if (!seg) break;
        const off = this.readPos.off;
        const bad = seg.bad.find((r) => r.start <= off && off < r.end);
        if (bad) {
          this.readPos = { seg: seg.seq, off: bad.end };
          continue;
        }
        if (off >= seg.written) {
          if (seg === this.tail) break;
          this.closeReadFd(seg.seq);
          this.readPos = { seg: this.segments[this.segments.indexOf(seg) + 1].seq, off: 0 };
          continue;
        }
        if (this.nextUnread()) {
          bytes += this.readMemory(maxRecords - records.length, maxBytes - bytes, records, memos);
          continue;
        }
        const limit = seg.bad.find((r) => r.start > off)?.start ?? seg.written;
        const got = this.readFrames(seg, off, limit, maxRecords - records.length, maxBytes - bytes, records);
        while (memos.length < records.length) memos.push(undefined);
        bytes += got;
      }
    } catch (err) {
      this.log.error({ error: errText(err), at: this.readPos }, 'queue read failed; will retry');
    }
    if (!records.length) return undefined;
    return { records, memos, bytes, start, end: { ...this.readPos } };
  }

  /** Whether the record at readPos is in memory; forgets those the reader has passed. */
  private nextUnread(): boolean {
    const pos = this.readPos;
    while (this.unread.length && before(this.unread[0], pos)) this.unreadBytes -= this.unread.shift()!.size;
    const u = this.unread[0];
    return u !== undefined && u.seg === pos.seg && u.off === pos.off;
  }

  /** Hand out records from memory while they follow readPos; advances readPos; returns payload bytes. */
  private readMemory(maxRecords: number, maxBytes: number, out: string[], memos: unknown[]): number {
    const seg = this.readPos.seg;
    let off = this.readPos.off;
    let bytes = 0;
    let n = 0;
    for (let u = this.unread[0]; u?.seg === seg && u.off === off && n < maxRecords && bytes < maxBytes; n++) {
      out.push(u.payload);
      memos.push(u.memo);
      bytes += u.size;
      off += FRAME_HEADER + u.size;
      this.unread.shift();
      u = this.unread[0];
    }
    this.unreadBytes -= bytes;
    this.readPos = { seg, off };
    return bytes;
  }

  /** Read valid frames of `seg` from `off` up to `limit` into `out`; advances readPos; returns payload bytes. */
  private readFrames(
    seg: Segment,
    off: number,
    limit: number,
    maxRecords: number,
    maxBytes: number,
    out: string[]
  ): number {
    if (this.readFd?.seq !== seg.seq) {
      this.closeReadFd();
      this.readFd = { seq: seg.seq, fd: openSync(seg.path, 'r') };
    }
    const fd = this.readFd.fd;
    const want = Math.min(limit - off, Math.max(maxBytes, READ_CHUNK));
    let buf = Buffer.allocUnsafe(want);
    let got = readSync(fd, buf, 0, want, off);
    let p = 0;
    let bytes = 0;
    let n = 0;
    while (p < got && n < maxRecords && bytes < maxBytes) {
      if (p + FRAME_HEADER > got && off + got < limit) break; // a header cut by the chunk: next chunk
      let c = checkFrame(buf, p, got);
      if (c.kind === 'short' && off + p + c.size <= limit) {
        if (p > 0) break; // the rest in the next chunk
        buf = Buffer.allocUnsafe(c.size); // one record larger than the chunk: read exactly it
        got = readSync(fd, buf, 0, c.size, off);
        c = checkFrame(buf, 0, got);
      }
      if (c.kind !== 'ok') {
        this.damagedAt(seg, off + p, limit);
        break;
      }
      out.push(buf.toString('utf8', p + FRAME_HEADER, p + c.size));
      bytes += c.size - FRAME_HEADER;
      p += c.size;
      n++;
    }
    this.readPos = { seg: seg.seq, off: off + p };
    return bytes;
  }

  /** Damage found while reading (after open): note the stretch up to the next valid frame, count it. */
  private damagedAt(seg: Segment, at: number, limit: number): void {
    const buf = Buffer.allocUnsafe(limit - at);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(this.readFd!.fd, buf, got, buf.length - got, at + got);
      if (n === 0) break;
      got += n;
    }
    const next = nextFrame(buf, 1, got);
    const r = { start: at, end: next < got ? at + next : limit };
    seg.bad.push(r);
    seg.bad.sort((a, b) => a.start - b.start);
    const lost = framesIn(buf, 0, Math.min(got, r.end - at));
    seg.records -= Math.min(seg.records, lost);
    this.countCorrupt(seg, r, lost);
  }

  /** Read again from the oldest unacknowledged record (after a failed delivery). */
  rewind(): void {
    this.readPos = { ...this.ackPos };
  }

  /**
   * Mark everything up to `batch.end` delivered: persisted atomically, and
   * segments wholly before it deleted. Batches must be acknowledged in order.
   * Never throws.
   */
  ack(batch: Batch): void {
    if (this.closed || !before(this.ackPos, batch.end)) return; // already dropped or acknowledged
    const sameSegment = batch.start.seg === batch.end.seg && batch.start.seg === this.ackPos.seg;
    this.ackPos = { ...batch.end };
    while (this.segments.length > 1 && this.segments[0].seq < this.ackPos.seg) {
      const s = this.segments.shift()!;
      this.closeReadFd(s.seq);
      this.unlink(s.path);
    }
    try {
      // Crossing into a new segment is rare (once per segment): count its frames then.
      this.ackedInHead = sameSegment
        ? this.ackedInHead + batch.records.length
        : this.countFrames(this.segments[0], this.ackPos.seg === this.segments[0].seq ? this.ackPos.off : 0);
    } catch (err) {
      this.log.error({ error: errText(err) }, 'could not count acknowledged queue frames');
    }
    this.writeAck();
  }

  private writeAck(): void {
    const tmp = join(this.dir, 'ack.json.tmp');
    try {
      writeFileSync(tmp, JSON.stringify(this.ackPos));
      renameSync(tmp, join(this.dir, 'ack.json'));
      this.ackDirty = false;
    } catch (err) {
      // Delivered records may be sent again after a restart; nothing is lost.
      if (!this.ackDirty) this.log.warn({ error: errText(err) }, 'could not persist the queue ack; retrying');
      this.ackDirty = true;
    }
  }

  /**
   * Commit what is pending (records the disk still refuses are counted in
   * `droppedDiskFull` and resolve false), then close. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.commit(true);
    if (this.pending.length) {
      this.log.error(
        { records: this.pending.length, error: this.failing?.error },
        'queue closed with records the disk refused; they are lost'
      );
      this.droppedDiskFull += this.pending.length;
      this.pending = [];
      this.pendingBytes = 0;
    }
    this.pendingUnread = [];
    this.unread = [];
    this.unreadBytes = 0;
    this.closed = true;
    for (const g of this.groups) g.resolve(g.last <= this.written && !this.unsynced.length);
    this.groups = [];
    clearInterval(this.timer);
    this.retireFd();
    this.closeReadFd();
  }
}
