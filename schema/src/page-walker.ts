/**
 * The one Loki page walker, shared by the server and the Grafana plugin.
 * Pure: it does no I/O. It hands out the next `query_range` request and
 * decides what comes after from the raw entries of the answer, never from how
 * many of them decoded.
 *
 * Loki's rules it relies on: `start` inclusive, `end` exclusive, at most
 * `limit` entries per answer, forward answers are the first `limit` entries
 * in time order. Rules it does not trust: exact boundaries (every request
 * starts `overlapNs` before the point it needs and the walker trims and
 * de-duplicates, so an entry at a boundary is never lost to an off-by-one or
 * rounding in Loki) and "one instant fits in a page" (an instant with more
 * entries than a page is split into disjoint partitions by event id, line and
 * stream labels, each read on its own, rather than skipped or refused).
 *
 * Output: complete instants only, in (time, id) order, events and the entries
 * that could not be read as events (kept whole, see {@link UnreadableEntry}).
 *
 * @example
 *   const w = new PageWalker({ query, fromNs, toNs, pageSize: 5000 });
 *   for (let r = w.next(); r; r = w.next()) {
 *     const page = w.accept(r, await lokiQueryRange(r)); // page.events, page.unreadable
 *   }
 */
import type { CasefileEvent } from './event';
import { DecodeError, decodeEntry, type LokiStream, type LokiValue, type UnreadableEntry } from './decode';
import { escapeRegex, quote } from './logql';
import { EVENT_ID_LABEL } from './loki-labels';

/** One `query_range` request: direction forward, `[startNs, endNs)`, at most `limit` entries. */
export interface WalkRequest {
  query: string;
  startNs: string;
  endNs: string;
  limit: number;
  direction: 'forward';
  /** Which request of this walker this is; {@link PageWalker.accept} checks it. */
  seq: number;
}

/** What one answer completed. */
export interface WalkPage {
  /** Events of complete instants, in (time, id) order. */
  events: CasefileEvent[];
  /** Entries of those instants that are not Casefile events, in (time, id) order. */
  unreadable: UnreadableEntry[];
  /** The Loki stream labels `events[i]` came in (unreadable entries carry theirs in `stream`). */
  eventStreams: Record<string, string>[];
  /** True when the window is read completely. */
  done: boolean;
}

/** Counters of a walk, for metrics, logs and tests. */
export interface WalkStats {
  requests: number;
  /** Entries Loki returned, before trimming and de-duplication. */
  rawEntries: number;
  events: number;
  unreadable: number;
  /** The same entry read twice (overlapping requests), kept once. */
  duplicates: number;
  /** Crowded instants split into partitions. */
  splits: number;
}

export interface PageWalkerOptions {
  /** The LogQL log query (schema's eventsQuery). */
  query: string;
  /** Window, ns since the epoch: `fromNs` inclusive, `toNs` exclusive. */
  fromNs: string;
  toNs: string;
  /** Largest `limit` asked for: at most Loki's max_entries_limit_per_query. */
  pageSize: number;
  /** How far before the point it needs each request starts. Default 1 ms. */
  overlapNs?: bigint;
}

/** The walk cannot go on (Loki broke its own rules); nothing it returned so far is wrong. */
export class PageWalkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PageWalkerError';
  }
}

/** Stands for the entry's line among the split keys. */
const LINE_KEY = '\u0000line';

/**
 * A disjoint part of the entries at one instant: LogQL stages appended to the
 * query, the keys to split on (event id, line, stream labels) and which key
 * it splits on now.
 */
interface Partition {
  stages: string[];
  keys: string[];
  key: number;
}

/** Deeper than this, Loki is not applying the partition filters (each level narrows by a character). */
const MAX_STAGES = 256;

interface Task {
  part: Partition;
  from: bigint;
  to: bigint;
  /** Everything before it is emitted. */
  cursor: bigint;
  /** The next request starts overlapNs before the cursor. */
  overlap: boolean;
  /** A split child: reads the one instant `from` in its partition. */
  instant: boolean;
  /** Set while its children read the crowded instant at the cursor. */
  splitting: boolean;
}

interface Entry {
  ts: bigint;
  stream: Record<string, string>;
  /** The stream's labels as sorted JSON: one string per stream of an answer, shared by its entries. */
  labels: string;
  v: LokiValue;
  /** Same stream (by its number), time, event id and line: the same entry. */
  key: string;
  /** Sort key within an instant: the event id ('' for none), then `labels`, then the line. */
  id: string;
}

const ROOT: Partition = { stages: [], keys: [], key: 0 };

