/**
 * The host's Grafana behaviours, each against the rule it models (see tests/README.md):
 * router-tree matching, first matching route wins, reqRole/reqAction, the headers the
 * plugin proxy strips and sets, the Loki data source proxy's method rules, the 13.2 boot
 * data and the unsigned-plugin rules. The HTTP-level checks run the real host server
 * against a small upstream that echoes what it received (it stands in for nothing: it is
 * the measuring instrument).
 */
import { after, before, describe, it } from 'node:test';
import { deepEqual, equal, ok } from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { matchRoute } from './route-tree';
import {
  basicRolePermissions,
  routeRequest,
  type OrgRole,
  type PluginRoute,
  type ProxyRequest,
} from './plugin-routes';
import { checkDataSourceProxy, LOKI_ROUTES } from './ds-proxy';
import { startHost, type Host } from './server';

const user = (role: OrgRole, permissions = basicRolePermissions(role)) => ({
  id: 7,
  login: role.toLowerCase(),
  role,
  permissions,
});
const settings = { jsonData: { url: 'http://up:1/base' }, secureJsonData: { key: 's3' } };
const req = (method: string, proxyPath: string, headers: Record<string, string> = {}): ProxyRequest => ({
  method,
  proxyPath,
  query: 'a=1',
  headers,
  remoteAddress: '10.0.0.9',
});

describe('router tree (pkg/web/tree.go)', () => {
  it('a static path matches only itself', () => {
    deepEqual(matchRoute('api/v1', '/api/v1'), {});
    deepEqual(matchRoute('/api/v1/', 'api/v1/'), {});
    equal(matchRoute('api/v1', '/api/v1/snapshots'), undefined);
    equal(matchRoute('api/v1/snapshots', '/api/v1'), undefined);
  });

  it('a trailing * takes one or more segments, not the bare prefix', () => {
    equal(matchRoute('api/v1/*', '/api/v1/snapshots/a/lock')?.['*'], 'snapshots/a/lock');
    equal(matchRoute('api/v1/*', '/api/v1/snapshots')?.['*'], 'snapshots');
    equal(matchRoute('api/v1/*', '/api/v1'), undefined);
    equal(matchRoute('some-api/*', '/some-api/some/thing')?.['*'], 'some/thing');
  });

  it(':param takes one segment; regexp forms are searched unanchored', () => {
    deepEqual(matchRoute('api/v1/snapshots/:id/lock', '/api/v1/snapshots/s%201/lock'), { ':id': 's 1' });
    equal(matchRoute('api/v1/snapshots/:id/lock', '/api/v1/snapshots/s1/x/lock'), undefined);
    deepEqual(matchRoute('items/:id:int', '/items/42'), { ':id': '42' });
    deepEqual(matchRoute('items/:id:int', '/items/ab42'), { ':id': '42' });
    equal(matchRoute('items/:id:int', '/items/ab'), undefined);
  });

  it('* in the middle takes one segment and is not the captured *', () => {
    const p = matchRoute('a/*/c', '/a/b/c');
    deepEqual(p, { '*0': 'b' });
    equal(matchRoute('a/*/c', '/a/b/x/c'), undefined);
  });
});

