import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { ev, manyEvents } from '../../model/testEvents';
import { testIds } from '../../testIds';
import { EventGrid, ROW_HEIGHT, shortDigests } from './EventGrid';

describe('EventGrid', () => {
  const many = manyEvents(100_000, (i) => (i % 2 ? 'process.start' : 'port.listen'));

  it('renders only the rows in view for 100k events, and the rows further down after scrolling', () => {
    const onEnd = jest.fn();
    render(<EventGrid events={many} onSelect={() => {}} height={420} onEndReached={onEnd} />);
    const rows = screen.getAllByTestId(testIds.view.gridRow);
    expect(rows.length).toBeLessThan(60);
    expect(rows[0]).toHaveAttribute('data-event-id', many[0].id);
    expect(screen.getByRole('grid')).toHaveAttribute('aria-rowcount', '100000');
    expect(onEnd).not.toHaveBeenCalled();

    const viewport = screen.getByRole('grid');
    viewport.scrollTop = ROW_HEIGHT * 99_990;
    fireEvent.scroll(viewport);
    const ids = screen.getAllByTestId(testIds.view.gridRow).map((r) => r.getAttribute('data-event-id'));
    expect(ids).toContain(many[99_999].id);
    expect(onEnd).toHaveBeenCalled();
  });

  it('scrolls a selected event deep in the range into view (a shared link), once', () => {
    const { rerender } = render(
      <EventGrid events={many} onSelect={() => {}} height={420} selectedId={many[50_000].id} />
    );
    const viewport = screen.getByRole('grid');
    const top = viewport.scrollTop;
    expect(top).toBeLessThanOrEqual(50_000 * ROW_HEIGHT);
    expect(top + 420).toBeGreaterThanOrEqual(50_001 * ROW_HEIGHT);
    const selected = screen
      .getAllByTestId(testIds.view.gridRow)
      .find((r) => r.getAttribute('aria-selected') === 'true');
    expect(selected).toHaveAttribute('data-event-id', many[50_000].id);
    // More events paged in: the reader's own scrolling is left alone.
    viewport.scrollTop = 0;
    fireEvent.scroll(viewport);
    rerender(<EventGrid events={[...many]} onSelect={() => {}} height={420} selectedId={many[50_000].id} />);
    expect(viewport.scrollTop).toBe(0);
  });

  it('shows time, type, scope and message, and selects on click', () => {
    const onSelect = jest.fn();
    const e = ev('runtime.audit', Date.UTC(2026, 0, 2, 3, 4, 5, 6), {
      containerName: 'payments-api',
      message: 'unexpected process nc',
    } as never);
    render(<EventGrid events={[e]} onSelect={onSelect} />);
    const row = screen.getByTestId(testIds.view.gridRow);
    expect(row).toHaveTextContent('2026-01-02 03:04:05.006');
    expect(row).toHaveTextContent('Runtime audit');
    expect(row).toHaveTextContent('payments-api');
    fireEvent.click(row);
    expect(onSelect).toHaveBeenCalledWith(e);
  });
});

describe('EventGrid by keyboard and columns', () => {
  const evs = [
    ev('process.start', 1000, { id: 'a', pid: 11, user: 'root', executable: '/bin/sh' } as never),
    ev('runtime.audit', 1000, { id: 'b', severity: 'critical', pid: 12, executable: '/tmp/x' } as never),
    ev('port.listen', 5000, { id: 'c' } as never),
  ];

  it('focuses, moves with the arrows, Home/End, and opens with Enter', () => {
    const onSelect = jest.fn();
    render(<EventGrid events={evs} onSelect={onSelect} />);
    const grid = screen.getByRole('grid');
    expect(grid).toHaveAttribute('tabindex', '0');
    fireEvent.focus(grid);
    const active = () =>
      screen.getAllByTestId(testIds.view.gridRow).find((r) => r.dataset.active)?.dataset.eventId;
    expect(active()).toBe('a');
    fireEvent.keyDown(grid, { key: 'ArrowDown' });
    expect(active()).toBe('b');
    expect(grid.getAttribute('aria-activedescendant')).toBe('cf-row-b');
    fireEvent.keyDown(grid, { key: 'Enter' });
    expect(onSelect).toHaveBeenLastCalledWith(evs[1]);
    fireEvent.keyDown(grid, { key: 'End' });
    expect(active()).toBe('c');
    fireEvent.keyDown(grid, { key: 'ArrowDown' });
    expect(active()).toBe('c');
    fireEvent.keyDown(grid, { key: 'Home' });
    fireEvent.keyDown(grid, { key: 'ArrowUp' });
    expect(active()).toBe('a');
  });

  it('shows severity, user, pid and executable, only the chosen ones, and nanoseconds where ms collide', () => {
    const { rerender } = render(<EventGrid events={evs} onSelect={() => {}} />);
    const row = (id: string) =>
      screen.getAllByTestId(testIds.view.gridRow).find((r) => r.dataset.eventId === id)!;
    const cell = (id: string, c: string) => row(id).querySelector(`[data-column="${c}"]`)?.textContent;
    expect(cell('b', 'severity')).toBe('critical');
    expect(cell('a', 'user')).toBe('root');
    expect(cell('b', 'pid')).toBe('12');
    expect(cell('b', 'executable')).toBe('/tmp/x');
    // a and b share a millisecond: their nanoseconds decide the order and are shown; c's are not.
    expect(row('a')).toHaveTextContent('000000');
    expect(row('c').textContent).not.toContain('000000');
    rerender(<EventGrid events={evs} onSelect={() => {}} columns={['pid']} />);
    expect(cell('b', 'severity')).toBeUndefined();
    expect(cell('b', 'pid')).toBe('12');
  });

  it('says what to do when there are no rows', () => {
    render(
      <EventGrid events={[]} onSelect={() => {}} empty="No events in this range. Widen the time range." />
    );
    expect(screen.getByTestId(testIds.view.gridEmpty)).toHaveTextContent('Widen the time range');
  });
});

describe('shortDigests', () => {
  it('cuts every sha256 digest to 12 digits and leaves the rest alone', () => {
    const d = 'ab'.repeat(32);
    expect(shortDigests(`Model sha256:${d} learned process /bin/sh; was sha256:${d}`)).toBe(
      'Model sha256:abababababab… learned process /bin/sh; was sha256:abababababab…'
    );
    expect(shortDigests('sha256:abc is short')).toBe('sha256:abc is short');
  });
});