export class PageWalker {
  readonly stats: WalkStats = {
    requests: 0,
    rawEntries: 0,
    events: 0,
    unreadable: 0,
    duplicates: 0,
    splits: 0,
  };
  private readonly tasks: Task[];
  /** Entries read but not emitted yet: all at the cursor's instant. */
  private held = new Map<string, Entry>();
  private outstanding?: WalkRequest;
  private readonly overlapNs: bigint;
  /**
   * A number for each stream label set seen, so an entry's identity key
   * carries a few digits instead of its stream's labels (one key per entry
   * read: the bulk of what a page allocates besides the entries).
   */
  private readonly streamNo = new Map<string, number>();

  constructor(readonly opts: PageWalkerOptions) {
    const from = BigInt(opts.fromNs);
    const to = BigInt(opts.toNs);
    if (!(opts.pageSize >= 1)) throw new RangeError('pageSize must be at least 1');
    this.overlapNs = opts.overlapNs ?? 1_000_000n;
    this.tasks =
      from < to
        ? [{ part: ROOT, from, to, cursor: from, overlap: true, instant: false, splitting: false }]
        : [];
  }

  /** True when every entry of the window has been emitted. */
  get done(): boolean {
    return this.tasks.length === 0;
  }

  /**
   * A point the walk can be cut at: everything before it has been emitted and
   * nothing at or after it, so a new walker from here to the end goes on
   * exactly. Undefined while a crowded instant is being read in partitions.
   */
  get resumeNs(): string | undefined {
    const t = this.tasks[0];
    return t && this.tasks.length === 1 ? t.cursor.toString() : undefined;
  }

  /** The next request, or undefined when done. `limit` may be lowered (a small first page). */
  next(limit = this.opts.pageSize): WalkRequest | undefined {
    const t = this.tasks[this.tasks.length - 1];
    if (!t) return undefined;
    const start = t.overlap && this.overlapNs > 0n ? t.cursor - this.overlapNs : t.cursor;
    this.outstanding = {
      query: [this.opts.query, ...t.part.stages].join(' '),
      startNs: (start < 0n ? 0n : start).toString(),
      endNs: t.to.toString(),
      limit: Math.max(1, Math.min(limit, this.opts.pageSize)),
      direction: 'forward',
      seq: this.stats.requests + 1,
    };
    return this.outstanding;
  }

  /** Take Loki's answer to the request from {@link next}; returns what it completed. */
  accept(req: WalkRequest, result: readonly LokiStream[]): WalkPage {
    if (req !== this.outstanding) throw new Error('PageWalker.accept: not the outstanding request');
    this.outstanding = undefined;
    this.stats.requests++;
    const t = this.tasks[this.tasks.length - 1];
    let raw = 0;
    let last = -1n;
    const atCursor: Entry[] = [];
    for (const s of result) {
      const labels = JSON.stringify(Object.entries(s.stream).sort(([a], [b]) => (a < b ? -1 : 1)));
      let streamKey = this.streamNo.get(labels);
      if (streamKey === undefined) this.streamNo.set(labels, (streamKey = this.streamNo.size));
      for (const v of s.values) {
        raw++;
        const ts = BigInt(v[0]);
        if (ts > last) last = ts;
        if (ts < t.cursor || ts >= t.to) continue;
        const id = v[2]?.structuredMetadata?.[EVENT_ID_LABEL] ?? s.stream[EVENT_ID_LABEL] ?? '';
        const e: Entry = {
          ts,
          stream: s.stream,
          labels,
          v,
          id,
          key: `${streamKey}\u0000${v[0]}\u0000${id}\u0000${v[1]}`,
        };
        if (this.held.has(e.key)) this.stats.duplicates++;
        else this.held.set(e.key, e);
        if (ts === t.cursor) atCursor.push(e);
      }
    }
    this.stats.rawEntries += raw;
    const full = raw >= req.limit;

    if (t.instant) {
      this.tasks.pop();
      if (full) this.split(t, atCursor);
      return this.finishSplit();
    }
    if (!full || last >= t.to) {
      this.tasks.pop();
      return this.emit(t.to, true);
    }
    if (last > t.cursor) {
      // A full answer holds everything before its last instant; that instant is read again.
      t.cursor = last;
      t.overlap = true;
      return this.emit(last, false);
    }
    if (t.overlap && this.overlapNs > 0n) {
      // The page filled up with entries before the cursor: ask again from the cursor itself.
      t.overlap = false;
      return this.emit(t.cursor, false);
    }
    if (last < t.cursor)
      throw new PageWalkerError(
        `Loki answered ${raw} entries all before the requested start ${req.startNs}; cannot make progress`
      );
    // More entries at this one instant than a page holds: read it in disjoint partitions.
    t.splitting = true;
    this.split(t, atCursor);
    return this.finishSplit();
  }

  /** Replace a full read of one instant by reads of disjoint partitions that cover it. */
  private split(t: Task, seen: readonly Entry[]): void {
    this.stats.splits++;
    const at = t.cursor;
    for (const part of splitPartition(t.part, seen).reverse())
      this.tasks.push({
        part,
        from: at,
        to: at + 1n,
        cursor: at,
        overlap: false,
        instant: true,
        splitting: false,
      });
  }

