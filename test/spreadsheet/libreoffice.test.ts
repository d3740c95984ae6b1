/**
 * Casefile's CSV opened in real LibreOffice Calc (headless, Debian's
 * libreoffice-calc-nogui) under every separator a user or a locale may pick:
 * `,`; `;` (Excel's default in many locales); tab; all three at once; and
 * `,` and `;` with spaces trimmed. Import settings let LibreOffice interpret
 * as much as it can (formulas evaluated, special numbers detected). The
 * corpus is public CSV-injection and DDE payloads (corpus.ts) plus Casefile
 * events with hostile process names and command lines.
 *
 * Checked from LibreOffice's own flat XML: no cell is a formula or an error,
 * anywhere. Where the separator is the file's own (`,`, or all three), every
 * cell reads back exactly as Casefile wrote it, and removing the marks the
 * writer adds gives the original value. Under a foreign separator the rows
 * are split differently, but no character of the file is lost or changed.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CSV_BOM, CSV_COLUMNS, csvCell, toCsv, type CasefileEvent } from '@casefile/schema';
import { HOSTILE_PROCESS_NAMES, HOSTILE_VALUES } from './corpus';
import { openInLibreOffice, readFods, type Cell, type ImportSettings } from './libreoffice';

const dir = mkdtempSync(join(tmpdir(), 'casefile-spreadsheet-'));

/** The cell's text as written in the file (quotes removed). */
const written = (cell: string) => (cell.startsWith('"') ? cell.slice(1, -1).replace(/""/g, '"') : cell);
/** The documented reversal of the writer's marks: one `'` removed where a piece can start. */
const original = (text: string) => text.replace(/(^|[;\t\r\n])([\s"\u200B-\u200D\u2060]*)'/g, '$1$2');
/** The writer's visible form of control characters a spreadsheet cannot hold. */
const pictured = (v: string) =>
  v.replace(/[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/g, (c) =>
    String.fromCharCode(c === '\x7F' ? 0x2421 : 0x2400 + c.charCodeAt(0))
  );
/**
 * How LibreOffice holds a cell's text: a line break is a paragraph break (CR
 * and CRLF become LF), and a cell with one loses its tabs. Its limits, not
 * the file's: the CSV has them (the "text survives" check reads every byte).
 */
const asLibreOfficeHolds = (text: string) => {
  const lines = text.replace(/\r\n?/g, '\n');
  return lines.includes('\n') ? lines.replace(/\t/g, '') : lines;
};

// 1. Every payload as a cell between two plain ones.
const payloadRows = HOSTILE_VALUES.map((v, i) => [`p${i}`, v, 'end']);
const payloadCsv = payloadRows.map((r) => r.map(csvCell).join(',') + '\r\n').join('');

// 2. Events as the server exports them, hostile where a workload chooses the text.
const hostile = [...HOSTILE_PROCESS_NAMES, ...HOSTILE_VALUES];
const events: CasefileEvent[] = hostile.map((name, i) => ({
  id: `0190d6a1-7c2e-7000-8000-${String(i).padStart(12, '0')}`,
  type: 'process.start',
  timeNs: String(1_700_000_000_123_456_789n + BigInt(i)),
  message: `process started: ${name}`,
  host: 'node-1',
  containerName: name,
  pid: 4000 + i,
  ppid: 1,
  uid: 0,
  user: name,
  executable: `/tmp/${name}`,
  processName: name,
  args: [name, '-c', name],
  commandLine: `${name} -c ${name}`,
}));
const eventCsv = toCsv(events); // with the byte-order mark
const eventRows = [CSV_COLUMNS.map((c) => c.header), ...events.map((e) => CSV_COLUMNS.map((c) => c.get(e)))];

const files = {
  payloads: join(dir, 'payloads.csv'),
  events: join(dir, 'events.csv'),
};
writeFileSync(files.payloads, payloadCsv);
writeFileSync(files.events, eventCsv);
const raw = { payloads: payloadCsv, events: eventCsv.slice(CSV_BOM.length) };
const expected = { payloads: payloadRows, events: eventRows };

const SETTINGS: Record<string, ImportSettings & { own: boolean }> = {
  comma: { separators: '44', own: true },
  semicolon: { separators: '59', own: false },
  tab: { separators: '9', own: false },
  'comma+semicolon+tab': { separators: '44/59/9', own: true },
  'comma, trimmed': { separators: '44', trimSpaces: true, own: true },
  'semicolon, trimmed': { separators: '59', trimSpaces: true, own: false },
};

/** What must hold under every separator: no formula, no error value, no character lost or changed. */
function assertInert(name: keyof typeof files, sheet: Cell[][], trimmed: boolean): number {
  let cells = 0;
  for (const [r, row] of sheet.entries())
    for (const [c, cell] of row.entries()) {
      cells++;
      const where = `${name} row ${r + 1} col ${c + 1} ${JSON.stringify(cell)}`;
      equal(cell.formula, undefined, `formula in ${where}`);
      ok(!/^(Err:\d+|#[A-Z/]+[!?]?)$/.test(cell.text), `error value in ${where}`);
    }
  // Splitting moves characters between cells and drops quotes and separators, nothing else.
  const strip = (s: string) => {
    const kept = s.replace(/[";,\t\r\n]/g, '');
    return trimmed ? kept.replace(/ /g, '') : kept;
  };
  equal(
    strip(
      sheet
        .flat()
        .map((c) => c.text)
        .join('')
    ),
    strip(raw[name]),
    `${name}: the text survives`
  );
  return cells;
}

for (const [label, settings] of Object.entries(SETTINGS)) {
  test(`LibreOffice, separator ${label}: no cell becomes a formula${settings.own ? ', every value reads back as written' : ''}`, (t) => {
    const [payloadSheet, eventSheet] = openInLibreOffice([files.payloads, files.events], settings).map(
      readFods
    );
    let cells = 0;
    cells += assertInert('payloads', payloadSheet, !!settings.trimSpaces);
    cells += assertInert('events', eventSheet, !!settings.trimSpaces);
    if (settings.own) {
      for (const [name, sheet] of [
        ['payloads', payloadSheet],
        ['events', eventSheet],
      ] as const) {
        const rows = expected[name];
        equal(sheet.length, rows.length, `${name}: one row per CSV row`);
        for (const [r, row] of rows.entries()) {
          const want = row.map((v) => asLibreOfficeHolds(written(csvCell(v))));
          while (want.length && want.at(-1) === '') want.pop();
          const got = sheet[r].map((c) => c.text);
          deepStrictEqual(
            got,
            settings.trimSpaces ? want.map((w) => w.replace(/^ +| +$/g, '')) : want,
            `${name} row ${r + 1}`
          );
        }
      }
      // The marks come off again: the payloads as the collections wrote them.
      if (!settings.trimSpaces)
        deepStrictEqual(
          payloadSheet.map((r) => original(r[1].text)),
          HOSTILE_VALUES.map((v) => asLibreOfficeHolds(pictured(v))),
          'unmarked values are the originals'
        );
    }
    t.diagnostic(
      `${label}: ${cells} cells from ${HOSTILE_VALUES.length} payloads and ${events.length} events, 0 formulas`
    );
  });
}
