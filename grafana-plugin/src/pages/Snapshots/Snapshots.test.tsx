import React from 'react';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { setTimeZoneResolver } from '@grafana/data';
import { config, locationService } from '@grafana/runtime';
import { testIds } from '@casefile/timeline-ui';
import { HostRouter } from '../../test/HostRouter';
import { standInBackendSrv, type Seen } from '../../test/backendSrvStandIn';
import { pinJobTestIds } from '../../components/PinSnapshot/testIds';
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

const runningJob = (eventsRead: number) => ({
  id: 'job1',
  state: 'running',
  phase: 'reading',
  title: 'big window',
  scope: { host: 'node-1' },
  from: '2026-11-27T12:00:00Z',
  to: '2026-11-27T13:00:00Z',
  createdBy: 'bob',
  createdAt: '2026-11-27T13:01:00Z',
  elapsedMs: 4000,
  eventsRead,
  estimatedTotal: 200_000,
});

/** Snapshots a1, b2 (or `items`); pin jobs answered by `jobs` (none running by default). */
function server(jobs: (r: Seen) => unknown[] = () => [], items = [snap('a1', false), snap('b2', true)]) {
  return standInBackendSrv((r: Seen) => {
    if (r.url.includes('/pin-jobs')) {
      if (r.method === 'DELETE') return { data: { ...runningJob(0), state: 'cancelled' } };
      const j = jobs(r);
      return { data: { items: j, total: j.length } };
    }
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
    expect(await screen.findByText('Could not reach the snapshots')).toBeInTheDocument();
    expect(screen.getByText('Could not read the pins in progress')).toBeInTheDocument();
    expect(screen.getAllByText(/502 Bad Gateway/)).toHaveLength(2);
  });

  it('shows the pins in progress with their bar, cancels one, and lists the snapshot once a pin ends', async () => {
    as('Editor');
    HTMLCanvasElement.prototype.getContext = (() => ({
      font: '',
      measureText: (text: string) => ({ width: text.length * 7 }),
    })) as never; // jsdom has no canvas; the bar gauge measures its label
    let polls = 0;
    let cancelled = false;
    const seen = server(() => {
      polls++;
      return cancelled || polls > 3 ? [] : [runningJob(polls * 20_000)];
    });
    render(
      <HostRouter>
        <Snapshots />
      </HostRouter>
    );
    const row = await screen.findByTestId(pinJobTestIds.runningRow);
    expect(row).toHaveTextContent('big window');
    expect(row).toHaveTextContent('host node-1 · by bob');
    expect(within(row).getByTestId(pinJobTestIds.progress)).toHaveTextContent(
      '20,000 of about 200,000 (10 %)'
    );
    await waitFor(() =>
      expect(screen.getByTestId(pinJobTestIds.progress)).toHaveAttribute('aria-valuenow', '40000')
    );
    cancelled = true;
    fireEvent.click(screen.getByTestId(pinJobTestIds.cancel));
    await waitFor(() => expect(screen.queryByTestId(pinJobTestIds.running)).toBeNull());
    expect(seen.some((r) => r.method === 'DELETE' && r.url === `${BASE}/pin-jobs/job1`)).toBe(true);
    // The job left the list: the snapshots were read again.
    const snapshotReads = seen.filter((r) => r.method === 'GET' && r.url === `${BASE}/snapshots`);
    expect(snapshotReads.length).toBeGreaterThanOrEqual(2);
  });

  it('while the first pin runs, the empty list says it will appear there, not "no snapshots"', async () => {
    as('Editor');
    HTMLCanvasElement.prototype.getContext = (() => ({
      font: '',
      measureText: (text: string) => ({ width: text.length * 7 }),
    })) as never;
    let running = true;
    server(() => (running ? [runningJob(1000)] : []), []);
    render(
      <HostRouter>
        <Snapshots />
      </HostRouter>
    );
    expect(await screen.findByText('No finished snapshots yet')).toBeInTheDocument();
    expect(screen.getByText(/listed here when they finish/)).toBeInTheDocument();
    expect(screen.queryByText('No snapshots yet')).toBeNull();
    running = false;
    expect(await screen.findByText('No snapshots yet')).toBeInTheDocument();
  });
});
