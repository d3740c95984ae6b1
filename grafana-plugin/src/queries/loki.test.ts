import { EVENT_ID_LABEL, EVENT_TYPE_LABEL } from '@casefile/schema';
import { standInBackendSrv, streamsAnswer } from '../test/backendSrvStandIn';
import { countByType, distinctValues, durationMs, lokiBase, readAllEvents, readEventPage } from './loki';

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
    const page = await readEventPage(
      'uid"x',
      { scope: { containerName: 'web' }, search: 'a"b.c', types: ['process.start'] },
      '0',
      '5000'
    );
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
    expect(page.nextFromNs).toBeUndefined();
  });

  it('pages by time without losing or repeating events at a page edge', async () => {
    // Five events, two sharing the edge timestamp 20; pages of 3.
    const all: Array<[Record<string, string>, string, string]> = [
      [lbl('a'), '10', 'a'],
      [lbl('b'), '20', 'b'],
      [lbl('c'), '20', 'c'],
      [lbl('d'), '30', 'd'],
      [lbl('e'), '40', 'e'],
    ];
    standInBackendSrv((r) => {
      const start = BigInt(r.params.start as string);
      const inRange = all.filter(([, ts]) => BigInt(ts) >= start).slice(0, r.params.limit as number);
      return { data: streamsAnswer(inRange) };
    });
    const first = await readEventPage('u', {}, '0', '100', new Set(), 3);
    expect(first.events.map((e) => e.id)).toEqual(['a', 'b', 'c']);
    expect(first.nextFromNs).toBe('20');
    const second = await readEventPage('u', {}, '20', '100', new Set(['b', 'c']), 3);
    expect(second.events.map((e) => e.id)).toEqual(['d']);
    expect(second.nextFromNs).toBe('30');
    const third = await readEventPage('u', {}, '30', '100', new Set(['d']), 3);
    expect(third.events.map((e) => e.id)).toEqual(['e']);
    expect(third.nextFromNs).toBeUndefined();
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
    standInBackendSrv((r) => {
      const start = BigInt(r.params.start as string);
      return {
        data: streamsAnswer(all.filter(([, ts]) => BigInt(ts) >= start).slice(0, r.params.limit as number)),
      };
    });
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
    await expect(readEventPage('u', {}, '0', '1')).rejects.toThrow(
      'api/datasources/proxy/uid/u/loki/api/v1/query_range: 400 parse error at line 1'
    );
  });

  it('parses step durations', () => {
    expect(durationMs('30s')).toBe(30_000);
    expect(durationMs('1h')).toBe(3_600_000);
    expect(durationMs('1d')).toBe(86_400_000);
  });
});
