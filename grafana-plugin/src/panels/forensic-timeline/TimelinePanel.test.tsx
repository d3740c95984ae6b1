import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import {
  FieldType,
  LoadingState,
  createDataFrame,
  dateTime,
  getDefaultTimeRange,
  type PanelProps,
} from '@grafana/data';
import { EVENT_ID_LABEL, EVENT_TYPE_LABEL } from '@casefile/schema';
import { testIds } from '@casefile/timeline-ui';
import { TimelinePanel, type TimelinePanelOptions } from './TimelinePanel';

const FROM = 1_700_000_000_000;

function props(
  series: ReturnType<typeof createDataFrame>[],
  errors?: Array<{ message: string }>
): PanelProps<TimelinePanelOptions> {
  const timeRange = { ...getDefaultTimeRange(), from: dateTime(FROM), to: dateTime(FROM + 600_000) };
  return {
    data: { series, state: LoadingState.Done, timeRange, errors },
    timeRange,
    height: 600,
    width: 1000,
    onChangeTimeRange: jest.fn(),
  } as unknown as PanelProps<TimelinePanelOptions>;
}

const frame = createDataFrame({
  fields: [
    {
      name: 'labels',
      type: FieldType.other,
      values: [
        {
          [EVENT_ID_LABEL]: 'a',
          [EVENT_TYPE_LABEL]: 'process.start',
          process_pid: '7',
          process_executable_path: '/bin/sh',
        },
        {
          [EVENT_ID_LABEL]: 'b',
          [EVENT_TYPE_LABEL]: 'runtime.audit',
          casefile_audit_attack_type: 'reverse_shell',
        },
      ],
    },
    { name: 'Line', type: FieldType.string, values: ['exec sh', 'reverse shell'] },
    {
      name: 'tsNs',
      type: FieldType.string,
      values: [`${BigInt(FROM + 60_000) * 1_000_000n}`, `${BigInt(FROM + 120_000) * 1_000_000n}`],
    },
  ],
});

describe('Forensic timeline panel', () => {
  it("shows a Loki log query's events as the timeline, toggles and grid", () => {
    render(<TimelinePanel {...props([frame])} />);
    expect(screen.getByTestId(testIds.panel.container)).toBeInTheDocument();
    expect(screen.getAllByTestId(testIds.view.chartBucket)).toHaveLength(2);
    expect(screen.getAllByTestId(testIds.view.gridRow).map((r) => r.getAttribute('data-event-id'))).toEqual([
      'a',
      'b',
    ]);
    fireEvent.click(screen.getByTestId(testIds.view.toggle('process.start')));
    expect(screen.getAllByTestId(testIds.view.gridRow).map((r) => r.getAttribute('data-event-id'))).toEqual([
      'b',
    ]);
    fireEvent.click(screen.getByTestId(testIds.view.gridRow));
    expect(screen.getByTestId(testIds.view.details)).toHaveTextContent('reverse_shell');
  });

  it('shows the query error in words', () => {
    render(<TimelinePanel {...props([], [{ message: 'parse error: unexpected IDENTIFIER' }])} />);
    expect(screen.getByTestId(testIds.view.error)).toHaveTextContent('parse error: unexpected IDENTIFIER');
  });
});
