import { EVENT_TYPE_LABEL } from '@casefile/schema';
import { bucketEvents, bucketsFromMatrix, stackTotals, totalsByType } from './buckets';
import { filterByType } from './filter';
import { ev, manyEvents } from './testEvents';

describe('bucketEvents', () => {
  it('counts events per type in equal buckets and ignores events outside the range', () => {
    const b = bucketEvents(
      [
        ev('process.start', 0),
        ev('process.start', 59_999),
        ev('process.start', 60_000),
        ev('runtime.audit', 119_999),
        ev('runtime.audit', 120_000),
      ],
      0,
      120_000,
      60_000
    );
    expect(b.counts['process.start']).toEqual([2, 1]);
    expect(b.counts['runtime.audit']).toEqual([0, 1]);
    expect(totalsByType(b)['process.start']).toBe(3);
    expect(stackTotals(b, () => true)).toEqual([2, 2]);
    expect(stackTotals(b, (t) => t !== 'process.start')).toEqual([0, 1]);
  });
});

describe('bucketsFromMatrix', () => {
  it("puts Loki's point at t into the bucket that ends at t", () => {
    const b = bucketsFromMatrix(
      [
        {
          metric: { [EVENT_TYPE_LABEL]: 'port.listen' },
          values: [
            [60, '3'],
            [180, '1'],
          ],
        },
        { metric: { [EVENT_TYPE_LABEL]: 'not.a.type' }, values: [[60, '9']] },
      ],
      EVENT_TYPE_LABEL,
      0,
      180_000,
      60_000
    );
    expect(b.counts['port.listen']).toEqual([3, 0, 1]);
    expect(Object.keys(b.counts)).toEqual(['port.listen']);
  });
});

describe('filterByType', () => {
  it('returns the same array when nothing is hidden and drops hidden types otherwise', () => {
    const evs = [ev('process.start', 1), ev('port.listen', 2), ev('process.start', 3)];
    expect(filterByType(evs, new Set())).toBe(evs);
    expect(filterByType(evs, new Set(['process.start'])).map((e) => e.type)).toEqual(['port.listen']);
  });

  it('filters 100k events well under the 100 ms toggle budget', () => {
    const evs = manyEvents(100_000, (i) => (i % 3 ? 'process.start' : 'network.connect'));
    const t0 = performance.now();
    const out = filterByType(evs, new Set(['network.connect']));
    const ms = performance.now() - t0;
    expect(out).toHaveLength(66_666);
    expect(ms).toBeLessThan(100);
  });
});

describe('toggleHidden', () => {
  it('adds a shown type and removes a hidden one, never mutating the input', async () => {
    const { toggleHidden } = await import('./filter');
    const hidden = new Set(['process.start' as const]);
    expect([...toggleHidden(hidden, 'port.listen')].sort()).toEqual(['port.listen', 'process.start']);
    expect([...toggleHidden(hidden, 'process.start')]).toEqual([]);
    expect([...hidden]).toEqual(['process.start']);
  });
});