describe('app plugin proxy (pkg/api/pluginproxy/pluginproxy.go)', () => {
  const routes: PluginRoute[] = [
    { path: 'x/*', method: 'GET', reqRole: 'Viewer', url: '{{ .JsonData.url }}/r1' },
    { path: 'x/*', method: 'GET', reqRole: 'Admin', url: '{{ .JsonData.url }}/never' },
    {
      path: 'x/*',
      method: 'POST',
      reqRole: 'Editor',
      url: '{{ .JsonData.url }}/r3',
      headers: [{ name: 'Authorization', content: 'Bearer {{ .SecureJsonData.key }}' }],
    },
    { path: 'exact', url: '{{ .JsonData.url }}/exact' },
    { path: 'lower/*', method: 'get', url: 'http://up:1' },
    { path: 'typo/*', reqRole: 'editor', url: 'http://up:1' },
    { path: 'rbac/*', reqAction: 'plugins:write', reqRole: 'Viewer', url: 'http://up:1' },
    { path: 'missing/*', url: '{{ .JsonData.nope }}/m' },
  ];
  const decide = (r: ProxyRequest, role: OrgRole, sendUserHeader = false) =>
    routeRequest(routes, r, settings, user(role), { sendUserHeader }, 'app-id');

  it('the first route whose method and path match is used, with what * captured', () => {
    const d = decide(req('GET', '/x/a/b'), 'Viewer');
    ok(d.kind === 'forward');
    equal(d.url, 'http://up:1/base/r1/a/b?a=1');
    equal(d.route, routes[0]);
    const p = decide(req('POST', '/x/a'), 'Editor');
    ok(p.kind === 'forward');
    equal(p.url, 'http://up:1/base/r3/a?a=1');
  });

  it('a route without * forwards to its url alone; no match is 404', () => {
    const d = decide(req('DELETE', '/exact'), 'Viewer');
    ok(d.kind === 'forward');
    equal(d.url, 'http://up:1/base/exact?a=1');
    deepEqual(decide(req('GET', '/exact/more'), 'Admin'), {
      kind: 'error',
      status: 404,
      message: 'plugin route match not found',
    });
  });

  it('methods compare case-sensitively: a lower-case method never matches', () => {
    equal(decide(req('GET', '/lower/a'), 'Admin').kind, 'error');
  });

  it('reqRole: too low is 403; a misspelt role checks nothing', () => {
    deepEqual(decide(req('POST', '/x/a'), 'Viewer'), {
      kind: 'error',
      status: 403,
      message: 'plugin proxy route access denied',
    });
    equal(decide(req('GET', '/typo/a'), 'Viewer').kind, 'forward');
  });

  it('reqAction is evaluated first and alone (scoped to the plugin for plugins:write)', () => {
    equal(decide(req('GET', '/rbac/a'), 'Editor').kind, 'error');
    equal(decide(req('GET', '/rbac/a'), 'Admin').kind, 'forward');
    const scopedElsewhere = routeRequest(
      routes,
      req('GET', '/rbac/a'),
      settings,
      user('Viewer', { 'plugins:write': ['plugins:id:other'] }),
      { sendUserHeader: false },
      'app-id'
    );
    equal(scopedElsewhere.kind, 'error');
  });

  it('a missing template key prints <no value>; the proxy path is cleaned first', () => {
    const d = decide(req('GET', '/missing/a'), 'Viewer');
    ok(d.kind === 'forward');
    equal(d.url, '<no value>/m/a?a=1');
    const c = decide(req('GET', '//x/./a/../b/'), 'Viewer');
    ok(c.kind === 'forward');
    equal(c.url, 'http://up:1/base/r1/b?a=1');
  });

  it('strips cookies, origin, referer, forwarded headers and a client X-Grafana-User; route headers win', () => {
    const incoming = {
      cookie: 'grafana_session=abc',
      origin: 'http://evil',
      referer: 'http://g/a/app',
      'x-forwarded-host': 'h',
      'x-grafana-user': 'forged',
      authorization: 'Bearer from-browser',
      accept: 'text/csv',
    };
    const d = decide(req('POST', '/x/a', incoming), 'Editor');
    ok(d.kind === 'forward');
    for (const h of ['cookie', 'origin', 'referer', 'x-forwarded-host', 'x-grafana-user', 'authorization'])
      equal(d.headers[h], undefined, h);
    equal(d.headers.Authorization, 'Bearer s3');
    equal(d.headers.accept, 'text/csv');
    equal(d.headers['x-grafana-referer'], 'http://g/a/app');
    equal(d.headers['x-forwarded-for'], '10.0.0.9');
    equal(JSON.parse(d.headers['x-grafana-context']).Login, 'editor');
  });

  it('X-Grafana-User only with send_user_header', () => {
    const off = decide(req('GET', '/x/a'), 'Viewer', false);
    const on = decide(req('GET', '/x/a'), 'Viewer', true);
    ok(off.kind === 'forward' && on.kind === 'forward');
    equal(off.headers['x-grafana-user'], undefined);
    equal(on.headers['x-grafana-user'], 'viewer');
  });
});

