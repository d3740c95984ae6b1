/**
 * Every call the plugin makes to the Casefile server (server.ts), recorded as Grafana's
 * backend service receives it, goes through the plugin proxy rules of the browser tests'
 * host (tests/host/plugin-routes.ts: Grafana 13's router-tree matching, first route wins,
 * reqRole): each must reach the server path it names with the role it is meant for, and
 * be refused one role below. v0.1.0's plugin.json (static paths) must fail the same calls.
 */
import pluginJson from '../plugin.json';
import oldPluginJson from '../../tests/host/fixtures/plugin.v0.1.0.json';
import {
  basicRolePermissions,
  routeRequest,
  type OrgRole,
  type PluginRoute,
  type RouteDecision,
} from '../../tests/host/plugin-routes';
import { standInBackendSrv } from '../test/backendSrvStandIn';
import {
  cancelPinJob,
  deleteSnapshot,
  getPinJob,
  getSnapshot,
  listPinJobs,
  listSnapshots,
  liveCsvUrl,
  setLocked,
  startPinJob,
  snapshotCsvUrl,
  snapshotEvents,
  snapshotPackageUrl,
} from './server';

const PREFIX = `api/plugin-proxy/${pluginJson.id}/`;
const SERVER = 'http://casefile-server:8600';
const settings = {
  jsonData: { serverUrl: SERVER, snapshotCap: 7, lokiUid: 'casefile-loki' },
  secureJsonData: { serverToken: 'tok' },
};

interface Call {
  method: string;
  /** Relative to Grafana's root, with its query string. */
  url: string;
  role: OrgRole;
}

/** Run every server.ts function against the recording backend service. */
async function pluginCalls(): Promise<Call[]> {
  const seen = standInBackendSrv((r) =>
    r.url.endsWith('/events')
      ? { data: { items: [], total: 0 } }
      : { data: { snapshot: { id: 's' }, items: [] } }
  );
  await listSnapshots();
  await getSnapshot('snap 1');
  await snapshotEvents('snap 1', 10);
  await startPinJob({ title: 't', scope: {}, from: 1, to: 2 });
  await setLocked('snap 1', true);
  await setLocked('snap 1', false);
  await deleteSnapshot('snap 1');
  await getPinJob('job 1');
  await listPinJobs();
  await cancelPinJob('job 1');
  const calls: Call[] = seen.map((s) => {
    const q = new URLSearchParams(Object.entries(s.params).map(([k, v]) => [k, String(v)])).toString();
    return {
      method: s.method,
      url: s.url + (q ? `?${q}` : ''),
      role: s.method === 'GET' ? 'Viewer' : 'Editor',
    };
  });
  // Downloads are plain links: the browser GETs them with Grafana's session.
  for (const url of [
    snapshotCsvUrl('snap 1'),
    snapshotPackageUrl('snap 1'),
    liveCsvUrl({ host: 'n1' }, 1, 2, ['process.start'], 'x'),
  ])
    calls.push({ method: 'GET', url, role: 'Viewer' });
  return calls;
}

function decide(routes: PluginRoute[], call: Call, role: OrgRole): RouteDecision {
  expect(call.url.startsWith(PREFIX)).toBe(true);
  const [path, query = ''] = call.url.slice(PREFIX.length).split('?');
  return routeRequest(
    routes,
    { method: call.method, proxyPath: `/${path}`, query, headers: {}, remoteAddress: '127.0.0.1' },
    settings,
    { id: 1, login: role.toLowerCase(), role, permissions: basicRolePermissions(role) },
    { sendUserHeader: false },
    pluginJson.id
  );
}

const below: Record<OrgRole, OrgRole | undefined> = { Viewer: undefined, Editor: 'Viewer', Admin: 'Editor' };

describe('server calls through the plugin routes, as Grafana 13 matches them', () => {
  it('every call reaches its server path with the token, for the intended role only', async () => {
    const calls = await pluginCalls();
    expect(calls.map((c) => `${c.method} ${c.url.split('?')[0].slice(PREFIX.length)}`)).toEqual([
      'GET api/v1/snapshots',
      'GET api/v1/snapshots/snap%201',
      'GET api/v1/snapshots/snap%201/events',
      'POST api/v1/pin-jobs',
      'POST api/v1/snapshots/snap%201/lock',
      'POST api/v1/snapshots/snap%201/unlock',
      'DELETE api/v1/snapshots/snap%201',
      'GET api/v1/pin-jobs/job%201',
      'GET api/v1/pin-jobs',
      'DELETE api/v1/pin-jobs/job%201',
      'GET api/v1/snapshots/snap%201/export.csv',
      'GET api/v1/snapshots/snap%201/package',
      'GET api/v1/export.csv',
    ]);
    for (const call of calls) {
      const d = decide(pluginJson.routes, call, call.role);
      if (d.kind !== 'forward')
        throw new Error(`${call.method} ${call.url} as ${call.role}: ${d.status} ${d.message}`);
      const [path, query] = call.url.slice(PREFIX.length).split('?');
      expect(d.url).toBe(`${SERVER}/${decodeURIComponent(path)}${query ? `?${query}` : ''}`);
      expect(d.headers.Authorization).toBe('Bearer tok');
      expect(d.route.reqRole).toBe(call.role);
      const lower = below[call.role];
      if (lower) expect(decide(pluginJson.routes, call, lower)).toMatchObject({ kind: 'error', status: 403 });
    }
  });

  it('the pin job carries the snapshot cap; lock, delete and cancel do not', async () => {
    const calls = await pluginCalls();
    const headerOf = (i: number) =>
      (decide(pluginJson.routes, calls[i], 'Editor') as { headers: Record<string, string> }).headers;
    expect(headerOf(3)['X-Casefile-Max-Snapshots']).toBe('7');
    expect(headerOf(4)['X-Casefile-Max-Snapshots']).toBeUndefined();
    expect(headerOf(6)['X-Casefile-Max-Snapshots']).toBeUndefined();
    expect(headerOf(9)['X-Casefile-Max-Snapshots']).toBeUndefined();
  });

  it("v0.1.0's static route paths 404 on every call", async () => {
    const calls = await pluginCalls();
    const forwarded = calls.filter((c) => decide(oldPluginJson.routes, c, 'Admin').kind === 'forward');
    expect(forwarded.map((c) => `${c.method} ${c.url}`)).toEqual([]);
    expect(decide(oldPluginJson.routes, calls[0], 'Admin')).toEqual({
      kind: 'error',
      status: 404,
      message: 'plugin route match not found',
    });
  });
});
