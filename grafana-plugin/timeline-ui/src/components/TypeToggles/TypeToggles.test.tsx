import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { EVENT_TYPE_NAMES, type EventType } from '@casefile/schema';
import { testIds } from '../../testIds';
import { TypeToggles } from './TypeToggles';

const totals = (over: Partial<Record<EventType, number>>) =>
  Object.fromEntries(EVENT_TYPE_NAMES.map((t) => [t, over[t] ?? 0])) as Record<EventType, number>;

describe('TypeToggles', () => {
  it('shows one toggle per type present, with its count, and reports clicks', () => {
    const onToggle = jest.fn();
    render(
      <TypeToggles
        totals={totals({ 'process.start': 1234567, 'runtime.audit': 1 })}
        hidden={new Set()}
        onToggle={onToggle}
      />
    );
    expect(screen.getByTestId(testIds.view.toggleCount('process.start'))).toHaveTextContent('1,234,567');
    expect(screen.getByTestId(testIds.view.toggleCount('runtime.audit'))).toHaveTextContent('1');
    expect(screen.queryByTestId(testIds.view.toggle('port.listen'))).toBeNull();
    fireEvent.click(screen.getByTestId(testIds.view.toggle('runtime.audit')));
    expect(onToggle).toHaveBeenCalledWith('runtime.audit');
  });

  it('marks hidden types as not pressed and keeps them visible even at zero', () => {
    render(
      <TypeToggles
        totals={totals({ 'process.start': 3 })}
        hidden={new Set<EventType>(['port.listen'])}
        onToggle={() => {}}
      />
    );
    expect(screen.getByTestId(testIds.view.toggle('port.listen'))).toHaveAttribute('aria-pressed', 'false');
    expect(screen.getByTestId(testIds.view.toggle('process.start'))).toHaveAttribute('aria-pressed', 'true');
  });
});
