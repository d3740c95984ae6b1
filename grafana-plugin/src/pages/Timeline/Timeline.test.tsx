import React from 'react';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { Route, Routes } from 'react-router-dom';
import type { AppRootProps } from '@grafana/data';
import { config, locationService } from '@grafana/runtime';
import { EVENT_ID_LABEL, EVENT_TYPE_LABEL } from '@casefile/schema';
import { testIds } from '@casefile/timeline-ui';
import { App } from '../../components/App/App';
import { HostRouter } from '../../test/HostRouter';
import { standInBackendSrv, type Seen } from '../../test/backendSrvStandIn';
import { countAnswer } from '../../test/lokiCounts';
import type { AppSettings } from '../../settings';

const FROM = 1_700_000_000_000;
const TO = FROM + 3_600_000;
const ms = (m: number) => `${BigInt(FROM + m * 60_000) * 1_000_000n}`;

const events: Array<[Record<string, string>, string, string]> = [
  [
    {
      [EVENT_ID_LABEL]: 'e1',
      [EVENT_TYPE_LABEL]: 'container.start',
      container_id: 'cid1',
      container_name: 'payments-api',
    },
    ms(1),
    'container payments-api started',
  ],
  [
    {
      [EVENT_ID_LABEL]: 'e2',
      [EVENT_TYPE_LABEL]: 'process.start',
      process_pid: '10',
      process_executable_path: '/bin/sh',
      container_id: 'cid1',
      container_name: 'payments-api',
    },
    ms(20),
    'exec /bin/sh',
  ],
  [
    {
      [EVENT_ID_LABEL]: 'e3',
      [EVENT_TYPE_LABEL]: 'runtime.audit',
      casefile_audit_attack_type: 'unexpected_process',
      casefile_audit_severity: 'high',
      casefile_audit_rule_id: 'r1',
      casefile_audit_action: 'alert',
      container_id: 'cid1',
      container_name: 'payments-api',
    },
    ms(30),
    'unexpected process nc in payments-api',
  ],
];

function loki(r: Seen) {
  const q = String(r.params.query);
  if (q.startsWith('sum by')) return countAnswer(events, r);
  // The stand-in applies the type filter the way Loki would, so the re-query is visible.
  const m = /casefile_event_type=~?"([^"]+)"/.exec(q);
  const keep = m ? new RegExp(`^(${m[1].replace(/\\\\/g, '\\')})$`) : /.*/;
  const hits = events.filter(([l]) => keep.test(l[EVENT_TYPE_LABEL]));
  return {
    data: {
      status: 'success',
      data: {
        resultType: 'streams',
        result: hits.map(([stream, ts, line]) => ({ stream, values: [[ts, line]] })),
      },
    },
  };
}

function renderApp() {
  const meta = {
    id: 'casefile-forensics-app',
    jsonData: { lokiUid: 'loki-1' },
  } as unknown as AppRootProps<AppSettings>['meta'];
  return render(
    <HostRouter>
      <Routes>
        <Route
          path="/a/casefile-forensics-app/*"
          element={
            <App
              meta={meta}
              basename="/a/casefile-forensics-app"
              query={{}}
              path=""
              onNavChanged={() => {}}
            />
          }
        />
      </Routes>
    </HostRouter>
  );
}

const rowTypes = () =>
  screen.queryAllByTestId(testIds.view.gridRow).map((r) => r.getAttribute('data-event-type'));