  /** After a partition read: when the crowded instant is complete, emit it and move past it. */
  private finishSplit(): WalkPage {
    const top = this.tasks[this.tasks.length - 1];
    if (top && !top.instant && top.splitting) {
      top.splitting = false;
      top.cursor += 1n;
      top.overlap = false;
      if (top.cursor >= top.to) this.tasks.pop();
      return this.emit(top.cursor, this.tasks.length === 0);
    }
    return this.emit(-1n, false);
  }

  /** Emit every held entry before `until`, decoded and in order. */
  private emit(until: bigint, done: boolean): WalkPage {
    const out: Entry[] = [];
    for (const [k, e] of this.held) {
      if (e.ts < until) {
        out.push(e);
        this.held.delete(k);
      }
    }
    out.sort((a, b) =>
      a.ts !== b.ts
        ? a.ts < b.ts
          ? -1
          : 1
        : a.id !== b.id
          ? a.id < b.id
            ? -1
            : 1
          : a.labels !== b.labels
            ? a.labels < b.labels
              ? -1
              : 1
            : a.v[1] < b.v[1]
              ? -1
              : a.v[1] > b.v[1]
                ? 1
                : 0
    );
    const page: WalkPage = { events: [], unreadable: [], eventStreams: [], done };
    for (const e of out) {
      const d = decodeEntry(e.stream, e.v);
      if (d instanceof DecodeError) page.unreadable.push(d.entry);
      else {
        page.events.push(d);
        page.eventStreams.push(e.stream);
      }
    }
    this.stats.events += page.events.length;
    this.stats.unreadable += page.unreadable.length;
    return page;
  }
}

/** The value of a split key for an entry ('' when it has none). */
function keyValue(e: Entry, key: string): string {
  if (key === LINE_KEY) return e.v[1];
  if (key === EVENT_ID_LABEL) return e.id;
  return e.stream[key] ?? '';
}

const cps = (s: string) => Array.from(s);

/** A LogQL stage: the key's value equals / does not equal `v`. */
function eqStage(key: string, v: string, not: boolean): string {
  if (key === LINE_KEY) return `${not ? '!~' : '|~'} ${quote(`(?s)^${escapeRegex(v)}$`)}`;
  return `| ${key}${not ? '!=' : '='}${quote(v)}`;
}

/** A LogQL stage: the key's value starts with `p` followed by one of `next` (or with `p` alone when `next` is empty). */
function prefixStage(key: string, p: string, next: readonly string[], not: boolean): string {
  const alt = next.length ? `(?:${next.map(escapeRegex).join('|')})` : '';
  if (key === LINE_KEY) return `${not ? '!~' : '|~'} ${quote(`(?s)^${escapeRegex(p)}${alt}`)}`;
  return `| ${key}${not ? '!~' : '=~'}${quote(`(?s)${escapeRegex(p)}${alt}.*`)}`;
}

/**
 * Disjoint partitions of `p` that together cover it, chosen from the entries
 * a full page of it showed: one per next character of the current key after
 * the entries' common prefix, and the rest; when the entries agree on the
 * whole key, "equal" (split on the next key from then on) and "not equal".
 */
function splitPartition(p: Partition, seen: readonly Entry[]): Partition[] {
  const keys = p.keys.length
    ? p.keys
    : [EVENT_ID_LABEL, LINE_KEY, ...[...new Set(seen.flatMap((e) => Object.keys(e.stream)))].sort()];
  const key = keys[p.key];
  if (p.stages.length > MAX_STAGES)
    throw new PageWalkerError(
      `Loki does not narrow its answers by the partition filters (${p.stages[0]} ...)`
    );
  if (key === undefined || !seen.length)
    throw new PageWalkerError(
      `more than a page of entries at ${seen[0]?.ts ?? '?'} are alike in event id, line and stream labels; cannot split them`
    );
  const values = seen.map((e) => cps(keyValue(e, key)));
  let lcp = values[0];
  for (const v of values) {
    let i = 0;
    while (i < lcp.length && i < v.length && lcp[i] === v[i]) i++;
    lcp = lcp.slice(0, i);
  }
  const common = lcp.join('');
  const next = [...new Set(values.filter((v) => v.length > lcp.length).map((v) => v[lcp.length]))].sort();
  if (!next.length)
    return [
      { stages: [...p.stages, eqStage(key, common, false)], keys, key: p.key + 1 },
      { stages: [...p.stages, eqStage(key, common, true)], keys, key: p.key },
    ];
  return [
    ...next.map((c) => ({
      stages: [...p.stages, prefixStage(key, common + c, [], false)],
      keys,
      key: p.key,
    })),
    { stages: [...p.stages, prefixStage(key, common, next, true)], keys, key: p.key },
  ];
}
