import { EVENT_ID_LABEL, EVENT_TYPE_LABEL } from '@casefile/schema';
import { standInBackendSrv, streamsAnswer } from '../test/backendSrvStandIn';
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
  const lokiOver = (all: Array<[Record<string, string>, string, string]>) =>
    standInBackendSrv((r) => {
      const start = BigInt(r.params.start as string);
      const end = BigInt(r.params.end as string);
      const filters = [
        ...(r.params.query as string).matchAll(/\| casefile_event_id(=~|!~|!=|=)("(?:[^"\\]|\\.)*")/g),
      ].map(([, op, q]) => {
        const v = JSON.parse(q) as string;
        const re = new RegExp(`^(?:${v.replace(/^\(\?s\)/, '')})$`, 's');
        return (id: string) =>
          op === '=' ? id === v : op === '!=' ? id !== v : re.test(id) === (op === '=~');
      });
      const hits = all
        .filter(
          ([l, ts]) => BigInt(ts) >= start && BigInt(ts) < end && filters.every((f) => f(l[EVENT_ID_LABEL]))
        )
        .sort((x, y) => (BigInt(x[1]) < BigInt(y[1]) ? -1 : BigInt(x[1]) > BigInt(y[1]) ? 1 : 0))
        .slice(0, r.params.limit as number);
      return { data: streamsAnswer(hits) };
    });

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

  it('counts per type with a metric query whose first point closes the first bucket', async () => {
    const seen = standInBackendSrv(() => ({
      data: {
        status: 'success',
        data: {
          resultType: 'matrix',
          result: [
            {
              metric: { [EVENT_TYPE_LABEL]: 'runtime.audit' },
              values: [
                [60, '2'],
                [3600, '5'],
              ],
            },
          ],
        },
      },
    }));
    const b = await countByType(
      'u',
      { scope: { host: 'n1' }, search: 'x', types: ['port.listen'] },
      0,
      3_600_000
    );
    expect(seen[0].params).toEqual({
      query:
        'sum by (casefile_event_type) (count_over_time({service_namespace="casefile", host_name="n1"} |~ "(?i)x" [30s]))',
      start: '30000000000',
      end: '3600000000000',
      step: 30,
    });
    const row = b.counts['runtime.audit']!;
    expect(row).toHaveLength(120);
    expect(row[1]).toBe(2);
    expect(row[119]).toBe(5);
  });

  it('widens an unaligned range to whole step-aligned buckets so edge events are counted', async () => {
    const seen = standInBackendSrv(() => ({
      data: { status: 'success', data: { resultType: 'matrix', result: [] } },
    }));
    const b = await countByType('u', {}, 10_000, 3_610_000);
    expect(seen[0].params).toMatchObject({ start: '30000000000', end: '3630000000000', step: 30 });
    expect([b.fromMs, b.toMs]).toEqual([0, 3_630_000]);
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
      'api/datasources/proxy/uid/u/loki/api/v1/query_range: 400 parse error at line 1'
    );
  });

  it('parses step durations', () => {
    expect(durationMs('30s')).toBe(30_000);
    expect(durationMs('1h')).toBe(3_600_000);
    expect(durationMs('1d')).toBe(86_400_000);
  });
});