describe('Timeline page', () => {
  beforeEach(() => {
    config.bootData.user = { ...config.bootData.user, orgRole: 'Editor' } as typeof config.bootData.user;
    act(() => locationService.push(`/a/casefile-forensics-app/timeline?from=${FROM}&to=${TO}`));
  });

  it('says how many entries could not be read as Casefile events, and still shows the rest', async () => {
    standInBackendSrv((r) => {
      const a = loki(r) as { data: { data: { resultType: string; result: unknown[] } } };
      if (a.data.data.resultType === 'streams')
        a.data.data.result.push({
          stream: { [EVENT_ID_LABEL]: 'n1', [EVENT_TYPE_LABEL]: 'file.open' },
          values: [[ms(25), 'opened /etc/shadow']],
        });
      return a;
    });
    renderApp();
    await waitFor(() => expect(rowTypes()).toEqual(['container.start', 'process.start', 'runtime.audit']));
    expect(await screen.findByTestId('casefile-timeline-unreadable')).toHaveTextContent(
      '1 entry could not be read as Casefile events'
    );
  });

  it('opened without a range, fits it to a short burst in the last hour, finer on each round', async () => {
    // A 15 s burst 30 minutes ago: the hour's 30 s buckets fit it only to about two minutes.
    const first = Date.now() - 30 * 60_000;
    const burst: Array<[Record<string, string>, string, string]> = Array.from({ length: 16 }, (_, i) => [
      { [EVENT_ID_LABEL]: `b${i}`, [EVENT_TYPE_LABEL]: 'process.start' },
      `${BigInt(first + i * 1000) * 1_000_000n}`,
      `exec ${i}`,
    ]);
    standInBackendSrv((r) =>
      String(r.params.query).startsWith('sum by')
        ? countAnswer(burst, r)
        : {
            data: {
              status: 'success',
              data: {
                resultType: 'streams',
                result: burst.map(([stream, ts, line]) => ({ stream, values: [[ts, line]] })),
              },
            },
          }
    );
    act(() => locationService.push('/a/casefile-forensics-app/timeline'));
    renderApp();
    const span = () => {
      const q = locationService.getSearchObject();
      return Number(q.to) - Number(q.from);
    };
    await waitFor(() => expect(span()).toBeLessThan(30_000), { timeout: 10_000 });
    const q = locationService.getSearchObject();
    expect(Number(q.from)).toBeLessThanOrEqual(first);
    expect(Number(q.to)).toBeGreaterThan(first + 15_000);
  });

  it('shows counts per type from Loki, the grid, and filters it by toggles and search', async () => {
    const seen = standInBackendSrv(loki);
    renderApp();
    await waitFor(() => expect(rowTypes()).toEqual(['container.start', 'process.start', 'runtime.audit']));
    expect(screen.getByTestId(testIds.view.toggleCount('runtime.audit'))).toHaveTextContent('1');
    expect(screen.getAllByTestId(testIds.view.chartBucket)).toHaveLength(3);

    fireEvent.click(screen.getByTestId(testIds.view.toggle('process.start')));
    expect(rowTypes()).toEqual(['container.start', 'runtime.audit']);
    expect(locationService.getSearchObject().hide).toBe('process.start');
    await waitFor(() =>
      expect(
        seen.some((r) => String(r.params.query).includes('casefile_event_type=~"container\\\\.start|'))
      ).toBe(true)
    );
    // The type-filtered answer holds no process.start; turning it back on shows the earlier rows at once.
    await waitFor(() => expect(screen.getByTestId(testIds.view.gridStatus)).toHaveTextContent('2 loaded'));
    fireEvent.click(screen.getByTestId(testIds.view.toggle('process.start')));
    expect(rowTypes()).toEqual(['container.start', 'process.start', 'runtime.audit']);
    await waitFor(() => expect(screen.getByTestId(testIds.view.gridStatus)).toHaveTextContent('3 loaded'));
    expect(locationService.getSearchObject().hide).toBeUndefined();

    const search = screen.getByTestId(testIds.timeline.search);
    fireEvent.change(search, { target: { value: 'nc "x' } });
    fireEvent.keyDown(search, { key: 'Enter' });
    await waitFor(() =>
      expect(seen.some((r) => String(r.params.query).includes('|~ "(?i)nc \\"x"'))).toBe(true)
    );
    expect(locationService.getSearchObject().q).toBe('nc "x');

    const explore = screen.getByTestId(testIds.timeline.explore);
    expect(decodeURIComponent(explore.getAttribute('href')!)).toContain('|~ \\"(?i)nc \\\\\\"x\\"');
    const csv = screen.getByTestId(testIds.timeline.exportCsv);
    const href = new URL(csv.getAttribute('href')!, 'http://grafana.local');
    expect(href.pathname).toBe('/api/plugin-proxy/casefile-forensics-app/api/v1/export.csv');
    expect(href.searchParams.get('search')).toBe('nc "x');
    expect(href.searchParams.get('types')).toBeNull(); // every type shown again
    expect(href.searchParams.get('from')).toBe(String(FROM));
  });

  it('opens an event and jumps to what led up to it', async () => {
    standInBackendSrv(loki);
    renderApp();
    await waitFor(() => expect(rowTypes()).toHaveLength(3));
    fireEvent.click(screen.getAllByTestId(testIds.view.gridRow)[2]);
    const details = await screen.findByTestId(testIds.view.details);
    expect(within(details).getByTestId(testIds.view.detailsField('attackType'))).toHaveTextContent(
      'unexpected_process'
    );
    fireEvent.click(within(details).getByTestId(testIds.view.ledUpTo));
    const q = locationService.getSearchObject();
    expect(Number(q.from)).toBe(FROM + 30 * 60_000 - 5 * 60_000);
    expect(q.containerId).toBe('cid1');
    expect(q.event).toBe('e3');
    // The container scope the jump added is visible and removable.
    const chip = await screen.findByTestId(testIds.timeline.scopeChip('containerId'));
    fireEvent.click(chip);
    expect(locationService.getSearchObject().containerId).toBeUndefined();
  });

  it('says so in words when Loki fails', async () => {
    standInBackendSrv(() => ({
      status: 502,
      data: { message: 'dial tcp 127.0.0.1:3100: connection refused' },
    }));
    renderApp();
    expect(await screen.findByTestId(testIds.view.error)).toHaveTextContent(
      '502 dial tcp 127.0.0.1:3100: connection refused'
    );
  });

  it('puts the selected event in the URL and takes it out on close', async () => {
    standInBackendSrv(loki);
    renderApp();
    await waitFor(() => expect(rowTypes()).toHaveLength(3));
    fireEvent.click(screen.getAllByTestId(testIds.view.gridRow)[1]);
    expect(locationService.getSearchObject().event).toBe('e2');
    fireEvent.click(await screen.findByTestId(testIds.view.closeDetails));
    expect(locationService.getSearchObject().event).toBeUndefined();
    await waitFor(() => expect(screen.queryByTestId(testIds.view.details)).toBeNull());
  });

  it('says loading while loading, never "no events", then the counts', async () => {
    let answer!: () => void;
    // Every answer waits for the gate: what the page says meanwhile is what a slow Loki shows.
    standInBackendSrv(loki, { until: new Promise<void>((r) => (answer = r)) });
    renderApp();
    expect(await screen.findByTestId(testIds.view.chartMax)).toHaveTextContent('counting events');
    expect(screen.getByTestId(testIds.view.gridStatus)).toHaveTextContent('Loading events');
    expect(screen.getByTestId(testIds.view.container)).not.toHaveTextContent(/no events/i);
    act(() => answer());
    await waitFor(() =>
      expect(screen.getByTestId(testIds.view.gridStatus)).toHaveTextContent('3 loaded of 3 events in range')
    );
  });

  it('offers a retry after an error, and the retry reads again', async () => {
    let fail = true;
    standInBackendSrv((r) => (fail ? { status: 502, data: { message: 'bad gateway' } } : loki(r)));
    renderApp();
    const err = await screen.findByTestId(testIds.view.error);
    expect(err).toHaveTextContent("Loki (through Grafana's data source proxy): 502 bad gateway");
    expect(err).not.toHaveTextContent('api/datasources');
    fail = false;
    fireEvent.click(screen.getByTestId(testIds.view.retry));
    await waitFor(() => expect(rowTypes()).toHaveLength(3));
    expect(screen.queryByTestId(testIds.view.error)).toBeNull();
  });
});

describe('fitRange', () => {
  it('fits a short burst at the end of the range, and leaves a spread range alone', async () => {
    const { fitRange } = await import('./Timeline');
    const b = { fromMs: 0, toMs: 120_000, stepMs: 1000, counts: { 'runtime.audit': new Array(120).fill(0) } };
    b.counts['runtime.audit'][110] = 3;
    b.counts['runtime.audit'][114] = 1;
    expect(fitRange(b)).toEqual({ fromMs: 109_000, toMs: 116_000 });
    b.counts['runtime.audit'][5] = 1;
    expect(fitRange(b)).toBeUndefined();
  });
});
