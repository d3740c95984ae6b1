/**
 * The page walker against an in-memory model of Loki's query_range (start
 * inclusive, end exclusive, first `limit` entries in time order, ties between
 * streams in an order that changes from answer to answer, LogQL label and line
 * filters of the forms the walker sends), plus models of Loki's known boundary
 * faults. Every case checks the walk returns exactly what the model holds.
 */
import { test } from 'node:test';
import { deepEqual, equal, ok, throws } from 'node:assert/strict';
import {
  PageWalker,
  PageWalkerError,
  lokiName,
  toLogRecord,
  type CasefileEvent,
  type LokiStream,
  type WalkRequest,
} from '../src';

interface Stored {
  stream: Record<string, string>;
  ts: bigint;
  line: string;
  meta: Record<string, string>;
}

type Fault = 'none' | 'exclusive-start' | 'ms-start' | 'early-entries';

const BASE = '{service_namespace="casefile"}';

/** A tiny seeded PRNG, so tie orders differ per answer but every run is the same. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

/** Parse the stages the walker appends after BASE into predicates. */
function stagePredicates(query: string): ((s: Stored) => boolean)[] {
  equal(query.startsWith(BASE), true, query);
  let rest = query.slice(BASE.length);
  const preds: ((s: Stored) => boolean)[] = [];
  const str = '("(?:[^"\\\\]|\\\\.)*")';
  const label = new RegExp(`^\\s*\\| ([A-Za-z_][A-Za-z0-9_]*)(=~|!~|!=|=)${str}`);
  const line = new RegExp(`^\\s*(\\|~|!~) ${str}`);
  const toJs = (re: string) => {
    const dotAll = re.startsWith('(?s)');
    return { src: dotAll ? re.slice(4) : re, flags: dotAll ? 's' : '' };
  };
  while (rest.trim()) {
    let m = label.exec(rest);
    if (m) {
      const [, name, op, q] = m;
      const v = JSON.parse(q) as string;
      const { src, flags } = toJs(v);
      const re = new RegExp(`^(?:${src})$`, flags);
      const get = (s: Stored) => s.meta[name] ?? s.stream[name] ?? '';
      preds.push(
        op === '='
          ? (s) => get(s) === v
          : op === '!='
            ? (s) => get(s) !== v
            : op === '=~'
              ? (s) => re.test(get(s))
              : (s) => !re.test(get(s))
      );
      rest = rest.slice(m[0].length);
      continue;
    }
    m = line.exec(rest);
    if (!m) throw new Error(`unparsed stage: ${rest}`);
    const { src, flags } = toJs(JSON.parse(m[2]) as string);
    const re = new RegExp(src, flags);
    const neg = m[1] === '!~';
    preds.push((s) => re.test(s.line) !== neg);
    rest = rest.slice(m[0].length);
  }
  return preds;
}

/** Loki's query_range over `stored`, with an optional boundary fault. */
function fakeLoki(stored: readonly Stored[], fault: Fault = 'none', seed = 1) {
  const rand = rng(seed);
  const calls: WalkRequest[] = [];
  const answer = (r: WalkRequest): LokiStream[] => {
    calls.push(r);
    const preds = stagePredicates(r.query);
    let start = BigInt(r.startNs);
    const end = BigInt(r.endNs);
    if (fault === 'early-entries') start -= 2_000_000n;
    const hit = stored
      .filter((s) => {
        if (s.ts < start || s.ts >= end) return false;
        if (fault === 'exclusive-start' && s.ts === start) return false;
        // Chunk bookkeeping in whole ms: the rest of the ms a request starts in is missed.
        if (
          fault === 'ms-start' &&
          start % 1_000_000n !== 0n &&
          s.ts < start - (start % 1_000_000n) + 1_000_000n
        )
          return false;
        return preds.every((p) => p(s));
      })
      .map((s) => ({ s, tie: rand() }))
      .sort((a, b) => (a.s.ts !== b.s.ts ? (a.s.ts < b.s.ts ? -1 : 1) : a.tie - b.tie))
      .slice(0, r.limit);
    const streams = new Map<string, LokiStream>();
    for (const { s } of hit) {
      const k = JSON.stringify(s.stream);
      if (!streams.has(k)) streams.set(k, { stream: s.stream, values: [] });
      streams.get(k)!.values.push([s.ts.toString(), s.line, { structuredMetadata: s.meta }]);
    }
    return [...streams.values()];
  };
  return { answer, calls };
}

