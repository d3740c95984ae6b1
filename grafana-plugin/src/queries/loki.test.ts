import { EVENT_ID_LABEL, EVENT_TYPE_LABEL } from '@casefile/schema';
import { standInBackendSrv, streamsAnswer, type Seen } from '../test/backendSrvStandIn';
import { countAnswer } from '../test/lokiCounts';
import { EventReader, countByType, distinctValues, durationMs, lokiBase, readAllEvents } from './loki';

const lbl = (id: string, type = 'process.start') => ({
  service_namespace: 'casefile',
  [EVENT_ID_LABEL]: id,
  [EVENT_TYPE_LABEL]: type,
  process_pid: '7',
  process_executable_path: '/bin/sh',
});

describe('Loki queries', () => {
  it('reads events through the data source proxy with the schema-built, escaped LogQL', async () => {
    const seen = standInBackendSrv(() => ({ data: streamsAnswer([[lbl('a'), '1000', 'sh']]) }));
    const reader = new EventReader(
      'uid"x',
      { scope: { containerName: 'web' }, search: 'a"b.c', types: ['process.start'] },
      '0',
      '5000'
    );
    const page = await reader.nextPage();
    expect(seen[0].url).toBe('api/datasources/proxy/uid/uid%22x/loki/api/v1/query_range');
    expect(seen[0].params).toEqual({
      query:
        '{service_namespace="casefile"} |~ "(?i)a\\"b\\\\.c" | container_name="web" | casefile_event_type="process.start"',
      start: '0',
      end: '5000',
      limit: 5000,
      direction: 'forward',
    });
    expect(page.events).toEqual([
      { id: 'a', type: 'process.start', timeNs: '1000', message: 'sh', pid: 7, executable: '/bin/sh' },
    ]);
    expect(reader.done).toBe(true);
  });

  /**
   * Loki's query_range over entries [labels, ts, line]: [start, end), first `limit` in time order,
   * and the event-id label filters the walker adds to read a crowded instant in partitions.
   */
  const logAnswer = (all: Array<[Record<string, string>, string, string]>, r: Seen) => {
    const start = BigInt(r.params.start as string);
    const end = BigInt(r.params.end as string);
    const filters = [
      ...(r.params.query as string).matchAll(/\| casefile_event_id(=~|!~|!=|=)("(?:[^"\\]|\\.)*")/g),
    ].map(([, op, q]) => {
      const v = JSON.parse(q) as string;
      const re = new RegExp(`^(?:${v.replace(/^\(\?s\)/, '')})$`, 's');
      return (id: string) => (op === '=' ? id === v : op === '!=' ? id !== v : re.test(id) === (op === '=~'));
    });
    const hits = all
      .filter(
        ([l, ts]) => BigInt(ts) >= start && BigInt(ts) < end && filters.every((f) => f(l[EVENT_ID_LABEL]))
      )
      .sort((x, y) => (BigInt(x[1]) < BigInt(y[1]) ? -1 : BigInt(x[1]) > BigInt(y[1]) ? 1 : 0))
      .slice(0, r.params.limit as number);
    return { data: streamsAnswer(hits) };
  };
  const lokiOver = (all: Array<[Record<string, string>, string, string]>) =>
    standInBackendSrv((r) => logAnswer(all, r));

  it('pages by time without losing or repeating events at a page edge, trimmed to [from, to)', async () => {
    // Two events share the edge timestamp 20; pages of 3; one at `to` and one before `from` stay out.
    lokiOver([
      [lbl('z'), '5', 'before from'],
      [lbl('a'), '10', 'a'],
      [lbl('b'), '20', 'b'],
      [lbl('c'), '20', 'c'],
      [lbl('d'), '30', 'd'],
      [lbl('e'), '40', 'e'],
      [lbl('f'), '100', 'at to'],
    ]);
    const reader = new EventReader('u', {}, '10', '100', 3);
    const ids: string[] = [];
    while (!reader.done) ids.push(...(await reader.nextPage()).events.map((e) => e.id));
    expect(ids).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('keeps reading past entries that are not Casefile events, and counts them', async () => {
    // The old reader stopped at a page with one such entry: it judged fullness by what decoded.
    const all: Array<[Record<string, string>, string, string]> = Array.from({ length: 30 }, (_, i) => [
      lbl(`e${String(i).padStart(2, '0')}`),
      String(1000 + i),
      `l${i}`,
    ]);
    all.push([lbl('new-1', 'file.open'), '1002', 'opened /etc/shadow']);
    lokiOver(all);
    const reader = new EventReader('u', {}, '0', '5000', 5);
    const got: string[] = [];
    const odd: string[] = [];
    while (!reader.done) {
      const p = await reader.nextPage();
      got.push(...p.events.map((e) => e.id));
      odd.push(...p.unreadable.map((u) => `${u.type}: ${u.message}`));
    }
    expect(got).toHaveLength(30);
    expect(odd).toEqual(['file.open: opened /etc/shadow']);
    expect(reader.unreadableCount).toBe(1);
  });

  it('reads an instant holding more entries than a page whole (partitions), instead of dropping its rest', async () => {
    const all = Array.from(
      { length: 40 },
      (_, i) =>
        [lbl(`${'0123456789abcdef'[i % 16]}-${i}`), '777', `l${i}`] as [
          Record<string, string>,
          string,
          string,
        ]
    );
    const seen = lokiOver(all);
    const reader = new EventReader('u', {}, '0', '1000', 10);
    const evs = [];
    while (!reader.done) evs.push(...(await reader.nextPage()).events);
    expect(evs).toHaveLength(40);
    expect(new Set(evs.map((e) => e.id)).size).toBe(40);
    expect(seen.some((q) => /casefile_event_id=~/.test(q.params.query as string))).toBe(true);
  });

  it('reads every event of a range across pages', async () => {
    const all = Array.from(
      { length: 12_000 },
      (_, i) =>
        [lbl(`e${String(i).padStart(5, '0')}`), String(1000 + Math.floor(i / 3)), `l${i}`] as [
          Record<string, string>,
          string,
          string,
        ]
    );
    lokiOver(all);
    const evs = await readAllEvents('u', {}, 0, 10, 1_000_000);
    expect(evs).toHaveLength(12_000);
    expect(new Set(evs.map((e) => e.id)).size).toBe(12_000);
  });

  it('counts per type in step-aligned buckets with the schema-built metric query', async () => {
    const seen = standInBackendSrv((r) => countAnswer([], r));
    await countByType('u', { scope: { host: 'n1' }, search: 'x', types: ['port.listen'] }, 0, 3_600_000);
    const range = seen.find((r) => r.url.endsWith('/query_range'))!;
    expect(range.params).toEqual({
      query:
        'sum by (casefile_event_type) (count_over_time({service_namespace="casefile", host_name="n1"} |~ "(?i)x" [30s]))',
      start: '30000000000',
      end: '3600000000000',
      step: 30,
    });
    // The whole range, exactly: an instant query at the end minus 1 ns over the range.
    const whole = seen.find((r) => r.url.endsWith('/query'))!;
    expect(whole.params).toEqual({
      query:
        'sum by (casefile_event_type) (count_over_time({service_namespace="casefile", host_name="n1"} |~ "(?i)x" [3600000ms]))',
      time: '3599999999999',
    });
  });

  it('counts exactly the events in [from, to), whatever the step alignment, as the grid reads them', async () => {
    const ns = (ms: number, extra = 0n) => `${BigInt(ms) * 1_000_000n + extra}`;
    const from = 10_000;
    const to = 3_610_000; // neither a multiple of the 30 s step
    const at = [
      ns(from - 1), // before: out
      ns(from), // the first instant: in
      ns(29_999), // the partial first bucket
      ns(30_000), // exactly on a bucket edge (Loki's point at 30 s counts it in the bucket before)
      ns(1_800_000, 1n),
      ns(3_600_000), // the partial last bucket
      ns(to, -1n), // the last nanosecond: in
      ns(to), // the end: out
      ns(to + 20_000), // after, in the last step-aligned bucket: out
    ];
    const entries = at.map(
      (t, i) => [lbl(`e${i}`, 'runtime.audit'), t, `l${i}`] as [Record<string, string>, string, string]
    );
    standInBackendSrv((r) =>
      String(r.params.query).startsWith('sum') ? countAnswer(entries, r) : logAnswer(entries, r)
    );
    const b = await countByType('u', {}, from, to);
    const row = b.counts['runtime.audit']!;
    const inRange = entries.filter(([, t]) => BigInt(t) >= BigInt(ns(from)) && BigInt(t) < BigInt(ns(to)));
    expect(inRange).toHaveLength(6);
    expect(row.reduce((x, c) => x + c, 0)).toBe(6);
    expect(b.range).toEqual({ fromMs: from, toMs: to });
    expect([b.fromMs, b.toMs]).toEqual([0, 3_630_000]);
    expect(row[0]).toBe(2); // [10 s, 30 s)
    expect(row[row.length - 1]).toBe(2); // [3600 s, 3610 s)
    // The grid's reader over the same range finds the same events.
    const evs = await readAllEvents('u', {}, from, to, 100);
    expect(evs.map((e) => e.id).sort()).toEqual(inRange.map(([l]) => l[EVENT_ID_LABEL]).sort());
  });

  it('counts a range shorter than one step with the exact query alone', async () => {
    const entries: Array<[Record<string, string>, string, string]> = [
      [lbl('a'), '1500000000', 'a'],
      [lbl('b'), '2500000000', 'b'],
    ];
    const seen = standInBackendSrv((r) => countAnswer(entries, r));
    const b = await countByType('u', {}, 1200, 2000);
    expect(seen.every((r) => r.url.endsWith('/query'))).toBe(true);
    expect(b.counts['process.start']!.reduce((x, c) => x + c, 0)).toBe(1);
  });

  it('lists distinct scope values, most frequent first, with an instant query over the range', async () => {
    const seen = standInBackendSrv(() => ({
      data: {
        status: 'success',
        data: {
          resultType: 'vector',
          result: [
            { metric: { container_name: 'web' }, value: [1, '3'] },
            { metric: { container_name: 'db' }, value: [1, '9'] },
            { metric: {}, value: [1, '1'] },
          ],
        },
      },
    }));
    const vals = await distinctValues('u', 'containerName', { scope: { host: 'n"1' } }, 0, 3_600_000);
    expect(vals).toEqual(['db', 'web']);
    expect(seen[0].url).toBe(`${lokiBase('u')}/query`);
    expect(seen[0].params).toEqual({
      query:
        'count by (container_name) (count_over_time({service_namespace="casefile", host_name="n\\"1"} [3600s]))',
      time: '3600000000000',
    });
  });

  it("turns Loki's error into words", async () => {
    standInBackendSrv(() => ({ status: 400, data: { message: 'parse error at line 1' } }));
    await expect(new EventReader('u', {}, '0', '1').nextPage()).rejects.toThrow(
      "Loki (through Grafana's data source proxy): 400 parse error at line 1"
    );
  });

  it('parses step durations', () => {
    expect(durationMs('30s')).toBe(30_000);
    expect(durationMs('1h')).toBe(3_600_000);
    expect(durationMs('1d')).toBe(86_400_000);
  });
});
