/**
 * The server end to end against real parts: a real Loki seeded with 20,000
 * events through the OpenTelemetry exporter, the real server on real SQLite.
 */
import { after, before, describe, test } from 'node:test';
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { msToNs, type CasefileEvent } from '@casefile/schema';
import { startLoki, type Loki } from '../../test/loki/loki-server';
import { canonicalJson } from '../src/evidence/canonical';
import { LokiClient } from '../src/loki/loki-client';
import { processEvents, waitForEvents } from './helpers/seed';
import { seedEvents } from '../../test/loki/seed';
import { api, GRAFANA_TOKEN, HOOK_TOKEN, startTestServer, TOKEN_NAME } from './helpers/server';
import { readZip as unzip } from '../src/verify/verify-package';
import { PACKAGE_FILES } from '../src/export/forensic-package';

const HOST = 'node-big';
const N = 20_000;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('server against a real Loki', () => {
  let loki: Loki;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let start: number;
  let end: number;
  let sent: CasefileEvent[];
  let snapshotId: string;

  before(async () => {
    loki = await startLoki();
    start = Date.now() - 10 * 60_000;
    sent = processEvents(N, start, 'big');
    sent[1234] = {
      ...sent[1234],
      commandLine: '=HYPERLINK("http://x","y")',
      message: 'exec =HYPERLINK("http://x","y")',
    };
    const net = Array.from({ length: 50 }, (_, i) => ({
      ...processEvents(1, start + 100 + i * 7, 'big')[0],
      type: 'network.connect' as const,
      id: `net-${i}`,
      destAddress: '10.0.0.9',
      destPort: 443,
      message: `connect 10.0.0.9:443 #${i}`,
    }));
    sent.push(
      ...net
        .map((e) => ({ ...e, pid: undefined, executable: undefined, commandLine: undefined }))
        .map((e) => JSON.parse(JSON.stringify(e)))
    );
    end = start + N + 1000;
    await seedEvents(loki.url, HOST, sent);
    const got = await waitForEvents(
      loki.url,
      { scope: { host: HOST } },
      { fromNs: msToNs(start), toNs: msToNs(end) },
      sent.length
    );
    equal(got, sent.length, 'Loki holds every seeded event');
    server = await startTestServer({ lokiUrl: loki.url, hookBeforeSeconds: 5, hookAfterSeconds: 5 });
  });
  after(async () => {
    await server?.close();
    await loki?.stop();
  });

  test('requests without a valid token get 401; /healthz and /metrics are open', async () => {
    for (const path of ['/api/v1/snapshots', '/api/v1/openapi.json', '/api/v1/export.csv?from=1&to=2']) {
      const r = await api(server.url, path, { token: null });
      equal(r.status, 401, path);
      equal(r.json.error, 'unauthorized');
      equal((await api(server.url, path, { token: 'wrong-token-xxxxxxxx' })).status, 401);
    }
    equal(
      (await api(server.url, '/api/v1/snapshots', { method: 'POST', token: null, body: {} })).status,
      401
    );
    equal((await api(server.url, '/healthz', { token: null })).json.status, 'ok');
    match((await api(server.url, '/metrics', { token: null })).text, /casefile_server_pins_total/);
    const doc = (await api(server.url, '/api/v1/openapi.json')).json;
    equal(doc.openapi, '3.1.0');
    ok(doc.paths['/api/v1/snapshots/{id}/package'].get);
  });

  test('invalid requests get clear 4xx JSON errors', async () => {
    const bad = await api(server.url, '/api/v1/snapshots', {
      method: 'POST',
      body: { title: 'x', scope: { nope: 'y' }, from: start, to: end },
    });
    equal(bad.status, 400);
    deepEqual(Object.keys(bad.json).sort(), ['error', 'message']);
    match(bad.json.message, /additional properties/);
    const order = await api(server.url, '/api/v1/snapshots', {
      method: 'POST',
      body: { title: 'x', scope: {}, from: end, to: start },
    });
    equal(order.status, 400);
    match(order.json.message, /^to: must be after `from`/);
    const types = await api(
      server.url,
      `/api/v1/export.csv?from=${start}&to=${end}&types=process.start,bogus`
    );
    equal(types.status, 400);
    match(types.json.message, /bogus/);
    const big = await api(server.url, '/api/v1/snapshots', {
      method: 'POST',
      body: { title: 'x', scope: {}, from: 1, to: 2, note: 'n'.repeat(2 << 20) },
    });
    equal(big.status, 413);
    equal(big.json.error, 'body_too_large');
    equal((await api(server.url, '/api/v1/snapshots/00000000-0000-0000-0000-000000000000')).status, 404);
  });

  test('pins a window of 20,000 events atomically, recording who and when', async () => {
    const t0 = Date.now();
    const r = await api(server.url, '/api/v1/snapshots', {
      method: 'POST',
      token: GRAFANA_TOKEN,
      headers: { 'x-grafana-user': 'alice' },
      body: {
        title: 'big incident',
        note: 'pinned by test',
        scope: { host: HOST, containerName: 'big' },
        from: start,
        to: end,
      },
    });
    equal(r.status, 201, r.text);
    const s = r.json.snapshot;
    snapshotId = s.id;
    equal(s.eventCount, sent.length);
    equal(s.createdBy, 'alice');
    ok(Date.parse(s.createdAt) >= t0 - 1000 && Date.parse(s.createdAt) <= Date.now());
    equal(s.lokiVersion, loki.version);
    equal(s.from, new Date(start).toISOString().replace('Z', '000000Z'));
    // Independent read of the same window, in canonical form: same events, same bytes, same hash.
    const back = await new LokiClient({ url: loki.url }).readAll(
      { scope: { host: HOST, containerName: 'big' } },
      { fromNs: s.fromNs, toNs: s.toNs }
    );
    equal(s.contentSha256, sha256(back.map((e) => canonicalJson(e) + '\n').join('')));
    deepEqual(new Set(back.map((e) => e.id)), new Set(sent.map((e) => e.id)));
    // Without X-Grafana-User, the token's name is who.
    const r2 = await api(server.url, '/api/v1/snapshots', {
      method: 'POST',
      body: { title: 'small', scope: { host: HOST }, from: start, to: start + 10 },
    });
    equal(r2.json.snapshot.createdBy, TOKEN_NAME);
    equal(r2.json.snapshot.eventCount, 10);
  });

  test('events of a snapshot: paged, filtered by type and text', async () => {
    const p = await api(server.url, `/api/v1/snapshots/${snapshotId}/events?limit=100&offset=200`);
    equal(p.json.total, sent.length);
    equal(p.json.items.length, 100);
    const net = await api(
      server.url,
      `/api/v1/snapshots/${snapshotId}/events?types=network.connect&limit=10`
    );
    equal(net.json.total, 50);
    ok(net.json.items.every((e: CasefileEvent) => e.type === 'network.connect'));
    const hit = await api(
      server.url,
      `/api/v1/snapshots/${snapshotId}/events?search=${encodeURIComponent('=hyperlink("HTTP')}`
    );
    deepEqual(
      hit.json.items.map((e: CasefileEvent) => e.id),
      [sent[1234].id]
    );
    const list = await api(server.url, '/api/v1/snapshots?limit=1');
    equal(list.json.total, 2);
    equal(list.json.items.length, 1);
  });

  test('a restarted server has the snapshot intact and identical (hash)', async () => {
    const before = (await api(server.url, `/api/v1/snapshots/${snapshotId}`)).json;
    const csvBefore = (await api(server.url, `/api/v1/snapshots/${snapshotId}/export.csv`)).buffer;
    await server.close();
    // Same data dir, fresh port (so no pooled keep-alive socket of the old process is reused).
    const { port: _oldPort, ...config } = server.config;
    server = await startTestServer(config);
    deepEqual((await api(server.url, `/api/v1/snapshots/${snapshotId}`)).json, before);
    const csvAfter = (await api(server.url, `/api/v1/snapshots/${snapshotId}/export.csv`)).buffer;
    equal(sha256(csvAfter), sha256(csvBefore));
    const pkg = await unzip((await api(server.url, `/api/v1/snapshots/${snapshotId}/package`)).buffer);
    equal(sha256(pkg.get('events.jsonl')!), before.contentSha256);
  });

  test("the forensic package's hashes verify and its manifest tells the chain of custody", async () => {
    const r = await api(server.url, `/api/v1/snapshots/${snapshotId}/package`, {
      token: GRAFANA_TOKEN,
      headers: { 'x-grafana-user': 'bob' },
    });
    equal(r.status, 200);
    equal(r.headers.get('content-type'), 'application/zip');
    const files = await unzip(r.buffer);
    deepEqual([...files.keys()], [...PACKAGE_FILES]);
    const m = JSON.parse(files.get('manifest.json')!.toString());
    for (const f of ['events.csv', 'events.jsonl']) {
      equal(m.files[f].sha256, sha256(files.get(f)!), `${f} hash`);
      equal(m.files[f].bytes, files.get(f)!.length);
    }
    equal(m.counts.events, sent.length);
    deepEqual(m.counts.byType, { 'network.connect': 50, 'process.start': N });
    equal(files.get('events.jsonl')!.toString().trimEnd().split('\n').length, sent.length);
    equal(m.scope.containerName, 'big');
    match(m.query, /container_name="big"/);
    // Pinner and exporter are separate records (the manifest no longer has a createdBy that reads like the pinner's).
    const pinRecord = JSON.parse(files.get('snapshot.json')!.toString());
    const exportRecord = JSON.parse(files.get('export.json')!.toString());
    deepEqual(pinRecord.pinnedBy, { token: 'grafana', grafanaUser: 'alice' });
    deepEqual(exportRecord.exportedBy, { token: 'grafana', grafanaUser: 'bob' });
    const custody = files
      .get('custody.jsonl')!
      .toString()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    deepEqual(
      custody.map((c: { action: string; actor: { token: string; grafanaUser: string | null } }) => [
        c.action,
        c.actor.grafanaUser ?? c.actor.token,
      ]),
      [
        ['pin', 'alice'],
        ['export', TOKEN_NAME], // the restart test's download
        ['export', 'bob'],
      ]
    );
    equal(pinRecord.loki.version, loki.version);
    equal(exportRecord.loki.version, loki.version);
  });

  test('a command line =HYPERLINK(...) arrives inert in the CSV; the live export matches the snapshot', async () => {
    const csv = await api(server.url, `/api/v1/snapshots/${snapshotId}/export.csv`);
    equal(csv.status, 200);
    match(csv.headers.get('content-type')!, /text\/csv/);
    const lines = csv.text.split('\r\n');
    equal(lines.length, sent.length + 2); // header + rows + final empty
    const row = lines.find((l) => l.includes('HYPERLINK'))!;
    ok(row.includes(`"'=HYPERLINK(""http://x"",""y"")"`), row);
    ok(!/(^|,)"?[=+@-]/.test(row.replace(/,-?\d+(?=,|$)/g, ',0')), 'no cell starts with a formula character');
    const q = `host=${HOST}&containerName=big&from=${start}&to=${end}`;
    const live = await api(server.url, `/api/v1/export.csv?${q}`);
    equal(live.status, 200);
    equal(sha256(live.buffer), sha256(csv.buffer));
    const liveNet = await api(
      server.url,
      `/api/v1/export.csv?${q}&types=network.connect&search=${encodeURIComponent('10.0.0.9:443 #1')}`
    );
    equal(liveNet.text.split('\r\n').length - 2, 11); // #1, #10..#19
  });

  test('delete removes a snapshot', async () => {
    const s = (
      await api(server.url, '/api/v1/snapshots', {
        method: 'POST',
        body: { title: 'gone', scope: { host: HOST }, from: start, to: start + 5 },
      })
    ).json.snapshot;
    equal((await api(server.url, `/api/v1/snapshots/${s.id}`, { method: 'DELETE' })).status, 204);
    equal((await api(server.url, `/api/v1/snapshots/${s.id}`)).status, 404);
    equal((await api(server.url, `/api/v1/snapshots/${s.id}`, { method: 'DELETE' })).status, 404);
  });

  test('cap and eviction with locks; 409 when all are locked; concurrent pins never exceed the cap', async () => {
    const capped = await startTestServer({ lokiUrl: loki.url, maxSnapshots: 3 });
    try {
      const pin = (title: string) =>
        api(capped.url, '/api/v1/snapshots', {
          method: 'POST',
          body: { title, scope: { host: HOST }, from: start, to: start + 20 },
        });
      const ids: string[] = [];
      for (const t of ['a', 'b', 'c']) ids.push((await pin(t)).json.snapshot.id);
      equal(
        (await api(capped.url, `/api/v1/snapshots/${ids[0]}/lock`, { method: 'POST' })).json.locked,
        true
      );
      const d = await pin('d');
      deepEqual(d.json.evicted, [ids[1]]);
      deepEqual(
        (await api(capped.url, '/api/v1/snapshots')).json.items.map((s: { title: string }) => s.title),
        ['d', 'c', 'a']
      );
      await api(capped.url, `/api/v1/snapshots/${ids[2]}/lock`, { method: 'POST' });
      await api(capped.url, `/api/v1/snapshots/${d.json.snapshot.id}/lock`, { method: 'POST' });
      const refused = await pin('e');
      equal(refused.status, 409);
      equal(refused.json.error, 'cap_reached');
      match(refused.json.message, /all 3 snapshots are locked/);
      equal((await api(capped.url, '/api/v1/snapshots')).json.total, 3);
      // Unlock two and pin 12 at once while watching the count.
      await api(capped.url, `/api/v1/snapshots/${ids[2]}/unlock`, { method: 'POST' });
      await api(capped.url, `/api/v1/snapshots/${d.json.snapshot.id}/unlock`, { method: 'POST' });
      let max = 0;
      let watching = true;
      const watch = (async () => {
        while (watching) max = Math.max(max, (await api(capped.url, '/api/v1/snapshots')).json.total);
      })();
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => pin(`p${i}`)));
      watching = false;
      await watch;
      ok(
        results.every((r) => r.status === 201),
        results.map((r) => r.status).join()
      );
      ok(max <= 3, `saw ${max} snapshots`);
      const final = (await api(capped.url, '/api/v1/snapshots')).json;
      equal(final.total, 3);
      ok(
        final.items.some((s: { id: string }) => s.id === ids[0]),
        'the locked snapshot survived'
      );
      // The Grafana app's cap (X-Casefile-Max-Snapshots from its plugin route) overrides the server's.
      const pinCapped = (cap: string) =>
        api(capped.url, '/api/v1/snapshots', {
          method: 'POST',
          token: GRAFANA_TOKEN,
          headers: { 'x-casefile-max-snapshots': cap },
          body: { title: `cap${cap}`, scope: { host: HOST }, from: start, to: start + 20 },
        });
      equal((await pinCapped('2')).status, 201);
      equal((await api(capped.url, '/api/v1/snapshots')).json.total, 2);
      equal((await pinCapped('<no value>')).status, 201);
      equal((await api(capped.url, '/api/v1/snapshots')).json.total, 3);
      const bad = await pinCapped('0; drop');
      equal(bad.status, 400);
      match(bad.json.message, /X-Casefile-Max-Snapshots/);
    } finally {
      await capped.close();
    }
  });

  test('Grafana webhook: one pin per firing alert, scoped from labels; repeats pin once', async () => {
    const startsAt = new Date(start + 10_000).toISOString();
    const payload = {
      receiver: 'casefile',
      status: 'firing',
      orgId: 1,
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'Unexpected process', container_name: 'big', host_name: HOST },
          annotations: { summary: 'nc in big' },
          startsAt,
          endsAt: '0001-01-01T00:00:00Z',
          fingerprint: 'fp-1',
          generatorURL: 'http://grafana/alerting/1',
        },
        {
          status: 'firing',
          labels: { alertname: 'Other', 'container.name': 'none-such' },
          annotations: {},
          startsAt,
          fingerprint: 'fp-2',
        },
        { status: 'resolved', labels: { alertname: 'Old' }, annotations: {}, startsAt, fingerprint: 'fp-3' },
      ],
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://grafana/',
      version: '1',
      groupKey: '{}:{}',
      truncatedAlerts: 0,
    };
    const r = await api(server.url, '/api/v1/hooks/grafana', {
      method: 'POST',
      token: HOOK_TOKEN,
      body: payload,
    });
    equal(r.status, 200, r.text);
    equal(r.json.pinned.length, 2);
    equal(r.json.ignored, 1);
    const s = r.json.pinned[0].snapshot;
    deepEqual(s.scope, { host: HOST, containerName: 'big' });
    equal(s.source, 'grafana-alert');
    equal(s.note, 'nc in big');
    equal(s.title, 'Alert: Unexpected process');
    equal(
      BigInt(s.toNs) - BigInt(s.fromNs),
      BigInt(server.config.hookBeforeSeconds + server.config.hookAfterSeconds) * 1_000_000_000n
    );
    equal(s.eventCount, 10_000); // [startsAt-5s, startsAt+5s) = events 5000..14999
    equal(r.json.pinned[1].snapshot.eventCount, 0);
    const again = await api(server.url, '/api/v1/hooks/grafana', {
      method: 'POST',
      token: HOOK_TOKEN,
      body: payload,
    });
    equal(again.status, 200);
    equal(again.json.pinned.length, 0);
    deepEqual(
      again.json.duplicates.map((d: { snapshotId: string }) => d.snapshotId).sort(),
      r.json.pinned.map((p: { snapshot: { id: string } }) => p.snapshot.id).sort()
    );
  });

  test('each pin emits a snapshot.pinned event to Loki over OTLP', async () => {
    const client = new LokiClient({ url: loki.url });
    const window = { fromNs: msToNs(Date.now() - 10 * 60_000), toNs: msToNs(Date.now() + 60_000) };
    let got: CasefileEvent[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      got = await client.readAll({ types: ['snapshot.pinned'] }, window);
      if (got.some((e) => e.snapshotId === snapshotId)) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const e = got.find((x) => x.snapshotId === snapshotId);
    ok(e, 'snapshot.pinned for the big snapshot');
    equal(e.loginUser, 'alice');
    equal(e.eventCount, sent.length);
    equal(e.containerName, 'big');
  });
});