function streamOf(host: string) {
  return {
    service_namespace: 'casefile',
    service_name: 'casefile-collector',
    service_instance_id: host,
    host_name: host,
  };
}

/** An event stored the way Loki holds it (stream labels + structured metadata). */
function stored(e: CasefileEvent, host = 'h1'): Stored {
  const attrs = toLogRecord(e).attributes;
  const meta = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [lokiName(k), String(v)]));
  return { stream: streamOf(host), ts: BigInt(e.timeNs), line: e.message, meta };
}

let n = 0;
const hex = (i: number) => ((i * 2654435761) >>> 0).toString(16).padStart(8, '0');
function ev(ts: bigint, extra: Partial<CasefileEvent> = {}): CasefileEvent {
  const i = n++;
  return {
    id: `${hex(i)}-0000-4000-8000-${String(i).padStart(12, '0')}`,
    type: 'process.start',
    timeNs: ts.toString(),
    message: `exec worker --job ${i}`,
    pid: 100 + (i % 1000),
    ...extra,
  } as CasefileEvent;
}

/** An entry of a newer collector: an event type this build does not know. */
function foreign(ts: bigint, host = 'h1', id = `new-${n++}`): Stored {
  return {
    stream: streamOf(host),
    ts,
    line: `file opened ${id}`,
    meta: { casefile_event_id: id, casefile_event_type: 'file.open', file_path: '/etc/shadow' },
  };
}

/** Walk a window to the end; returns what came out and the walker. */
function walk(
  loki: ReturnType<typeof fakeLoki>,
  fromNs: bigint,
  toNs: bigint,
  pageSize: number,
  firstLimit?: number
) {
  const w = new PageWalker({ query: BASE, fromNs: fromNs.toString(), toNs: toNs.toString(), pageSize });
  const events: CasefileEvent[] = [];
  const unreadable: { id: string; timeNs: string; message: string }[] = [];
  let first = true;
  for (let r = w.next(firstLimit); r; r = w.next()) {
    if (first) equal(r.limit, firstLimit ?? pageSize);
    first = false;
    const p = w.accept(r, loki.answer(r));
    events.push(...p.events);
    unreadable.push(...p.unreadable);
    if (w.stats.requests > 10_000) throw new Error('runaway walk');
  }
  return { events, unreadable, w };
}

type Row = { ts: bigint; id: string; line: string };
const byTimeIdLine = (a: Row, b: Row) =>
  a.ts !== b.ts
    ? a.ts < b.ts
      ? -1
      : 1
    : a.id !== b.id
      ? a.id < b.id
        ? -1
        : 1
      : a.line < b.line
        ? -1
        : a.line > b.line
          ? 1
          : 0;

/** What the window holds, in the walker's order: (time, id). */
function expected(all: readonly Stored[], fromNs: bigint, toNs: bigint) {
  return all
    .filter((s) => s.ts >= fromNs && s.ts < toNs)
    .map((s) => ({ ts: s.ts, id: s.meta.casefile_event_id ?? '', line: s.line }))
    .sort(byTimeIdLine);
}

function sameAsStored(
  got: { events: CasefileEvent[]; unreadable: { id: string; timeNs: string; message: string }[] },
  all: readonly Stored[],
  fromNs: bigint,
  toNs: bigint
) {
  const merged = [
    ...got.events.map((e) => ({ ts: BigInt(e.timeNs), id: e.id, line: e.message })),
    ...got.unreadable.map((u) => ({ ts: BigInt(u.timeNs), id: u.id, line: u.message })),
  ].sort(byTimeIdLine);
  deepEqual(merged, expected(all, fromNs, toNs));
}

const T0 = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;

/** Dense groups sharing timestamps across three streams, a gap, then sparse events. */
function mixedData(): Stored[] {
  const out: Stored[] = [];
  for (let i = 0; i < 900; i++) out.push(stored(ev(T0 + BigInt(Math.floor(i / 7)) * MS), `h${i % 3}`));
  for (let i = 0; i < 60; i++) out.push(stored(ev(T0 + 600_000n * MS + BigInt(i) * 977n * MS), `h${i % 2}`));
  return out;
}

