import React from 'react';
import { fireEvent, render, screen, within } from '@testing-library/react';
import { ev } from '../../model/testEvents';
import { testIds } from '../../testIds';
import { EventDetails, detailRows } from './EventDetails';

const audit = ev('runtime.audit', Date.UTC(2026, 10, 27, 12, 0, 0), {
  message: 'unexpected process /tmp/x in payments-api',
  user: 'www-data',
  commandLine: '/tmp/x -c evil',
  pid: 4242,
  ppid: 1,
  listenPort: 4444,
  imageName: 'payments:1.2',
  containerName: 'payments-api',
  containerId: 'abc123',
  host: 'node-1',
  pod: 'payments-7f',
  mitreTechnique: 'T1059',
});

describe('EventDetails', () => {
  it('lists the responder fields first, then every other field, with their OTel names', () => {
    const keys = detailRows(audit).map((r) => r.key);
    expect(keys.slice(0, 4)).toEqual(['message', 'time', 'type', 'id']);
    expect(keys.indexOf('attackType')).toBeLessThan(keys.indexOf('mitreTechnique'));
    expect(keys).toEqual(
      expect.arrayContaining([
        'user',
        'commandLine',
        'pid',
        'ppid',
        'listenPort',
        'imageName',
        'containerName',
        'host',
        'pod',
        'mitreTechnique',
      ])
    );
    expect(detailRows(audit).find((r) => r.key === 'pid')).toMatchObject({
      attr: 'process.pid',
      value: '4242',
    });
  });

  it('shows every field in a drawer with its actions, and closes', () => {
    const onClose = jest.fn();
    const onLed = jest.fn();
    render(
      <EventDetails
        event={audit}
        onClose={onClose}
        actions={<button onClick={onLed}>What led up to this</button>}
      />
    );
    const d = screen.getByTestId(testIds.view.details);
    expect(within(d).getByTestId(testIds.view.detailsField('message'))).toHaveTextContent(
      'unexpected process /tmp/x in payments-api'
    );
    expect(within(d).getByTestId(testIds.view.detailsField('attackType'))).toHaveTextContent(
      'unexpected_process'
    );
    expect(within(d).getByTestId(testIds.view.detailsField('time'))).toHaveTextContent(
      '2026-11-27T12:00:00.000000000Z'
    );
    expect(within(d).getByTestId(testIds.view.detailsField('commandLine'))).toHaveTextContent(
      '/tmp/x -c evil'
    );
    expect(within(d).getByTestId(testIds.view.detailsField('pod'))).toHaveTextContent('payments-7f');
    fireEvent.click(screen.getByText('What led up to this'));
    expect(onLed).toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: /close/i }));
    expect(onClose).toHaveBeenCalled();
  });
});
