/**
 * The stand-in's storage: streams of entries in memory, and an append-only
 * write-ahead file in the data dir so that whatever was acknowledged survives
 * SIGKILL and a restart on the same dir (as Loki's WAL does, config `ingester.wal`).
 * The file holds one JSON line per accepted push; a torn last line (a kill in
 * the middle of a write) is cut off on replay.
 */
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { StandinConfig } from './config';
import type { PushEntry } from './otlp';

export interface Entry {
  ts: bigint;
  line: string;
  meta: Record<string, string>;
}

export class Stream {
  readonly entries: Entry[] = [];
  private sorted = true;
  newest = -1n;
  constructor(
    readonly labels: Record<string, string>,
    readonly key: string
  ) {}
  add(e: Entry): void {
    const last = this.entries[this.entries.length - 1];
    if (last && e.ts < last.ts) this.sorted = false;
    this.entries.push(e);
    if (e.ts > this.newest) this.newest = e.ts;
  }
  /** Entries by time; entries of one timestamp keep the order they were pushed in. */
  ordered(): Entry[] {
    if (!this.sorted) {
      this.entries.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
      this.sorted = true;
    }
    return this.entries;
  }
  /** Index of the first entry with ts >= t. */
  lowerBound(t: bigint): number {
    const a = this.ordered();
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid].ts < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** `{a="1", b="2"}` with names sorted: the identity of a stream, and how Loki prints one. */
export function labelsKey(labels: Record<string, string>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`;
}

type WalRecord = [Record<string, string>, [string, string, Record<string, string>][]][];

const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

export class Store {
  readonly streams = new Map<string, Stream>();
  private fd: number;
  constructor(private readonly cfg: StandinConfig) {
    const dir = join(cfg.dataDir, 'standin-wal');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'wal.jsonl');
    if (existsSync(file)) this.replay(file);
    this.fd = openSync(file, 'a');
  }

  private replay(file: string): void {
    // Scanned as bytes: the file may be larger than the longest string V8 can hold.
    const buf = readFileSync(file);
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      const rec = JSON.parse(buf.toString('utf8', start, nl)) as WalRecord;
      for (const [labels, entries] of rec) {
        const s = this.stream(labels);
        for (const [ts, line, meta] of entries) s.add({ ts: BigInt(ts), line, meta });
      }
      start = nl + 1;
    }
    // A torn last write was never acknowledged: cut it off so appends stay aligned.
    if (start < buf.length) {
      const fd = openSync(file, 'r+');
      ftruncateSync(fd, start);
      closeSync(fd);
    }
  }

  private stream(labels: Record<string, string>): Stream {
    const key = labelsKey(labels);
    let s = this.streams.get(key);
    if (!s) this.streams.set(key, (s = new Stream(labels, key)));
    return s;
  }

  /**
   * Validate and store a push. Invalid entries are refused one by one and the
   * rest stored, as Loki's distributor does: the answer is 400 with the first
   * reason when any was refused (pkg/distributor, validation errors).
   */
  push(entries: PushEntry[], now: bigint): { accepted: number; errors: string[] } {
    const L = this.cfg.limits;
    const errors: string[] = [];
    const byStream = new Map<Stream, Entry[]>();
    for (const p of entries) {
      const key = labelsKey(p.labels);
      const lineSize = utf8Length(p.line);
      // docs: configure, limits_config (max_line_size, max_structured_metadata_*, reject_old_samples*, creation_grace_period).
      if (L.maxLineSize > 0 && lineSize > L.maxLineSize) {
        errors.push(
          `Max entry size '${L.maxLineSize}' bytes exceeded for stream '${key}' while adding an entry with length '${lineSize}' bytes`
        );
        continue;
      }
      const metaNames = Object.keys(p.meta);
      if (metaNames.length > L.maxStructuredMetadataEntries) {
        errors.push(
          `stream '${key}' has too many structured metadata labels: '${metaNames.length}', limit: '${L.maxStructuredMetadataEntries}'`
        );
        continue;
      }
      let metaSize = 0;
      for (const k of metaNames) metaSize += utf8Length(k) + utf8Length(p.meta[k]);
      if (metaSize > L.maxStructuredMetadataSize) {
        errors.push(
          `stream '${key}' has structured metadata too large: '${metaSize}' bytes, limit: '${L.maxStructuredMetadataSize}' bytes`
        );
        continue;
      }
      if (L.rejectOldSamples && p.ts < now - L.rejectOldSamplesMaxAgeNs) {
        errors.push(
          `entry for stream '${key}' has timestamp too old: ${iso(p.ts)}, oldest acceptable timestamp is: ${iso(now - L.rejectOldSamplesMaxAgeNs)}`
        );
        continue;
      }
      if (p.ts > now + L.creationGracePeriodNs) {
        errors.push(`entry for stream '${key}' has timestamp too new: ${iso(p.ts)}`);
        continue;
      }
      const s = this.stream(p.labels);
      // docs: configure#accept-out-of-order-writes: newest line - max_chunk_age/2 is the oldest accepted.
      if (s.newest >= 0n && p.ts < s.newest - this.cfg.outOfOrderWindowNs) {
        errors.push(
          `entry too far behind, entry timestamp is: ${iso(p.ts)}, oldest acceptable timestamp is: ${iso(s.newest - this.cfg.outOfOrderWindowNs)}`
        );
        continue;
      }
      const batch = byStream.get(s) ?? [];
      const prev = batch[batch.length - 1] ?? s.entries[s.entries.length - 1];
      // docs (overview: timestamp ordering): a line equal in timestamp and content to the
      // previous one of its stream is an exact duplicate and ignored.
      if (prev && prev.ts === p.ts && prev.line === p.line) continue;
      batch.push({ ts: p.ts, line: p.line, meta: p.meta });
      byStream.set(s, batch);
      if (p.ts > s.newest) s.newest = p.ts;
    }
    let accepted = 0;
    if (byStream.size) {
      const rec: WalRecord = [...byStream].map(([s, es]) => [
        s.labels,
        es.map((e) => [e.ts.toString(), e.line, e.meta]),
      ]);
      writeSync(this.fd, JSON.stringify(rec) + '\n');
      for (const [s, es] of byStream) {
        for (const e of es) s.add(e);
        accepted += es.length;
      }
    }
    return { accepted, errors };
  }

  close(): void {
    closeSync(this.fd);
  }
}

function iso(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : `${ns}ns`;
}
