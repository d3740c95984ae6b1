/**
 * Nothing lost, against the Loki stand-in and both real stores (SQLite and
 * PostgreSQL): entries a newer collector wrote (unknown type, no id) are
 * kept whole in pins and exports and counted in the answer and the metrics;
 * an instant with more entries than a page is read whole; the window's edges
 * are exact; a Loki killed in the middle of a live export breaks the
 * transfer instead of ending a short file that looks complete.
 */
import { after, before, describe, test } from 'node:test';
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { get } from 'node:http';
import { msToNs } from '@casefile/schema';
import { startLoki, type Loki } from '../../test/loki/loki-server';
import { seedEvents } from '../../test/loki/seed';
import { postgresBinDir, startPostgres, type Postgres } from './helpers/postgres';
import { processEvents, pushRaw, waitForEvents } from './helpers/seed';
import { api, startTestServer, TOKEN } from './helpers/server';
import { readZip as unzip } from '../src/verify/verify-package';

const HOST = 'node-next';
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** GET with node:http, so the CSV's HTTP trailers and a broken transfer can be seen. */
function download(url: string): Promise<{ status: number; body: string; trailers: NodeJS.Dict<string> }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, trailers: res.trailers }));
      res.on('aborted', () => reject(new Error(`transfer broken after ${body.length} bytes`)));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** A metric's value from /metrics (0 when absent). */
async function metric(base: string, re: RegExp): Promise<number> {
  const m = re.exec((await api(base, '/metrics', { token: null })).text);
  return Number(m?.[1] ?? 0);
}

