/**
 * The durable queue's frame format, and finding frames again after damage.
 *
 * frame = magic `F5 43 46 51` | u32 LE payload length | u32 LE CRC-32 of
 * (the 4 length bytes ‖ payload) | payload (UTF-8).
 *
 * Byte 0xF5 never occurs in UTF-8, so a payload can never contain the magic:
 * after a damaged stretch the next magic whose length and CRC check out is the
 * next real frame, and the magics inside a damaged stretch count the frames
 * it held. The CRC covers the length, so a flipped length bit is caught too.
 */
import { crc32 } from 'node:zlib';

export const FRAME_HEADER = 12;
const MAGIC = 0x514643f5; // F5 43 46 51 read as u32 LE

/** The frame for one payload. */
export function encodeFrame(payload: string): Buffer {
  const len = Buffer.byteLength(payload);
  const frame = Buffer.allocUnsafe(FRAME_HEADER + len);
  frame.writeUInt32LE(MAGIC, 0);
  frame.writeUInt32LE(len, 4);
  frame.write(payload, FRAME_HEADER);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER), crc32(frame.subarray(4, 8))), 8);
  return frame;
}

/** What is at `off` in `buf`, whose valid bytes end at `end`. */
export type FrameCheck =
  /** A whole valid frame of this many bytes (header included). */
  | { kind: 'ok'; size: number }
  /** A valid-looking header whose frame runs past `end`. */
  | { kind: 'short'; size: number }
  | { kind: 'bad' };

const BAD: FrameCheck = { kind: 'bad' };

/** Check the frame starting at `off`; the header must lie before `end`. */
export function checkFrame(buf: Buffer, off: number, end: number): FrameCheck {
  if (off + FRAME_HEADER > end || buf.readUInt32LE(off) !== MAGIC) return BAD;
  const size = FRAME_HEADER + buf.readUInt32LE(off + 4);
  if (off + size > end) return { kind: 'short', size };
  const crc = crc32(buf.subarray(off + FRAME_HEADER, off + size), crc32(buf.subarray(off + 4, off + 8)));
  return crc === buf.readUInt32LE(off + 8) ? { kind: 'ok', size } : BAD;
}

/** Offset of the first valid frame at or after `from`, or `end` when there is none. */
export function nextFrame(buf: Buffer, from: number, end: number): number {
  for (let i = buf.indexOf(0xf5, from); i !== -1 && i < end; i = buf.indexOf(0xf5, i + 1))
    if (checkFrame(buf, i, end).kind === 'ok') return i;
  return end;
}

/** Frame starts (magics) in buf[from, end): the records a damaged stretch held, at least 1. */
export function framesIn(buf: Buffer, from: number, end: number): number {
  let n = 0;
  for (let i = buf.indexOf(0xf5, from); i !== -1 && i + 4 <= end; i = buf.indexOf(0xf5, i + 1))
    if (buf.readUInt32LE(i) === MAGIC) n++;
  return Math.max(1, n);
}

/** A damaged stretch of a segment: bytes [start, end) hold no valid frame. */
export interface BadRange {
  start: number;
  end: number;
}

/** A whole segment read back: where its valid frames start and where it is damaged. */
export interface SegmentScan {
  starts: number[];
  bad: BadRange[];
  /**
   * The damaged stretch at the very end, if any, and whether it looks like a
   * write cut short (fewer bytes than a header, a header promising more bytes
   * than follow, or zeros) rather than damage to data that was whole.
   */
  tail?: BadRange & { torn: boolean };
}

/** Scan buf[0, end) frame by frame, resynchronising after every damaged stretch. */
export function scanSegment(buf: Buffer, end: number): SegmentScan {
  const scan: SegmentScan = { starts: [], bad: [] };
  let off = 0;
  while (off < end) {
    const c = checkFrame(buf, off, end);
    if (c.kind === 'ok') {
      scan.starts.push(off);
      off += c.size;
      continue;
    }
    const next = nextFrame(buf, off + 1, end);
    if (next === end) {
      const torn =
        end - off < FRAME_HEADER || c.kind === 'short' || buf.subarray(off, end).every((b) => b === 0);
      scan.tail = { start: off, end, torn };
    } else scan.bad.push({ start: off, end: next });
    off = next;
  }
  return scan;
}
