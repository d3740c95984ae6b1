/**
 * The API against hostile callers, on the real server (SQLite) and the Loki
 * stand-in: every route with every scope, forged Grafana headers, inputs past
 * what Loki and the store can hold, and a forged webhook flood.
 */
import { after, before, describe, test } from 'node:test';
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { msToNs } from '@casefile/schema';
import { startLoki, type Loki } from '../../test/loki/loki-server';
import { seedEvents } from '../../test/loki/seed';
import type { ApiToken, TokenScope } from '../src/config/config';
import { processEvents, waitForEvents } from './helpers/seed';
import { api, startTestServer } from './helpers/server';

const HOST = 'node-auth';
/** One token per scope, and Grafana's (read, pin, admin + grafana). */
const TOKENS: Record<string, ApiToken> = Object.fromEntries(
  (['read', 'pin', 'admin', 'webhook'] as TokenScope[]).map((s) => [
    s,
    { name: `only-${s}`, token: `token-only-${s}-0123456789`, scopes: [s] },
  ])
);
TOKENS.grafana = {
  name: 'grafana',
  token: 'token-grafana-0123456789',
  scopes: ['read', 'pin', 'admin', 'grafana'],
};

/** The scope each route needs: every route of the OpenAPI document must be listed here. */
const ROUTE_SCOPES: Record<string, TokenScope> = {
  'GET /api/v1/openapi.json': 'read',
  'GET /api/v1/snapshots': 'read',
  'POST /api/v1/snapshots': 'pin',
  'GET /api/v1/snapshots/{id}': 'read',
  'DELETE /api/v1/snapshots/{id}': 'admin',
  'GET /api/v1/snapshots/{id}/events': 'read',
  'GET /api/v1/snapshots/{id}/unreadable': 'read',
  'POST /api/v1/snapshots/{id}/lock': 'pin',
  'POST /api/v1/snapshots/{id}/unlock': 'pin',
  'GET /api/v1/snapshots/{id}/export.csv': 'read',
  'GET /api/v1/snapshots/{id}/package': 'read',
  'GET /api/v1/export.csv': 'read',
  'POST /api/v1/hooks/grafana': 'webhook',
  'GET /api/v1/signing-key': 'read',
  'GET /api/v1/custody': 'read',
  'GET /api/v1/snapshots/{id}/custody': 'read',
  'POST /api/v1/pin-jobs': 'pin',
  'GET /api/v1/pin-jobs': 'read',
  'GET /api/v1/pin-jobs/{id}': 'read',
  'DELETE /api/v1/pin-jobs/{id}': 'pin',
};

