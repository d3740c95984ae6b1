import React from 'react';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import type { AppPluginMeta, DataSourceInstanceSettings, PluginConfigPageProps } from '@grafana/data';
import { setDataSourceSrv, type DataSourceSrv } from '@grafana/runtime';
import { testIds } from '@casefile/timeline-ui';
import { standInBackendSrv } from '../../test/backendSrvStandIn';
import type { AppSettings } from '../../settings';
import { AppConfig, checkServerUrl } from './AppConfig';

const loki = {
  uid: 'loki-1',
  name: 'Loki',
  type: 'loki',
  meta: { id: 'loki', info: { logos: {} } },
} as unknown as DataSourceInstanceSettings;
setDataSourceSrv({
  getList: () => [loki],
  getInstanceSettings: (ref: unknown) =>
    ref === 'loki-1' || (ref as { uid?: string })?.uid === 'loki-1' ? loki : undefined,
  get: async () => ({}),
  reload: () => {},
  registerRuntimeDataSource: () => {},
} as unknown as DataSourceSrv);

function props(jsonData: AppSettings, tokenSet: boolean): PluginConfigPageProps<AppPluginMeta<AppSettings>> {
  return {
    plugin: {
      meta: {
        id: 'casefile-forensics-app',
        enabled: true,
        pinned: true,
        jsonData,
        secureJsonFields: { serverToken: tokenSet },
      },
    },
    query: {},
  } as unknown as PluginConfigPageProps<AppPluginMeta<AppSettings>>;
}

describe('AppConfig', () => {
  const reload = jest.fn();
  beforeAll(() => {
    Object.defineProperty(window, 'location', { value: { ...window.location, reload }, writable: true });
  });

  it('validates the server URL', () => {
    expect(checkServerUrl('http://casefile:8480')).toBeUndefined();
    expect(checkServerUrl('ftp://x')).toBe('Use an http:// or https:// URL');
    expect(checkServerUrl('http://x/')).toBe('Remove the trailing slash');
    expect(checkServerUrl('nope')).toBe('Not a URL');
  });

  it('saves jsonData and sends the token only as secureJsonData, once entered', async () => {
    const seen = standInBackendSrv(() => ({ data: {} }));
    render(<AppConfig {...props({ lokiUid: 'loki-1' }, false)} />);
    const save = screen.getByTestId(testIds.appConfig.save);
    fireEvent.change(screen.getByTestId(testIds.appConfig.serverUrl), {
      target: { value: 'http://casefile:8480/' },
    });
    expect(screen.getByText('Remove the trailing slash')).toBeInTheDocument();
    expect(save).toBeDisabled();
    fireEvent.change(screen.getByTestId(testIds.appConfig.serverUrl), {
      target: { value: 'http://casefile:8480' },
    });
    expect(save).toBeDisabled(); // no token yet
    fireEvent.change(screen.getByTestId(testIds.appConfig.token), { target: { value: 's3cret' } });
    fireEvent.change(screen.getByTestId(testIds.appConfig.snapshotCap), { target: { value: '50' } });
    expect(save).toBeEnabled();
    fireEvent.click(save);
    await waitFor(() => expect(reload).toHaveBeenCalled());
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: 'api/plugins/casefile-forensics-app/settings',
      data: {
        enabled: true,
        pinned: true,
        jsonData: { lokiUid: 'loki-1', serverUrl: 'http://casefile:8480', snapshotCap: 50 },
        secureJsonData: { serverToken: 's3cret' },
      },
    });
  });

  it('keeps a configured token untouched and reports a failed connection test in words', async () => {
    standInBackendSrv(() => ({ status: 502, data: { message: 'connect ECONNREFUSED' } }));
    render(
      <AppConfig
        {...props({ lokiUid: 'loki-1', serverUrl: 'http://casefile:8480', snapshotCap: 100 }, true)}
      />
    );
    expect(screen.getByTestId(testIds.appConfig.save)).toBeEnabled();
    fireEvent.click(screen.getByTestId(testIds.appConfig.test));
    await waitFor(() =>
      expect(screen.getByTestId(testIds.appConfig.status)).toHaveTextContent('502 connect ECONNREFUSED')
    );
  });
});
