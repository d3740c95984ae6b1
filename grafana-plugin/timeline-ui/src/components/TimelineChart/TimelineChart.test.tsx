import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { bucketEvents } from '../../model/buckets';
import { SEVERITY_COLORS, TYPE_COLORS } from '../../model/palette';
import { ev } from '../../model/testEvents';
import { testIds } from '../../testIds';
import { TimelineChart } from './TimelineChart';

// jsdom has no layout: give the SVG a 1000 px wide box so pointer positions map to times.
beforeAll(() => {
  jest.spyOn(Element.prototype, 'getBoundingClientRect').mockReturnValue({
    left: 0,
    top: 0,
    width: 1000,
    height: 100,
    right: 1000,
    bottom: 100,
    x: 0,
    y: 0,
    toJSON: () => ({}),
  });
});

const HOUR = 3_600_000;

describe('TimelineChart', () => {
  it('draws one cluster per non-empty bucket, coloured by type, readable with a single event', () => {
    const b = bucketEvents([ev('runtime.audit', 30 * 60_000)], 0, HOUR, 60_000);
    const { container } = render(<TimelineChart buckets={b} hidden={new Set()} />);
    const bars = screen.getAllByTestId(testIds.view.chartBucket);
    expect(bars).toHaveLength(1);
    expect(bars[0]).toHaveAttribute('data-count', '1');
    const rect = container.querySelector('rect')!;
    expect(rect.getAttribute('fill')).toBe(TYPE_COLORS['runtime.audit']);
    expect(Number(rect.getAttribute('height'))).toBeGreaterThanOrEqual(2);
    expect(screen.getByTestId(testIds.view.chartMax)).toHaveTextContent('max 1 / 1m');
  });

  it('keeps a one-event cluster visible next to a million-event one', () => {
    const b = {
      fromMs: 0,
      toMs: 2 * 60_000,
      stepMs: 60_000,
      counts: { 'process.start': [1_000_000, 0], 'runtime.audit': [0, 1] },
    };
    const { container } = render(<TimelineChart buckets={b} hidden={new Set()} />);
    const heights = [...container.querySelectorAll('rect')]
      .filter((r) => r.getAttribute('fill'))
      .map((r) => Number(r.getAttribute('height')));
    expect(heights).toHaveLength(2);
    expect(Math.min(...heights)).toBeGreaterThanOrEqual(2);
    expect(screen.getByTestId(testIds.view.chartMax)).toHaveTextContent('max 1,000,000');
  });

  it('leaves hidden types out of the stacks', () => {
    const b = bucketEvents(
      [ev('process.start', 0), ev('runtime.audit', 0), ev('process.start', 61_000)],
      0,
      120_000,
      60_000
    );
    render(<TimelineChart buckets={b} hidden={new Set(['process.start'])} />);
    const bars = screen.getAllByTestId(testIds.view.chartBucket);
    expect(bars.map((g) => g.getAttribute('data-count'))).toEqual(['1']);
  });

  it('zooms to the brushed range', () => {
    const onZoom = jest.fn();
    const b = bucketEvents([ev('process.start', 10)], 0, HOUR, 60_000);
    render(<TimelineChart buckets={b} hidden={new Set()} onZoom={onZoom} />);
    const svg = screen.getByRole('img', { name: 'Event timeline' });
    fireEvent.mouseDown(svg, { clientX: 250 });
    fireEvent.mouseMove(svg, { clientX: 500 });
    expect(screen.getByTestId(testIds.view.chartBrush)).toBeInTheDocument();
    fireEvent.mouseUp(svg, { clientX: 500 });
    expect(onZoom).toHaveBeenCalledWith(HOUR / 4, HOUR / 2);
  });

  it('zooms into a bucket when its bar is clicked', () => {
    const onZoom = jest.fn();
    const b = bucketEvents([ev('process.start', 90_000)], 0, 10 * 60_000, 60_000);
    render(<TimelineChart buckets={b} hidden={new Set()} onZoom={onZoom} />);
    const svg = screen.getByRole('img', { name: 'Event timeline' });
    fireEvent.mouseDown(svg, { clientX: 150 });
    fireEvent.mouseUp(svg, { clientX: 150 });
    expect(onZoom).toHaveBeenCalledWith(60_000, 120_000);
  });

  it('splits the audit segment by severity, worst on top, and marks the selected event', () => {
    const b = { fromMs: 0, toMs: 120_000, stepMs: 60_000, counts: { 'runtime.audit': [0, 3] } };
    const { container } = render(
      <TimelineChart
        buckets={b}
        hidden={new Set()}
        severities={[undefined, { high: 1, critical: 2 }]}
        markerMs={90_000}
      />
    );
    const parts = [...container.querySelectorAll('rect[data-severity]')];
    expect(parts.map((r) => r.getAttribute('data-severity'))).toEqual(['critical', 'high']);
    expect(parts[0].getAttribute('fill')).toBe(SEVERITY_COLORS.critical);
    const [c, h] = parts.map((r) => Number(r.getAttribute('height')));
    expect(c).toBeCloseTo(2 * h);
    expect(Number(screen.getByTestId(testIds.view.chartMarker).getAttribute('x1'))).toBeCloseTo(750);
  });

  it('cuts the edge buckets to the range the counts stand for', () => {
    const b = {
      fromMs: 0,
      toMs: 180_000,
      stepMs: 60_000,
      range: { fromMs: 30_000, toMs: 150_000 },
      counts: { 'process.start': [1, 1, 1] },
    };
    render(<TimelineChart buckets={b} hidden={new Set()} />);
    const spans = screen
      .getAllByTestId(testIds.view.chartBucket)
      .map((g) => [Number(g.getAttribute('data-from')), Number(g.getAttribute('data-to'))]);
    expect(spans).toEqual([
      [30_000, 60_000],
      [60_000, 120_000],
      [120_000, 150_000],
    ]);
  });

  it('says it is counting while the counts load', () => {
    render(<TimelineChart buckets={bucketEvents([], 0, HOUR, 60_000)} hidden={new Set()} loading />);
    expect(screen.getByTestId(testIds.view.chartMax)).toHaveTextContent('counting events');
  });
});