describe('unreadable entries, crowded instants and edges, against the Loki stand-in', () => {
  let loki: Loki;
  let pg: Postgres | undefined;
  let start: number;
  let crowdNs: bigint;
  const servers: { name: string; s: Awaited<ReturnType<typeof startTestServer>> }[] = [];

  before(async () => {
    loki = await startLoki();
    start = Date.now() - 10 * 60_000;
    // 3,000 events 1 ms apart, and two entries of a newer collector in between.
    await seedEvents(loki.url, HOST, processEvents(3000, start, 'mixed'));
    await pushRaw(loki.url, HOST, [
      {
        timeNs: msToNs(start + 250),
        body: 'opened /etc/shadow',
        attributes: {
          'casefile.event.id': 'next-1',
          'casefile.event.type': 'file.open',
          'file.path': '/etc/shadow',
          'container.name': 'mixed',
        },
      },
      {
        timeNs: msToNs(start + 1700),
        body: 'a line with no event id',
        attributes: { 'casefile.event.type': 'process.start', 'container.name': 'mixed' },
      },
    ]);
    // 6,000 events at one nanosecond: more than a page (5,000 in provisioning/loki/loki.yaml).
    crowdNs = BigInt(msToNs(start + 5000)) + 7n;
    await seedEvents(
      loki.url,
      HOST,
      processEvents(6000, start + 5000, 'crowd').map((e) => ({ ...e, timeNs: crowdNs.toString() }))
    );
    // The window's edges: at from, at to - 1 ns, at to.
    const edge = BigInt(msToNs(start + 8000));
    await seedEvents(
      loki.url,
      HOST,
      processEvents(3, start + 8000, 'edge').map((e, i) => ({
        ...e,
        timeNs: (edge + [0n, 999_999n, 1_000_000n][i]).toString(),
      }))
    );
    const all = { fromNs: msToNs(start), toNs: msToNs(start + 9000) };
    equal(await waitForEvents(loki.url, { scope: { host: HOST } }, all, 9005), 9005);
    servers.push({ name: 'sqlite', s: await startTestServer({ lokiUrl: loki.url, otlpUrl: 'off' }) });
    if (!postgresBinDir())
      throw new Error('PostgreSQL binaries missing: scripts/setup-machine.sh installs them');
    pg = await startPostgres();
    servers.push({
      name: 'postgres',
      s: await startTestServer({ lokiUrl: loki.url, otlpUrl: 'off', postgresDsn: pg.dsn }),
    });
  });
  after(async () => {
    for (const { s } of servers) await s.close();
    await pg?.stop();
    await loki?.stop();
  });

  test('a live CSV keeps the unreadable entries as rows, counts them in trailers and metrics (page 500)', async () => {
    const s = await startTestServer({ lokiUrl: loki.url, otlpUrl: 'off', lokiPageSize: 500 });
    try {
      const r = await download(
        `${s.url}/api/v1/export.csv?containerName=mixed&from=${start}&to=${start + 3000}`
      );
      equal(r.status, 200);
      const rows = r.body.split('\r\n').slice(1, -1);
      equal(rows.length, 3002, 'every event and both unreadable entries');
      equal(r.trailers['x-casefile-rows'], '3002');
      equal(r.trailers['x-casefile-unreadable'], '2');
      const shadow = rows.find((l) => l.includes('opened /etc/shadow'))!;
      ok(shadow.includes('file.open'), shadow);
      match(shadow, /""file_path"":""\/etc\/shadow""/);
      match(shadow, /unknown type/);
      ok(rows.some((l) => l.includes('a line with no event id') && l.includes('has no casefile_event_id')));
      equal(
        await metric(s.url, /^casefile_server_loki_unreadable_entries_total\{kind="live_csv"\} (\d+)/m),
        2
      );
    } finally {
      await s.close();
    }
  });

  for (const name of ['sqlite', 'postgres']) {
    test(`${name}: a pin keeps them whole, counts them, and the package and its hash cover them`, async () => {
      const s = servers.find((x) => x.name === name)!.s;
      const pin = await api(s.url, '/api/v1/snapshots', {
        method: 'POST',
        body: { title: 'mixed', scope: { containerName: 'mixed' }, from: start, to: start + 3000 },
      });
      equal(pin.status, 201, pin.text);
      const snap = pin.json.snapshot;
      equal(snap.eventCount, 3000);
      equal(snap.unreadableCount, 2);
      const u = await api(s.url, `/api/v1/snapshots/${snap.id}/unreadable`);
      equal(u.json.total, 2);
      const shadow = u.json.items.find((x: { id: string }) => x.id === 'next-1');
      equal(shadow.type, 'file.open');
      equal(shadow.message, 'opened /etc/shadow');
      equal(shadow.structuredMetadata.file_path, '/etc/shadow');
      equal(shadow.stream.host_name, HOST);
      equal((await api(s.url, `/api/v1/snapshots/${snap.id}/events?limit=1`)).json.total, 3000);
      const pkg = await unzip((await api(s.url, `/api/v1/snapshots/${snap.id}/package`)).buffer);
      const jsonl = pkg.get('events.jsonl')!;
      equal(sha256(jsonl), snap.contentSha256);
      equal(jsonl.toString().trimEnd().split('\n').length, 3002);
      const csv = (await api(s.url, `/api/v1/snapshots/${snap.id}/export.csv`)).text;
      equal(csv.split('\r\n').length - 2, 3002);
      ok((await metric(s.url, /^casefile_server_loki_unreadable_entries_total\{kind="pin"\} (\d+)/m)) >= 2);
    });

    test(`${name}: an instant with 6,000 entries (more than a page) is pinned whole`, async () => {
      const s = servers.find((x) => x.name === name)!.s;
      const pin = await api(s.url, '/api/v1/snapshots', {
        method: 'POST',
        body: { title: 'crowd', scope: { containerName: 'crowd' }, from: start + 4000, to: start + 6000 },
      });
      equal(pin.status, 201, pin.text);
      equal(pin.json.snapshot.eventCount, 6000);
      const ev = await api(s.url, `/api/v1/snapshots/${pin.json.snapshot.id}/events?limit=5000&offset=1000`);
      equal(ev.json.items.length, 5000);
      ok(ev.json.items.every((e: { timeNs: string }) => e.timeNs === crowdNs.toString()));
    });
  }

  test('the window is [from, to) to the nanosecond', async () => {
    const s = servers[0].s;
    const from = new Date(start + 8000).toISOString().replace('Z', '000000Z');
    const to = new Date(start + 8001).toISOString().replace('Z', '000000Z');
    const pin = await api(s.url, '/api/v1/snapshots', {
      method: 'POST',
      body: { title: 'edges', scope: { containerName: 'edge' }, from, to },
    });
    const ev = await api(s.url, `/api/v1/snapshots/${pin.json.snapshot.id}/events`);
    const edge = BigInt(msToNs(start + 8000));
    deepEqual(
      ev.json.items.map((e: { timeNs: string }) => BigInt(e.timeNs) - edge),
      [0n, 999_999n]
    );
  });
});

test('Loki killed in the middle of a live export: the transfer breaks, it does not end short and clean', async () => {
  const loki = await startLoki();
  const start = Date.now() - 5 * 60_000;
  await seedEvents(loki.url, 'node-kill', processEvents(20_000, start, 'kill'));
  const window = { fromNs: msToNs(start), toNs: msToNs(start + 20_001) };
  equal(await waitForEvents(loki.url, { scope: { host: 'node-kill' } }, window, 20_000), 20_000);
  // Small pages: the export makes hundreds of requests, so Loki dies in its middle.
  const s = await startTestServer({ lokiUrl: loki.url, otlpUrl: 'off', lokiPageSize: 50 });
  try {
    const url = `${s.url}/api/v1/export.csv?host=node-kill&from=${start}&to=${start + 20_001}`;
    const got = download(url);
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      if ((await metric(s.url, /^casefile_server_export_rows_total\{kind="live_csv"\} (\d+)/m)) > 500) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await loki.stop({ signal: 'SIGKILL' });
    const outcome = await got.then(
      (r) => `ended cleanly with ${r.body.split('\r\n').length - 2} rows`,
      (e: Error) => e.message
    );
    match(outcome, /transfer broken/);
    equal(await metric(s.url, /^casefile_server_export_aborts_total (\d+)/m), 1);
  } finally {
    await s.close();
    await loki.stop().catch(() => {});
  }
});