describe('Loki data source proxy (pkg/api/pluginproxy/ds_proxy.go)', () => {
  const check = (method: string, path: string, role: OrgRole = 'Viewer') =>
    checkDataSourceProxy('loki', LOKI_ROUTES, method, path, user(role));

  it("GETs of the raw Loki API pass (Loki's routes lack the loki/ prefix)", () => {
    deepEqual(check('GET', 'loki/api/v1/query_range'), { ok: true });
    deepEqual(check('GET', 'loki/api/v1/query'), { ok: true });
  });

  it('POST, PUT and DELETE that no route allows are 403', () => {
    deepEqual(check('POST', 'loki/api/v1/query_range'), {
      ok: false,
      status: 403,
      message: 'non allow-listed POSTs not allowed on proxied loki datasource',
    });
    equal(check('DELETE', 'loki/api/v1/delete').ok, false);
    equal(check('PUT', 'x').ok, false);
  });

  it('allow-listed routes are access-checked: rule writes need alert.rules.external:write', () => {
    deepEqual(check('POST', 'api/v1/query_range'), { ok: true });
    deepEqual(check('POST', 'loki/api/v1/rules/ns', 'Admin'), {
      ok: false,
      status: 403,
      message: 'plugin proxy route access denied',
    });
    deepEqual(
      checkDataSourceProxy(
        'loki',
        LOKI_ROUTES,
        'POST',
        'loki/api/v1/rules/ns',
        user('Editor', { 'alert.rules.external:write': ['*'] })
      ),
      { ok: true }
    );
  });
});

