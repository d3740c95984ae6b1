/**
 * Follow a log file like `tail -F`, without losing or repeating a line:
 * - a file that does not exist yet is waited for and read from its start when it appears;
 * - rename rotation: the renamed file stays open and is read to its end, and for
 *   `graceMs` after (the writer keeps appending until it is told to reopen), while the
 *   new file at the path is read from its start;
 * - copytruncate: a truncation is recognised by the bytes before the read position
 *   changing (so a file that grew back past the old position between two polls is not
 *   missed), the rest of the old content is read from the rotated copy when one is
 *   found next to it, and the file is then read from its start.
 * Lines are split on `\n`; a line written in parts is one line.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** Bytes before the read position remembered to recognise the same file content. */
const MARK_BYTES = 512;
const READ_CHUNK = 64 * 1024;

/** One open file being read. */
interface OpenFile {
  fd: number;
  ino: number;
  dev: number;
  pos: number;
  partial: string;
  /** Keeps a UTF-8 character split across two reads whole. */
  decoder: StringDecoder;
  /** The last MARK_BYTES bytes before pos. */
  mark: Buffer;
  /** Offset just after the last complete line: where a restart resumes. */
  lineEnd: number;
  lastGrowth: number;
}

/** Where a follower was in its file, to resume after a restart (see {@link FileFollower.position}). */
export interface FilePosition {
  ino: number;
  dev: number;
  /** Offset after the last complete line read. */
  pos: number;
  /** Base64 of the bytes before pos, to recognise the same content (also in a rotated file). */
  mark: string;
}

export interface FollowerStats {
  lines: number;
  rotations: number;
  truncations: number;
  /** Lines read from a rotated copy after a copytruncate. */
  recoveredLines: number;
}

export interface FileFollowerOptions {
  pollMs?: number;
  /** How long a renamed file is still read after its last growth. Default 5000 ms. */
  graceMs?: number;
  /** Start at the end of a file that exists at start (default), or at its start. */
  fromStart?: boolean;
  /**
   * Continue where a previous follower stopped: in the file at the path if it still holds
   * the same content there, else in the rotated file next to it that does (the rest of it),
   * then the file at the path from its start.
   */
  resume?: FilePosition;
}

/** Follows one path; {@link poll} reads what is new and hands every complete line to `onLine`. */
export class FileFollower {
  private current?: OpenFile;
  private draining: OpenFile[] = [];
  private timer?: NodeJS.Timeout;
  private started = false;
  /** When the path was first found missing (undefined while it exists). */
  missingSince?: number;
  /** The last poll's error, until a poll succeeds again. */
  error?: string;
  readonly stats: FollowerStats = { lines: 0, rotations: 0, truncations: 0, recoveredLines: 0 };
  private readonly buf = Buffer.alloc(READ_CHUNK);

  constructor(
    readonly path: string,
    private readonly onLine: (line: string) => void,
    private readonly opts: FileFollowerOptions = {}
  ) {}

  /** Open the file (resume position, else its end unless fromStart) or note that it is missing, then poll every pollMs. */
  start(): void {
    if (this.opts.resume) this.resume(this.opts.resume);
    else this.openCurrent(!this.opts.fromStart);
    this.started = true;
    this.timer = setInterval(() => {
      try {
        this.poll();
        this.error = undefined;
      } catch (err) {
        this.error = (err as Error).message; // e.g. EIO: kept for blind(), retried next poll
      }
    }, this.opts.pollMs ?? 250);
    this.timer.unref();
  }

  /**
   * Read everything written so far (also what is left in rotated files), then close. Returns
   * where the current file was read to; a last line without `\n` is not handed out (a
   * follower resuming there reads it whole).
   */
  stop(): FilePosition | undefined {
    clearInterval(this.timer);
    if (!this.started) return undefined;
    this.poll();
    for (const f of this.draining) this.close(f);
    const at = this.position();
    if (this.current) closeSync(this.current.fd);
    this.draining = [];
    this.current = undefined;
    this.started = false;
    return at;
  }

  /** One round: drain rotated files, notice rotation or truncation, read new bytes. */
  poll(): void {
    const now = Date.now();
    for (const f of this.draining) {
      if (this.readNew(f) > 0) f.lastGrowth = now;
    }
    this.draining = this.draining.filter((f) => {
      if (now - f.lastGrowth < (this.opts.graceMs ?? 5000)) return true;
      this.close(f);
      return false;
    });
    if (!this.current) {
      this.openCurrent(false);
      if (!this.current) return;
    }
    const cur = this.current;
    let st;
    try {
      st = statSync(this.path);
    } catch {
      st = undefined; // renamed away, new file not there yet: keep reading the old one
    }
    if (st && (st.ino !== cur.ino || st.dev !== cur.dev)) {
      this.readNew(cur); // finish what is there now; the writer may still append (graceMs)
      cur.lastGrowth = now;
      this.draining.push(cur);
      this.stats.rotations++;
      this.current = undefined;
      this.openCurrent(false);
      if (this.current) this.readNew(this.current);
      return;
    }
    if (this.truncated(cur)) {
      this.stats.truncations++;
      this.recoverFromCopy(cur);
      cur.pos = cur.lineEnd = 0;
      cur.mark = Buffer.alloc(0);
      this.flushPartial(cur);
    }
    this.readNew(cur);
  }

