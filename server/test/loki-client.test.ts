/**
 * The Loki client against a real Loki: slices and pages lose nothing and
 * repeat nothing, even when many events share a timestamp across page edges
 * and density changes abruptly; gaps and empty windows are fine.
 */
import { after, before, test } from 'node:test';
import { deepEqual, equal, rejects } from 'node:assert/strict';
import { compareEvents, msToNs, type CasefileEvent } from '@casefile/schema';
import { startLoki, type Loki } from '../../test/loki/loki-server';
import { LokiClient, LokiError } from '../src/loki/loki-client';
import { processEvents, waitForEvents } from './helpers/seed';
import { seedEvents } from '../../test/loki/seed';

const HOST = 'node-pages';
let loki: Loki;
let sent: CasefileEvent[];
let window: { fromNs: string; toNs: string };

before(async () => {
  loki = await startLoki();
  const start = Date.now() - 30 * 60_000;
  // Dense burst: groups of 5 events share one timestamp; then a 10-minute gap; then sparse events.
  const dense = processEvents(600, start, 'pages').map((e, i) => ({
    ...e,
    timeNs: msToNs(start + Math.floor(i / 5)),
  }));
  const sparse = processEvents(40, start + 10 * 60_000, 'pages').map((e, i) => ({
    ...e,
    timeNs: msToNs(start + 10 * 60_000 + i * 7_000),
  }));
  // 12 events at one instant: more than a page of 10.
  const pile = processEvents(12, start + 20 * 60_000, 'pile').map((e) => ({
    ...e,
    timeNs: msToNs(start + 20 * 60_000),
  }));
  sent = [...dense, ...sparse];
  window = { fromNs: msToNs(start), toNs: msToNs(start + 15 * 60_000) };
  await seedEvents(loki.url, HOST, [...sent, ...pile]);
  equal(
    await waitForEvents(
      loki.url,
      { scope: { host: HOST } },
      { fromNs: window.fromNs, toNs: msToNs(start + 21 * 60_000) },
      sent.length + 12
    ),
    sent.length + 12
  );
});
after(async () => loki?.stop());

for (const [pageSize, prefetch] of [
  [7, 1],
  [7, 3],
  [50, 2],
  [5000, 2],
]) {
  test(`reads every event exactly once, in order (page ${pageSize}, prefetch ${prefetch})`, async () => {
    const client = new LokiClient({ url: loki.url, pageSize, prefetch });
    const got = await client.readAll({ scope: { host: HOST, containerName: 'pages' } }, window);
    deepEqual(
      got.map((e) => e.id),
      [...sent].sort(compareEvents).map((e) => e.id)
    );
  });
}

test('after Loki flushes its chunks to the store, reads are still exact', async () => {
  // Loki's /flush cuts and writes the in-memory chunks; reads then go through the store as well.
  const r = await fetch(`${loki.url}/flush`, { method: 'POST' });
  equal(r.status, 204);
  // Only a real Loki has chunks to flush (the stand-in has one store: nothing to wait for).
  if (!loki.standin) {
    const flushed = async () => {
      const m = /^loki_ingester_chunks_flushed_total(?:\{[^}]*\})? (\d+)/m.exec(
        await (await fetch(`${loki.url}/metrics`)).text()
      );
      return Number(m?.[1] ?? 0);
    };
    for (const deadline = Date.now() + 30_000; (await flushed()) === 0 && Date.now() < deadline;)
      await new Promise((res) => setTimeout(res, 200));
    equal((await flushed()) > 0, true, 'Loki flushed chunks');
  }
  for (const [pageSize, prefetch] of [
    [7, 2],
    [5000, 2],
  ]) {
    const got = await new LokiClient({ url: loki.url, pageSize, prefetch }).readAll(
      { scope: { host: HOST, containerName: 'pages' } },
      window
    );
    deepEqual(
      got.map((e) => e.id),
      [...sent].sort(compareEvents).map((e) => e.id),
      `page ${pageSize}`
    );
  }
});

test('an empty window and a window inside the gap read nothing', async () => {
  const client = new LokiClient({ url: loki.url, pageSize: 7 });
  const gapFrom = BigInt(window.fromNs) + 2n * 60_000_000_000n;
  deepEqual(
    await client.readAll(
      { scope: { host: HOST } },
      { fromNs: gapFrom.toString(), toNs: (gapFrom + 60_000_000_000n).toString() }
    ),
    []
  );
});

test('more events at one instant than a page are all read (partitions), not an error', async () => {
  const client = new LokiClient({ url: loki.url, pageSize: 10 });
  const got = await client.readAll(
    { scope: { host: HOST, containerName: 'pile' } },
    { fromNs: window.fromNs, toNs: msToNs(Date.now()) }
  );
  equal(got.length, 12);
  equal(new Set(got.map((e) => e.id)).size, 12);
});

test('an unreachable Loki is a LokiError after retries', async () => {
  const client = new LokiClient({ url: 'http://127.0.0.1:9', retries: 2 });
  await rejects(client.version(), (e: Error) => e instanceof LokiError && /unreachable/.test(e.message));
});