// Boundary faults are survived where no instant holds more than a page: a crowded instant is read in
// partitions of exactly that nanosecond, which rely on Loki's inclusive start (and entries returned
// from before the start can fill a small page, which is an error, not a loss).
const CASES = [
  ['none', [5, 7, 50, 5000]],
  ['exclusive-start', [7, 50, 5000]],
  ['ms-start', [5, 7, 50, 5000]],
  ['early-entries', [50, 5000]],
] as const;
for (const [fault, sizes] of CASES) {
  for (const pageSize of sizes) {
    test(`every entry exactly once, in order (page ${pageSize}, Loki fault: ${fault})`, () => {
      const all = mixedData();
      const got = walk(fakeLoki(all, fault, pageSize), T0, T0 + 700_000n * MS, pageSize);
      sameAsStored(got, all, T0, T0 + 700_000n * MS);
      equal(got.unreadable.length, 0);
    });
  }
}

test('one unreadable entry on a page does not end the read (3,000 events, page 500)', () => {
  const all = Array.from({ length: 3000 }, (_, i) => stored(ev(T0 + BigInt(i) * MS)));
  all.push(foreign(T0 + 250n * MS + 1n));
  const got = walk(fakeLoki(all), T0, T0 + 4000n * MS, 500);
  equal(got.events.length, 3000);
  equal(got.unreadable.length, 1);
  equal(got.w.stats.unreadable, 1);
  const u = got.unreadable[0] as unknown as Record<string, unknown>;
  equal(u.type, 'file.open');
  equal(u.message, all[3000].line);
  deepEqual((u.structuredMetadata as Record<string, string>).file_path, '/etc/shadow');
  deepEqual(u.stream, streamOf('h1'));
  ok(/unknown type/.test(String(u.unreadable)));
  sameAsStored(got, all, T0, T0 + 4000n * MS);
});

test('a page made only of unreadable entries still moves on', () => {
  const all = [
    ...Array.from({ length: 40 }, (_, i) => foreign(T0 + BigInt(i) * MS)),
    ...Array.from({ length: 40 }, (_, i) => stored(ev(T0 + BigInt(40 + i) * MS))),
  ];
  const got = walk(fakeLoki(all), T0, T0 + 100n * MS, 10);
  equal(got.unreadable.length, 40);
  equal(got.events.length, 40);
});

test('more entries at one nanosecond than a page: split by event id, nothing skipped', () => {
  const at = T0 + 5n * MS + 3n;
  const all = [
    stored(ev(at - 1n)),
    ...Array.from({ length: 12_000 }, (_, i) => stored(ev(at), `h${i % 4}`)),
    stored(ev(at + 1n)),
  ];
  const got = walk(fakeLoki(all), T0, T0 + 10n * MS, 5000);
  equal(got.events.length, 12_002);
  ok(got.w.stats.splits >= 1);
  sameAsStored(got, all, T0, T0 + 10n * MS);
});

test('a crowded instant of entries without ids splits by line; one of identical ids and lines by stream', () => {
  const at = T0 + 7n;
  const noIds: Stored[] = Array.from({ length: 300 }, (_, i) => ({
    stream: streamOf('h1'),
    ts: at,
    line: `stray line ${i}`,
    meta: {},
  }));
  const got = walk(fakeLoki(noIds), T0, T0 + MS, 40);
  equal(got.unreadable.length, 300);
  sameAsStored(got, noIds, T0, T0 + MS);

  const clones: Stored[] = Array.from({ length: 120 }, (_, i) => ({
    stream: streamOf(`node-${i}`),
    ts: at,
    line: 'same line',
    meta: { casefile_event_id: 'same-id', casefile_event_type: 'process.start' },
  }));
  const got2 = walk(fakeLoki(clones), T0, T0 + MS, 25);
  equal(got2.events.length, 120);
  deepEqual(new Set(got2.events.map((e) => e.host)).size, 120);
});

test('a crowded instant at the very start and at the last nanosecond of the window', () => {
  const all = [
    ...Array.from({ length: 30 }, () => stored(ev(T0))),
    ...Array.from({ length: 30 }, () => stored(ev(T0 + MS - 1n))),
    ...Array.from({ length: 30 }, () => stored(ev(T0 + MS))),
  ];
  const got = walk(fakeLoki(all), T0, T0 + MS, 10);
  equal(got.events.length, 60);
  sameAsStored(got, all, T0, T0 + MS);
});

