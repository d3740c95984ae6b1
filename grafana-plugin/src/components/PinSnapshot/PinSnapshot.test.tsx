import React from 'react';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { config, locationService } from '@grafana/runtime';
import { testIds } from '@casefile/timeline-ui';
import { HostRouter } from '../../test/HostRouter';
import { standInBackendSrv, type Seen } from '../../test/backendSrvStandIn';
import type { PinJob } from '../../queries/server';
import { PinSnapshot } from './PinSnapshot';
import { progressText } from './PinJobProgress';
import { pinJobTestIds } from './testIds';

const BASE = 'api/plugin-proxy/casefile-forensics-app/api/v1';

const as = (orgRole: string) => {
  config.bootData.user = {
    ...config.bootData.user,
    orgRole,
    isGrafanaAdmin: false,
  } as typeof config.bootData.user;
};

const job = (over: Partial<PinJob>): PinJob => ({
  id: 'j1',
  state: 'running',
  phase: 'reading',
  title: 'web at 2026-12-01 09:00 UTC',
  scope: { containerName: 'web' },
  from: '2026-12-01T09:00:00Z',
  to: '2026-12-01T10:00:00Z',
  createdAt: '2026-12-01T10:01:00Z',
  elapsedMs: 1200,
  eventsRead: 0,
  estimatedTotal: null,
  ...over,
});

/**
 * A server whose pin job answers the given states one poll after another
 * (the last one repeats); DELETE answers `cancelled`.
 */
function server(states: Partial<PinJob>[], post: Partial<PinJob> = { state: 'queued' }) {
  let i = 0;
  return standInBackendSrv((r: Seen) => {
    if (r.method === 'POST') return { status: 202, data: { job: job(post) } };
    if (r.method === 'DELETE')
      return {
        data: job({
          state: 'cancelled',
          error: { error: 'cancelled', message: 'cancelled by alice; nothing was stored' },
        }),
      };
    return { data: job(states[Math.min(i++, states.length - 1)]) };
  });
}

function renderPin() {
  render(
    <HostRouter>
      <PinSnapshot
        scope={{ containerName: 'web' }}
        fromMs={Date.UTC(2026, 11, 1, 9)}
        toMs={Date.UTC(2026, 11, 1, 10)}
      />
    </HostRouter>
  );
  fireEvent.click(screen.getByTestId(testIds.timeline.pin));
  fireEvent.click(screen.getByTestId(testIds.timeline.pinConfirm));
}

const bar = () => screen.getByTestId(pinJobTestIds.progress);

// jsdom has no canvas; Grafana's bar gauge measures its label with one (Chromium's real one: tests/e2e/pin-job.test.ts).
beforeAll(() => {
  HTMLCanvasElement.prototype.getContext = (() => ({
    font: '',
    measureText: (text: string) => ({ width: text.length * 7 }),
  })) as never;
});