describe('the host over HTTP: boot data, unsigned plugins, proxy headers', () => {
  const dist = mkdtempSync(join(tmpdir(), 'casefile-host-dist-'));
  let upstream: Server;
  let upstreamUrl = '';
  let seen: { method: string; url: string; headers: Record<string, unknown> }[] = [];
  const hosts: Host[] = [];
  const start = (allowUnsigned: string[], sendUserHeader: boolean) =>
    startHost({
      distDir: dist,
      datasource: {
        uid: 'casefile-loki',
        name: 'Casefile Loki',
        type: 'loki',
        url: upstreamUrl,
        jsonData: {},
      },
      app: { jsonData: { serverUrl: upstreamUrl, snapshotCap: 3 }, secureJsonData: { serverToken: 'tok' } },
      grafana: { sendUserHeader, allowUnsigned },
    }).then((h) => (hosts.push(h), h));

  before(async () => {
    // The real plugin.json files, served from a dist-like folder without MANIFEST.txt (unsigned).
    const src = resolve(import.meta.dirname, '../../src');
    cpSync(join(src, 'plugin.json'), join(dist, 'plugin.json'));
    cpSync(
      join(src, 'panels/forensic-timeline/plugin.json'),
      join(dist, 'panels/forensic-timeline/plugin.json')
    );
    writeFileSync(join(dist, 'module.js'), 'define([], function () { return {}; });');
    writeFileSync(
      join(dist, 'panels/forensic-timeline/module.js'),
      'define([], function () { return {}; });'
    );
    upstream = createServer((r, res) => {
      seen.push({ method: r.method ?? '', url: r.url ?? '', headers: r.headers });
      res.writeHead(r.url?.includes('unauth') ? 401 : 200, {
        'content-type': 'application/json',
        'set-cookie': 'up=1',
      });
      res.end('{"ok":true}');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  });
  after(async () => {
    for (const h of hosts) await h.close();
    upstream.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it('boot data is 13.2-shaped: no settings.apps or settings.panels', async () => {
    const host = await start(['casefile-forensics-app', 'casefile-forensictimeline-panel'], true);
    const html = await (await fetch(`${host.url}/a/casefile-forensics-app/timeline`)).text();
    const boot = JSON.parse(/window\.grafanaBootData = (.*);<\/script>/.exec(html)![1]);
    equal(boot.settings.apps, undefined);
    equal(boot.settings.panels, undefined);
    equal(boot.settings.buildInfo.version, '13.2.3');
    equal(boot.user.orgRole, 'Admin');
  });

  it('the plugin proxy forwards with the route headers, strips cookies and marks the answer', async () => {
    const host = await start(['casefile-forensics-app', 'casefile-forensictimeline-panel'], true);
    seen = [];
    const r = await fetch(`${host.url}/api/plugin-proxy/casefile-forensics-app/api/v1/snapshots?limit=2`, {
      headers: { cookie: 'grafana_session=abc', 'x-grafana-user': 'forged' },
    });
    equal(r.status, 200);
    equal(r.headers.get('set-cookie'), null);
    equal(r.headers.get('content-security-policy'), 'sandbox');
    equal(seen[0].url, '/api/v1/snapshots?limit=2');
    equal(seen[0].headers.authorization, 'Bearer tok');
    equal(seen[0].headers.cookie, undefined);
    equal(seen[0].headers['x-grafana-user'], 'admin');
    host.setRole('Viewer');
    equal(
      (
        await fetch(`${host.url}/api/plugin-proxy/casefile-forensics-app/api/v1/snapshots`, {
          method: 'POST',
        })
      ).status,
      403
    );
    equal((await fetch(`${host.url}/api/plugin-proxy/casefile-forensics-app/api/v2/x`)).status, 404);
  });

  it('without send_user_header the server gets no X-Grafana-User', async () => {
    const host = await start(['casefile-forensics-app', 'casefile-forensictimeline-panel'], false);
    seen = [];
    await fetch(`${host.url}/api/plugin-proxy/casefile-forensics-app/api/v1/snapshots`);
    equal(seen[0].headers['x-grafana-user'], undefined);
  });

  it('the Loki proxy refuses a POST, passes a GET with Grafana’s User-Agent, turns 401 into 400', async () => {
    const host = await start(['casefile-forensics-app', 'casefile-forensictimeline-panel'], false);
    seen = [];
    const post = await fetch(`${host.url}/api/datasources/proxy/uid/casefile-loki/loki/api/v1/query_range`, {
      method: 'POST',
      body: 'query=x',
    });
    equal(post.status, 403);
    equal((await post.json()).message, 'non allow-listed POSTs not allowed on proxied loki datasource');
    equal(seen.length, 0, 'nothing reached Loki');
    const get = await fetch(`${host.url}/api/datasources/proxy/uid/casefile-loki/loki/api/v1/query?query=x`, {
      headers: { cookie: 'a=b' },
    });
    equal(get.status, 200);
    equal(seen[0].headers['user-agent'], 'Grafana/13.2.3');
    equal(seen[0].headers.cookie, undefined);
    const unauth = await fetch(`${host.url}/api/datasources/proxy/uid/casefile-loki/loki/api/v1/unauth`);
    equal(unauth.status, 400);
    equal(await unauth.text(), 'Authentication to data source failed');
  });

  it('an unsigned nested panel that is not allowed is not loaded, while the app is', async () => {
    const host = await start(['casefile-forensics-app'], false);
    equal((await fetch(`${host.url}/api/plugins/casefile-forensics-app/settings`)).status, 200);
    equal((await fetch(`${host.url}/public/plugins/casefile-forensics-app/module.js`)).status, 200);
    equal((await fetch(`${host.url}/api/plugins/casefile-forensictimeline-panel/settings`)).status, 404);
    equal(
      (await fetch(`${host.url}/public/plugins/casefile-forensics-app/panels/forensic-timeline/module.js`))
        .status,
      404
    );
    deepEqual(await (await fetch(`${host.url}/api/plugins/errors`)).json(), [
      { pluginId: 'casefile-forensictimeline-panel', errorCode: 'signatureMissing', pluginType: 'panel' },
    ]);
  });

  it('an unsigned app that is not allowed is not loaded at all', async () => {
    const host = await start([], false);
    equal((await fetch(`${host.url}/api/plugins/casefile-forensics-app/settings`)).status, 404);
    equal((await fetch(`${host.url}/public/plugins/casefile-forensics-app/module.js`)).status, 404);
    equal((await fetch(`${host.url}/api/plugin-proxy/casefile-forensics-app/api/v1/snapshots`)).status, 404);
  });
});