describe('authorisation and input bounds', () => {
  let loki: Loki;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let start: number;
  const call = (
    method: string,
    path: string,
    token: string | null,
    body?: unknown,
    headers?: Record<string, string>
  ) => api(server.url, path, { method, token, body, headers });

  before(async () => {
    loki = await startLoki();
    start = Date.now() - 5 * 60_000;
    await seedEvents(loki.url, HOST, processEvents(40, start, 'auth'));
    const window = { fromNs: msToNs(start), toNs: msToNs(start + 1000) };
    equal(await waitForEvents(loki.url, { scope: { host: HOST } }, window, 40), 40);
    server = await startTestServer({
      lokiUrl: loki.url,
      otlpUrl: 'off',
      tokens: Object.values(TOKENS),
      maxSnapshots: 10,
      maxAlertSnapshots: 3,
      hookMaxAlertsPerCall: 20,
      hookMaxPinsPerMinute: 30,
      hookBeforeSeconds: 60,
      hookAfterSeconds: 60,
    });
  });
  after(async () => {
    await server?.close();
    await loki?.stop();
  });

  const pinBody = (title: string) => ({ title, scope: { host: HOST }, from: start, to: start + 1000 });

  test('every route needs its scope, and only its scope; no token is 401', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json', TOKENS.read.token)).json;
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .filter((r) => r.includes(' /api/'));
    deepEqual(routes.sort(), Object.keys(ROUTE_SCOPES).sort(), 'every route has a decided scope');
    const victim = (await call('POST', '/api/v1/snapshots', TOKENS.pin.token, pinBody('victim'))).json
      .snapshot;
    ok(victim, 'pinned with the pin scope');
    for (const [route, need] of Object.entries(ROUTE_SCOPES)) {
      const [method, tmpl] = route.split(' ');
      const path =
        tmpl.replace('{id}', victim.id) +
        (tmpl === '/api/v1/export.csv' ? `?from=${start}&to=${start + 10}` : '');
      equal((await call(method, path, null)).status, 401, `${route} without a token`);
      for (const scope of ['read', 'pin', 'admin', 'webhook'] as const) {
        if (scope === need) continue;
        const r = await call(method, path, TOKENS[scope].token, method === 'GET' ? undefined : {});
        equal(r.status, 403, `${route} with only ${scope}: ${r.text}`);
        equal(r.json.error, 'forbidden');
        match(r.json.message, new RegExp(`lacks the ${need} scope`));
      }
    }
    // The refused calls changed nothing: the victim is still there, unlocked.
    const still = await call('GET', `/api/v1/snapshots/${victim.id}`, TOKENS.read.token);
    equal(still.status, 200);
    equal(still.json.locked, false);
    // And the right scope works.
    equal((await call('POST', `/api/v1/snapshots/${victim.id}/lock`, TOKENS.pin.token)).status, 200);
    equal((await call('DELETE', `/api/v1/snapshots/${victim.id}`, TOKENS.admin.token)).status, 204);
  });

  test("X-Grafana-User and X-Casefile-Max-Snapshots are honoured only from Grafana's token", async () => {
    const before = (await call('GET', '/api/v1/snapshots', TOKENS.read.token)).json.total;
    const forged = await call('POST', '/api/v1/snapshots', TOKENS.pin.token, pinBody('forged'), {
      'x-grafana-user': 'alice',
    });
    equal(forged.status, 403);
    match(forged.json.message, /x-grafana-user is honoured only from Grafana's token/);
    const cap = await call('POST', '/api/v1/snapshots', TOKENS.pin.token, pinBody('cap'), {
      'x-casefile-max-snapshots': '100000',
    });
    equal(cap.status, 403);
    const exportAs = await call('GET', '/api/v1/snapshots', TOKENS.read.token, undefined, {
      'x-grafana-user': 'alice',
    });
    equal(exportAs.status, 403);
    equal((await call('GET', '/api/v1/snapshots', TOKENS.read.token)).json.total, before, 'nothing pinned');
    const real = await call('POST', '/api/v1/snapshots', TOKENS.grafana.token, pinBody('by alice'), {
      'x-grafana-user': 'alice',
    });
    equal(real.status, 201, real.text);
    equal(real.json.snapshot.createdBy, 'alice');
    const own = await call('POST', '/api/v1/snapshots', TOKENS.pin.token, pinBody('by token'));
    equal(own.json.snapshot.createdBy, 'only-pin');
    // Grafana's token cannot call the webhook, the webhook's token cannot pin.
    equal((await call('POST', '/api/v1/hooks/grafana', TOKENS.grafana.token, { alerts: [] })).status, 403);
    equal((await call('POST', '/api/v1/snapshots', TOKENS.webhook.token, pinBody('x'))).status, 403);
  });

  test('inputs past what Loki and the store hold are a 400 naming the field; the list keeps working', async () => {
    const pin = (from: unknown, to: unknown) =>
      call('POST', '/api/v1/snapshots', TOKENS.pin.token, {
        title: 'bounds',
        scope: { host: HOST },
        from,
        to,
      });
    const far = await pin(start, Date.now() + 10 * 365 * 86_400_000);
    equal(far.status, 400, far.text);
    match(far.json.message, /^to: .*more than a day in the future/);
    match((await pin(start, '9999-12-31T23:59:59Z')).json.message, /^to: /);
    match((await pin(start, '99999999999999999999')).json.message, /^to: /);
    const neg = await pin('1969-12-31T23:59:59Z', start);
    equal(neg.status, 400);
    match(neg.json.message, /^from: .*before 1970/);
    const negInt = await pin(-5, start);
    equal(negInt.status, 400);
    match(negInt.json.message, /from/);
    const long = await pin(start - 40 * 86_400_000, start);
    equal(long.status, 400);
    match(long.json.message, /^to: the window .*maxWindowSeconds/);
    for (const path of ['/api/v1/snapshots?offset=1e20', '/api/v1/snapshots?limit=1e20']) {
      const r = await call('GET', path, TOKENS.read.token);
      equal(r.status, 400, path);
      match(r.json.message, /offset|limit/);
    }
    const some = (await call('GET', '/api/v1/snapshots', TOKENS.read.token)).json.items[0];
    const ev = await call('GET', `/api/v1/snapshots/${some.id}/events?offset=1e20`, TOKENS.read.token);
    equal(ev.status, 400);
    match(ev.json.message, /offset/);
    const live = await call('GET', `/api/v1/export.csv?from=-1&to=${start}`, TOKENS.read.token);
    equal(live.status, 400);
    match(live.json.message, /from/);
    const hook = await call('POST', '/api/v1/hooks/grafana', TOKENS.webhook.token, {
      alerts: [{ status: 'firing', labels: { alertname: 'x' }, startsAt: '1', fingerprint: 'f' }],
    });
    equal(hook.status, 400);
    match(hook.json.message, /alerts\[0\]\.startsAt: expected an RFC 3339 time, got "1"/);
    const old = await call('POST', '/api/v1/hooks/grafana', TOKENS.webhook.token, {
      alerts: [{ status: 'firing', labels: {}, startsAt: '2001-01-01T00:00:00Z', fingerprint: 'f' }],
    });
    equal(old.status, 400);
    const list = await call('GET', '/api/v1/snapshots?limit=1000', TOKENS.read.token);
    equal(list.status, 200);
    ok(
      list.json.items.every((s: { to: string }) => Date.parse(s.to) <= Date.now() + 86_400_000),
      'no stored window past the bounds'
    );
  });

  test("a forged webhook flood is bounded per call and per minute and never evicts an analyst's or a locked snapshot", async () => {
    for (const s of (await call('GET', '/api/v1/snapshots?limit=1000', TOKENS.read.token)).json.items)
      await call('DELETE', `/api/v1/snapshots/${s.id}`, TOKENS.admin.token);
    const kept = (await call('POST', '/api/v1/snapshots', TOKENS.pin.token, pinBody('analyst'))).json
      .snapshot;
    const locked = (await call('POST', '/api/v1/snapshots', TOKENS.pin.token, pinBody('locked'))).json
      .snapshot;
    await call('POST', `/api/v1/snapshots/${locked.id}/lock`, TOKENS.pin.token);
    const startsAt = new Date(start + 500).toISOString();
    const flood = {
      alerts: Array.from({ length: 120 }, (_, i) => ({
        status: 'firing',
        labels: { alertname: `forged ${i}` },
        startsAt,
        fingerprint: `forged-${i}`,
      })),
    };
    const t0 = performance.now();
    const first = await call('POST', '/api/v1/hooks/grafana', TOKENS.webhook.token, flood);
    equal(first.status, 429, first.text);
    equal(first.json.error, 'rate_limited');
    equal(first.json.pinned.length, 20);
    equal(first.json.limited.length, 100);
    ok(Number(first.headers.get('retry-after')) >= 1);
    const second = await call('POST', '/api/v1/hooks/grafana', TOKENS.webhook.token, flood);
    equal(second.status, 429);
    equal(second.json.duplicates.length, 20, 'the first 20 pin once');
    equal(second.json.pinned.length, 10, 'the minute allows 30');
    const third = await call('POST', '/api/v1/hooks/grafana', TOKENS.webhook.token, flood);
    equal(third.json.pinned.length, 0);
    const list = (await call('GET', '/api/v1/snapshots?limit=1000', TOKENS.read.token)).json.items as {
      id: string;
      source: string;
    }[];
    ok(
      list.some((s) => s.id === kept.id),
      "the analyst's snapshot survived"
    );
    ok(
      list.some((s) => s.id === locked.id),
      'the locked snapshot survived'
    );
    equal(list.filter((s) => s.source === 'grafana-alert').length, 3, 'alert pins keep to their share');
    equal(list.length, 5);
    console.log(
      `# 3 flood calls of 120 alerts: ${Math.round(performance.now() - t0)} ms, 30 pins (stand-in)`
    );
  });
});
