import React from 'react';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { setTimeZoneResolver } from '@grafana/data';
import { config, locationService } from '@grafana/runtime';
import { testIds } from '@casefile/timeline-ui';
import { HostRouter } from '../../test/HostRouter';
import { standInBackendSrv, type Seen } from '../../test/backendSrvStandIn';
import { Snapshots } from './Snapshots';

const BASE = 'api/plugin-proxy/casefile-forensics-app/api/v1';
setTimeZoneResolver(() => 'utc');
const snap = (id: string, locked: boolean) => ({
  id,
  title: `incident ${id}`,
  scope: { containerName: 'payments-api' },
  from: '2026-11-27T12:00:00.000000000Z',
  to: '2026-11-27T12:10:00.000000000Z',
  fromNs: '1795089600000000000',
  toNs: '1795090200000000000',
  createdBy: 'alice',
  createdAt: '2026-11-27T12:11:00Z',
  eventCount: 42,
  locked,
});

function server() {
  const items = [snap('a1', false), snap('b2', true)];
  return standInBackendSrv((r: Seen) => {
    // Fresh objects, as a real JSON answer would be.
    if (r.method === 'GET') return { data: { items: items.map((x) => ({ ...x })), total: items.length } };
    const m = /snapshots\/(\w+)(?:\/(lock|unlock))?$/.exec(r.url)!;
    const i = items.findIndex((s) => s.id === m[1]);
    if (r.method === 'DELETE') items.splice(i, 1);
    else items[i] = { ...items[i], locked: m[2] === 'lock' };
    return { data: {} };
  });
}

const as = (orgRole: string) => {
  config.bootData.user = {
    ...config.bootData.user,
    orgRole,
    isGrafanaAdmin: false,
  } as typeof config.bootData.user;
};

describe('Snapshots page', () => {
  it('lists snapshots with their downloads, locks and deletes for an Editor', async () => {
    as('Editor');
    const seen = server();
    render(
      <HostRouter>
        <Snapshots />
      </HostRouter>
    );
    const rows = await screen.findAllByTestId(testIds.snapshots.row);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('incident a1');
    expect(rows[0]).toHaveTextContent('42');
    // The scope and a window a reader reads at a glance (Grafana's time zone: browser = UTC here).
    expect(within(rows[0]).getByTestId(testIds.snapshots.scope)).toHaveTextContent('container payments-api');
    expect(rows[0]).toHaveTextContent('2026-11-19 12:00:00 → 12:10:00 (10 min)');
    expect(within(rows[0]).getByTestId(testIds.snapshots.exportCsv)).toHaveAttribute(
      'href',
      `/${BASE}/snapshots/a1/export.csv`
    );
    expect(within(rows[0]).getByTestId(testIds.snapshots.downloadPackage)).toHaveAttribute(
      'href',
      `/${BASE}/snapshots/a1/package`
    );

    expect(within(rows[0]).getByTestId(testIds.snapshots.lock)).not.toHaveAttribute('aria-disabled', 'true');
    fireEvent.click(within(rows[0]).getByTestId(testIds.snapshots.lock));
    await waitFor(() =>
      expect(
        within(screen.getAllByTestId(testIds.snapshots.row)[0]).getByTestId(testIds.snapshots.lock)
      ).toHaveTextContent('Unlock')
    );
    expect(seen.some((r) => r.method === 'POST' && r.url === `${BASE}/snapshots/a1/lock`)).toBe(true);

    // ConfirmButton: the first click arms it, the second (its confirm button) deletes.
    const row2 = screen.getAllByTestId(testIds.snapshots.row)[1];
    fireEvent.click(within(row2).getAllByText('Delete')[0]);
    const buttons = within(row2).getAllByText('Delete');
    fireEvent.click(buttons[buttons.length - 1]);
    await waitFor(() => expect(screen.getAllByTestId(testIds.snapshots.row)).toHaveLength(1));
    expect(seen.some((r) => r.method === 'DELETE' && r.url === `${BASE}/snapshots/b2`)).toBe(true);

    act(() =>
      fireEvent.click(
        within(screen.getAllByTestId(testIds.snapshots.row)[0]).getByTestId(testIds.snapshots.open)
      )
    );
    expect(locationService.getLocation().pathname).toBe('/a/casefile-forensics-app/snapshots/a1');
  });

  it('lets a Viewer read but not lock or delete', async () => {
    as('Viewer');
    server();
    render(
      <HostRouter>
        <Snapshots />
      </HostRouter>
    );
    const [row] = await screen.findAllByTestId(testIds.snapshots.row);
    // Grafana's Button with a tooltip is disabled through aria-disabled (so the tooltip still shows).
    expect(within(row).getByTestId(testIds.snapshots.lock)).toHaveAttribute('aria-disabled', 'true');
    expect(within(row).getAllByText('Delete')[0].closest('button')).toBeDisabled();
    expect(within(row).getByTestId(testIds.snapshots.open)).toBeEnabled();
  });

  it('says what went wrong when the server is unreachable', async () => {
    standInBackendSrv(() => ({ status: 502, data: { message: 'Bad Gateway' } }));
    render(
      <HostRouter>
        <Snapshots />
      </HostRouter>
    );
    expect(await screen.findByText(/502 Bad Gateway/)).toBeInTheDocument();
  });
});