test('the window is [from, to): entries at to and before from stay out; a page of them before from is no error', () => {
  // More than a page just before the window: the old reader's 1 ns early start made this a "share timestamp" error.
  const all = [
    ...Array.from({ length: 20 }, () => stored(ev(T0 - 1n))),
    stored(ev(T0)),
    stored(ev(T0 + 5n)),
    stored(ev(T0 + 10n)),
  ];
  const got = walk(fakeLoki(all), T0, T0 + 10n, 10);
  deepEqual(
    got.events.map((e) => e.timeNs),
    [T0.toString(), (T0 + 5n).toString()]
  );
});

test('a small first page, then full pages; an empty window asks nothing', () => {
  const all = mixedData();
  const got = walk(fakeLoki(all), T0, T0 + 700_000n * MS, 100, 3);
  sameAsStored(got, all, T0, T0 + 700_000n * MS);
  const empty = new PageWalker({ query: BASE, fromNs: '5', toNs: '5', pageSize: 10 });
  equal(empty.next(), undefined);
  equal(empty.done, true);
});

test('an entry Loki returns twice is kept once and counted', () => {
  const all = [stored(ev(T0)), stored(ev(T0 + 1n))];
  const twice = { ...all[1] };
  const loki = fakeLoki([...all, twice]);
  const got = walk(loki, T0, T0 + MS, 10);
  equal(got.events.length, 2);
  equal(got.w.stats.duplicates, 1);
});

test('accept refuses an answer to a request it did not hand out', () => {
  const w = new PageWalker({ query: BASE, fromNs: '0', toNs: '10', pageSize: 10 });
  const r = w.next()!;
  throws(() => w.accept({ ...r }, []), /not the outstanding request/);
});

test('a Loki that ignores the partition filters is an error, not an endless walk', () => {
  const all = Array.from({ length: 50 }, () => stored(ev(T0)));
  const loki = fakeLoki(all);
  const w = new PageWalker({ query: BASE, fromNs: T0.toString(), toNs: (T0 + 1n).toString(), pageSize: 10 });
  throws(() => {
    for (let r = w.next(); r; r = w.next()) w.accept(r, loki.answer({ ...r, query: BASE }));
  }, PageWalkerError);
});

test('label values and lines with regex and quote characters split safely', () => {
  const at = T0;
  const all: Stored[] = Array.from({ length: 60 }, (_, i) => ({
    stream: streamOf('h1'),
    ts: at,
    line: `a.*|(x)"\\[${i % 7}]$^${i}`,
    meta: { casefile_event_id: `id.*+?(${i % 5})|[${i}]"\\`, casefile_event_type: 'process.start' },
  }));
  const got = walk(fakeLoki(all), T0, T0 + 1n, 8);
  equal(got.events.length, 60);
  sameAsStored(got, all, T0, T0 + 1n);
});

test('a full page of entries from before the requested start is an error, not a loss', () => {
  const all = Array.from({ length: 30 }, (_, i) => stored(ev(T0 + BigInt(i) * 100_000n)));
  throws(() => walk(fakeLoki(all, 'early-entries'), T0 + 2n * MS, T0 + 5n * MS, 5), PageWalkerError);
});

test('a walk cut at resumeNs and continued by a new walker from there reads every entry exactly once', () => {
  const all = mixedData();
  const loki = fakeLoki(all);
  const to = T0 + 700_000n * MS;
  const a = new PageWalker({ query: BASE, fromNs: T0.toString(), toNs: to.toString(), pageSize: 50 });
  const events: CasefileEvent[] = [];
  for (let i = 0; i < 4; i++) {
    const r = a.next()!;
    events.push(...a.accept(r, loki.answer(r)).events);
  }
  const cut = a.resumeNs!;
  ok(BigInt(cut) > T0 && BigInt(cut) < to);
  ok(
    events.every((e) => BigInt(e.timeNs) < BigInt(cut)),
    'nothing at or after the cut was emitted'
  );
  const rest = walk(loki, BigInt(cut), to, 50);
  sameAsStored({ events: [...events, ...rest.events], unreadable: rest.unreadable }, all, T0, to);
});