  private openCurrent(atEnd: boolean): void {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      this.missingSince ??= Date.now();
      return;
    }
    const st = fstatSync(fd);
    const pos = atEnd ? st.size : 0;
    this.current = {
      fd,
      ino: st.ino,
      dev: st.dev,
      pos,
      partial: '',
      decoder: new StringDecoder('utf8'),
      mark: this.readAt(fd, Math.max(0, pos - MARK_BYTES), pos),
      lineEnd: pos,
      lastGrowth: Date.now(),
    };
    this.missingSince = undefined;
  }

  private resume(r: FilePosition): void {
    const mark = Buffer.from(r.mark, 'base64');
    this.openCurrent(false);
    const cur = this.current;
    if (
      cur &&
      cur.ino === r.ino &&
      cur.dev === r.dev &&
      fstatSync(cur.fd).size >= r.pos &&
      this.readAt(cur.fd, r.pos - mark.length, r.pos).equals(mark)
    ) {
      Object.assign(cur, { pos: r.pos, lineEnd: r.pos, mark });
      return;
    }
    // rotated (renamed or copied and truncated) while no follower ran: the rest is in the rotated file
    if (r.pos > 0) this.recoverFromCopy({ ...(cur ?? this.placeholder()), pos: r.pos, mark, partial: '' });
  }

  private placeholder(): OpenFile {
    return {
      fd: -1,
      ino: -1,
      dev: -1,
      pos: 0,
      partial: '',
      decoder: new StringDecoder('utf8'),
      mark: Buffer.alloc(0),
      lineEnd: 0,
      lastGrowth: 0,
    };
  }

  /** Where the current file has been read to (complete lines), or undefined while there is none. */
  position(): FilePosition | undefined {
    const f = this.current;
    if (!f) return undefined;
    const mark = this.readAt(f.fd, Math.max(0, f.lineEnd - MARK_BYTES), f.lineEnd);
    return { ino: f.ino, dev: f.dev, pos: f.lineEnd, mark: mark.toString('base64') };
  }

  /** Whether the bytes before the read position are no longer what was read there. */
  private truncated(f: OpenFile): boolean {
    const size = fstatSync(f.fd).size;
    if (size < f.pos) return true;
    if (f.mark.length === 0) return false;
    return !this.readAt(f.fd, f.pos - f.mark.length, f.pos).equals(f.mark);
  }

  /**
   * After a copytruncate, the lines written between the last read and the copy are
   * only in the copy: find it next to the file (same name with a suffix, not
   * compressed) by the bytes before the old position, and read it from there.
   */
  private recoverFromCopy(f: OpenFile): void {
    const dir = dirname(this.path);
    const name = basename(this.path);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      if (n === name || !n.startsWith(name) || /\.(gz|xz|bz2|zst)$/.test(n)) continue;
      let fd: number;
      try {
        fd = openSync(join(dir, n), 'r');
      } catch {
        continue;
      }
      try {
        const size = fstatSync(fd).size;
        if (size < f.pos || !this.readAt(fd, f.pos - f.mark.length, f.pos).equals(f.mark)) continue;
        const copy: OpenFile = { ...f, fd, decoder: new StringDecoder('utf8') };
        const before = this.stats.lines;
        this.readNew(copy);
        this.flushPartial(copy);
        this.stats.recoveredLines += this.stats.lines - before;
        f.partial = '';
        return;
      } finally {
        closeSync(fd);
      }
    }
  }

  private readAt(fd: number, from: number, to: number): Buffer {
    const b = Buffer.alloc(Math.max(0, to - from));
    let off = 0;
    while (off < b.length) {
      const n = readSync(fd, b, off, b.length - off, from + off);
      if (n <= 0) return b.subarray(0, off);
      off += n;
    }
    return b;
  }

  /** Read from pos to the end; complete lines go to onLine. Returns the bytes read. */
  private readNew(f: OpenFile): number {
    let total = 0;
    let n: number;
    while ((n = readSync(f.fd, this.buf, 0, this.buf.length, f.pos)) > 0) {
      total += n;
      const chunk = this.buf.subarray(0, n);
      const nl = chunk.lastIndexOf(0x0a);
      if (nl >= 0) f.lineEnd = f.pos + nl + 1;
      f.pos += n;
      f.mark =
        n >= MARK_BYTES
          ? Buffer.from(chunk.subarray(n - MARK_BYTES))
          : Buffer.concat([f.mark, chunk]).subarray(-MARK_BYTES);
      const lines = (f.partial + f.decoder.write(chunk)).split('\n');
      f.partial = lines.pop() ?? '';
      for (const l of lines) this.line(l);
    }
    return total;
  }

  /** A last line without `\n` (the file was rotated or cut after it) is still a line. */
  private flushPartial(f: OpenFile): void {
    const rest = f.partial + f.decoder.end();
    if (rest) this.line(rest);
    f.partial = '';
    f.decoder = new StringDecoder('utf8');
  }

  private line(l: string): void {
    if (!l) return;
    this.stats.lines++;
    this.onLine(l);
  }

  private close(f: OpenFile): void {
    this.readNew(f);
    this.flushPartial(f);
    closeSync(f.fd);
  }
}
