import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { ev, manyEvents } from '../../model/testEvents';
import { testIds } from '../../testIds';
import { EventGrid, ROW_HEIGHT } from './EventGrid';

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
