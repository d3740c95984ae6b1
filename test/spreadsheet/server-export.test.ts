/**
 * The server's CSV exports end to end: hostile events through Loki (the
 * stand-in, or LOKI_URL) and the real server's live and snapshot CSV routes,
 * opened in LibreOffice under `,` `;` and tab. The byte-order mark is there by
 * default and gone with `?bom=false` (the rest byte for byte the same); no
 * cell becomes a formula; under `,` each event's process name reads back as
 * the writer wrote it.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CSV_BOM, csvCell, makeEvent, msToNs, type CasefileEvent } from '@casefile/schema';
import { startLoki, type Loki } from '../loki/loki-server';
import { seedEvents } from '../loki/seed';
import { api, startTestServer } from '../../server/test/helpers/server';
import { waitForEvents } from '../../server/test/helpers/seed';
import { HOSTILE_PROCESS_NAMES, HOSTILE_VALUES } from './corpus';
import { openInLibreOffice, readFods } from './libreoffice';

const HOST = 'spreadsheet-node';
let loki: Loki;
let server: Awaited<ReturnType<typeof startTestServer>>;
let events: CasefileEvent[];
let query: string;
let window: { from: number; to: number };

before(async () => {
  loki = await startLoki();
  server = await startTestServer({ lokiUrl: loki.url });
  const start = Date.now() - 60_000;
  events = [...HOSTILE_PROCESS_NAMES, ...HOSTILE_VALUES].map((name, i) =>
    makeEvent({
      type: 'process.start',
      timeNs: (BigInt(msToNs(start + i)) + 123_456n).toString(),
      message: `process started: ${name}`,
      host: HOST,
      pid: 5000 + i,
      executable: `/tmp/${name}`,
      processName: name,
      commandLine: `${name} -c ${name}`,
      args: [name, '-c', name],
    } as CasefileEvent)
  );
  await seedEvents(loki.url, HOST, events);
  const from = start - 1000;
  const to = start + events.length + 1000;
  equal(
    await waitForEvents(
      loki.url,
      { scope: { host: HOST } },
      { fromNs: msToNs(from), toNs: msToNs(to) },
      events.length
    ),
    events.length
  );
  window = { from, to };
  query = `host=${HOST}&from=${from}&to=${to}`;
});

after(async () => {
  await server?.close();
  await loki?.stop();
});

test('server CSV exports: BOM by default, none with bom=false, bad bom is a 400; no formula in LibreOffice', async (t) => {
  const live = await api(server.url, `/api/v1/export.csv?${query}`);
  const liveNoBom = await api(server.url, `/api/v1/export.csv?${query}&bom=false`);
  equal(live.status, 200);
  equal(liveNoBom.status, 200);
  ok(live.text.startsWith(CSV_BOM + 'time,'), 'BOM by default');
  ok(liveNoBom.text.startsWith('time,'), 'no BOM with bom=false');
  deepStrictEqual(liveNoBom.buffer, live.buffer.subarray(3), 'otherwise the same bytes');
  equal((await api(server.url, `/api/v1/export.csv?${query}&bom=maybe`)).status, 400);

  const pin = await api(server.url, '/api/v1/snapshots', {
    method: 'POST',
    body: { title: 'hostile', scope: { host: HOST }, ...window },
  });
  equal(pin.status, 201, pin.text);
  const snap = await api(server.url, `/api/v1/snapshots/${pin.json.snapshot.id}/export.csv?bom=false`);
  equal(snap.status, 200);
  deepStrictEqual(snap.buffer, liveNoBom.buffer, 'the snapshot exports what the live export does');

  const dir = mkdtempSync(join(tmpdir(), 'casefile-server-csv-'));
  const files = [join(dir, 'live.csv'), join(dir, 'live-nobom.csv')];
  writeFileSync(files[0], live.buffer);
  writeFileSync(files[1], liveNoBom.buffer);
  for (const separators of ['44', '59', '9']) {
    const sheets = openInLibreOffice(files, { separators }).map(readFods);
    const formulas = sheets.flat(2).filter((c) => c.formula);
    deepStrictEqual(formulas, [], `separator ${separators}: no formula`);
    if (separators !== '44') continue;
    for (const sheet of sheets) {
      equal(sheet[0][0].text, 'time', 'the BOM is not a character of the first cell');
      const col = sheet[0].findIndex((c) => c.text === 'process.executable.name');
      const got = sheet.slice(1).map((r) => r[col].text);
      const want = events
        .map((e) => csvCell(e.processName))
        .map((c) => (c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c));
      // LibreOffice holds a line break as a paragraph: CR becomes LF and such a cell loses its tabs.
      const held = (s: string) => {
        const lines = s.replace(/\r\n?/g, '\n');
        return lines.includes('\n') ? lines.replace(/\t/g, '') : lines;
      };
      deepStrictEqual([...got].sort(), want.map(held).sort());
    }
  }
  t.diagnostic(`${events.length} hostile events through Loki and the server: 0 formulas under , ; tab`);
});