describe('PinSnapshot as a background job', () => {
  beforeEach(() => as('Editor'));

  it('a small pin is done in one round trip: a link to the snapshot, no progress', async () => {
    const seen = standInBackendSrv(() => ({
      status: 201,
      data: {
        job: job({ state: 'done', snapshotId: 's9' }),
        snapshot: { id: 's9', title: 'small', eventCount: 50 },
      },
    }));
    renderPin();
    const link = await screen.findByTestId(pinJobTestIds.done);
    expect(link).toHaveTextContent('Pinned 50 events as “small”');
    expect(screen.queryByTestId(pinJobTestIds.progress)).toBeNull();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: `${BASE}/pin-jobs`,
      data: { scope: { containerName: 'web' } },
    });
    fireEvent.click(link);
    expect(locationService.getLocation().pathname).toBe('/a/casefile-forensics-app/snapshots/s9');
  });

  it('shows the bar moving, events read of the estimate and elapsed, then links the snapshot', async () => {
    const seen = server([
      { eventsRead: 500 },
      { eventsRead: 1000, estimatedTotal: 4000, elapsedMs: 2500 },
      { eventsRead: 3000, estimatedTotal: 4000, elapsedMs: 5100 },
      { eventsRead: 4000, estimatedTotal: 4000, phase: 'storing', elapsedMs: 6000 },
      { state: 'done', eventsRead: 4000, estimatedTotal: 4000, snapshotId: 's1', elapsedMs: 6500 },
    ]);
    renderPin();
    expect(await screen.findByText(/Waiting for a free slot/)).toBeInTheDocument();
    expect(screen.getByText(/Leaving this page does not cancel the pin/)).toBeInTheDocument();
    await waitFor(() => expect(bar()).toHaveAttribute('aria-valuenow', '500'));
    expect(bar()).toHaveTextContent('500 so far (counting the window…)');
    await waitFor(() => expect(bar()).toHaveAttribute('aria-valuenow', '1000'));
    expect(bar()).toHaveAttribute('aria-valuemax', '4000');
    expect(bar()).toHaveTextContent('1,000 of about 4,000 (25 %) · 2 s');
    await waitFor(() => expect(bar()).toHaveAttribute('aria-valuenow', '3000'));
    expect(bar()).toHaveTextContent('3,000 of about 4,000 (75 %) · 5 s');
    await waitFor(() => expect(bar()).toHaveTextContent('Storing 4,000 events'));
    expect(screen.getByTestId(pinJobTestIds.cancel)).toHaveAttribute('aria-disabled', 'true');
    expect(await screen.findByTestId(pinJobTestIds.done)).toHaveTextContent('Pinned 4,000 events');
    expect(screen.queryByTestId(pinJobTestIds.progress)).toBeNull();
    const polls = seen.filter((r) => r.method === 'GET').map((r) => r.url);
    expect(new Set(polls)).toEqual(new Set([`${BASE}/pin-jobs/j1`]));
  });

  it('cancels: DELETE, then says nothing was stored', async () => {
    const seen = server([{ eventsRead: 800, estimatedTotal: 9000 }]);
    renderPin();
    await waitFor(() => expect(bar()).toHaveAttribute('aria-valuenow', '800'));
    fireEvent.click(screen.getByTestId(pinJobTestIds.cancel));
    expect(await screen.findByTestId(pinJobTestIds.cancelled)).toHaveTextContent(
      'cancelled by alice; nothing was stored'
    );
    expect(seen.some((r) => r.method === 'DELETE' && r.url === `${BASE}/pin-jobs/j1`)).toBe(true);
    expect(screen.queryByTestId(pinJobTestIds.progress)).toBeNull();
  });

  it('a failed job says why in words and Retry pins again', async () => {
    const seen = server([
      { eventsRead: 100 },
      {
        state: 'failed',
        eventsRead: 100,
        error: {
          error: 'loki_unavailable',
          message: 'nothing was pinned: Loki unreachable at http://loki:3100',
        },
      },
    ]);
    renderPin();
    const alert = await screen.findByTestId(pinJobTestIds.error);
    expect(alert).toHaveTextContent('nothing was pinned: Loki unreachable at http://loki:3100');
    fireEvent.click(screen.getByTestId(pinJobTestIds.retry));
    await waitFor(() => expect(seen.filter((r) => r.method === 'POST')).toHaveLength(2));
  });

  it('a refused start says so in words (not a proxy path), with Retry', async () => {
    const seen = standInBackendSrv(() => ({
      status: 429,
      data: { error: 'rate_limited', message: 'you already have 3 pin jobs queued or running (at most 3)' },
    }));
    renderPin();
    const alert = await screen.findByTestId(pinJobTestIds.error);
    expect(alert).toHaveTextContent('The Casefile server');
    expect(alert).toHaveTextContent('you already have 3 pin jobs queued or running');
    expect(alert).not.toHaveTextContent('plugin-proxy');
    fireEvent.click(screen.getByTestId(pinJobTestIds.retry));
    await waitFor(() => expect(seen).toHaveLength(2));
  });

  it('a Viewer may not pin', () => {
    as('Viewer');
    render(
      <HostRouter>
        <PinSnapshot scope={{}} fromMs={0} toMs={1} />
      </HostRouter>
    );
    expect(screen.getByTestId(testIds.timeline.pin)).toHaveAttribute('aria-disabled', 'true');
  });

  it('progressText counts in words', () => {
    expect(progressText(job({ eventsRead: 1200, estimatedTotal: 4800, elapsedMs: 125_000 }))).toBe(
      'Reading events from Loki: 1,200 of about 4,800 (25 %) · 2 min 05 s'
    );
  });
});
