import type { CasefileEvent } from './event';
import { EVENT_TYPES } from './event-types';
import { FIELDS, FIELD_NAMES, type FieldName, type FieldSpec } from './fields';
import { EVENT_ID_ATTR, EVENT_TYPE_ATTR } from './otlp';

/**
 * CSV export: RFC 4180 (CRLF line ends, `""` for a quote), UTF-8 (with the
 * byte-order mark Excel needs unless asked not to), written so that it stays
 * data in any spreadsheet, under whichever separator the spreadsheet splits
 * on. The rules and why (each tested in LibreOffice, test/spreadsheet/):
 *
 * - A cell is quoted when it holds `,` `;` tab, `"`, CR or LF: `;` is
 *   Excel's separator in many locales and tab LibreOffice's other default.
 * - Quotes protect only when the spreadsheet splits on `,`: LibreOffice
 *   honours a quote only at the start of a field, so opened with `;` or tab
 *   a quoted cell is split at every `;` or tab inside it, and a line break
 *   inside it ends the row. Each piece is a cell of its own, and one starting
 *   with `=` is a live formula (DDE included). So every place a piece can
 *   start is treated as a cell start: the cell's start, and after each `;`
 *   tab CR LF in it. If the first character there, after spaces, quotes and
 *   invisible characters, is a formula start (= + - @, their full-width
 *   forms) or `'`, a `'` is inserted before it: a spreadsheet reads the
 *   piece as text (LibreOffice shows the `'`). Plain negative numbers are
 *   left alone. A cell starting with tab, CR or NUL gets a `'` too (OWASP,
 *   ASVS 1.2.10). Integers of 16 digits or more (nanosecond times) get one
 *   so that they stay text: a spreadsheet keeps only 15 digits.
 * - Reversible: removing one `'` at each such place gives the value back
 *   (a value's own `'` there was doubled). `,` is not such a place: a cell
 *   holding `,` is quoted and its quote is at a field start whenever a
 *   spreadsheet splits on `,`.
 */

export interface CsvColumn {
  header: string;
  get: (e: CasefileEvent) => unknown;
}

/** Time as RFC 3339 UTC with nanoseconds: sortable and unambiguous in a spreadsheet. */
export function nsToIso(ns: string): string {
  const n = BigInt(ns);
  const ms = Number(n / 1_000_000n);
  const frac = (n % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}

/** The columns: time, type, title, id, message, then every field by its OTel name. */
export const CSV_COLUMNS: readonly CsvColumn[] = [
  { header: 'time', get: (e) => nsToIso(e.timeNs) },
  { header: 'time_unix_nano', get: (e) => e.timeNs },
  { header: EVENT_TYPE_ATTR, get: (e) => e.type },
  { header: 'title', get: (e) => EVENT_TYPES[e.type]?.title ?? e.type },
  { header: EVENT_ID_ATTR, get: (e) => e.id },
  { header: 'message', get: (e) => e.message },
  ...FIELD_NAMES.map((f: FieldName) => ({
    header: (FIELDS[f] as FieldSpec).attr,
    get: (e: CasefileEvent) => e[f],
  })),
];

export const CSV_BOM = '\uFEFF';

/** Options of a whole CSV document. */
export interface CsvOptions {
  /** Start with the UTF-8 byte-order mark (Excel needs it to read UTF-8). Default true. */
  bom?: boolean;
}

/** Where a spreadsheet may start a cell inside ours, the run it skips there, and what must not start it. */
const PIECE_START = /(^|[;\t\r\n])([\s"\0\u200B-\u200D\u2060]*)([=+\-@'\uFF1D\uFF0B\uFF0D\uFF20])/g;
const MAY_START_PIECE = /[=+\-@'\uFF1D\uFF0B\uFF0D\uFF20]/;
const NEGATIVE_NUMBER = /^-\d+(\.\d+)?(?=$|[\s",;])/;
const CONTROL_START = /^[\t\r\0]/;
const LONG_INTEGER = /^-?\d{16,}$/;
const NEEDS_QUOTES = /[",;\t\r\n]/;

/** Mark every place a spreadsheet could start a formula (see the rules above). */
function neutralise(s: string): string {
  if (MAY_START_PIECE.test(s))
    s = s.replace(PIECE_START, (m, sep: string, skip: string, c: string, at: number) =>
      c === '-' && NEGATIVE_NUMBER.test(s.slice(at + sep.length + skip.length)) ? m : `${sep}${skip}'${c}`
    );
  return CONTROL_START.test(s) || LONG_INTEGER.test(s) ? "'" + s : s;
}

/**
 * One CSV cell: neutralised (see the rules above) and quoted where needed.
 *
 * @example csvCell('=HYPERLINK("http://x","y")') // => '"\'=HYPERLINK(""http://x"",""y"")"'
 * @example csvCell('x;=1+1;y') // => '"x;\'=1+1;y"'
 */
export function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = neutralise(Array.isArray(v) ? JSON.stringify(v) : String(v));
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The header line, with CRLF. */
export function csvHeader(columns: readonly CsvColumn[] = CSV_COLUMNS): string {
  return columns.map((c) => csvCell(c.header)).join(',') + '\r\n';
}

/** One event as a CSV line, with CRLF. */
export function csvRow(e: CasefileEvent, columns: readonly CsvColumn[] = CSV_COLUMNS): string {
  return columns.map((c) => csvCell(c.get(e))).join(',') + '\r\n';
}

/** A whole CSV document (BOM unless `bom: false`, header, rows) for events already in memory. */
export function toCsv(
  events: Iterable<CasefileEvent>,
  columns: readonly CsvColumn[] = CSV_COLUMNS,
  opts: CsvOptions = {}
): string {
  let out = (opts.bom === false ? '' : CSV_BOM) + csvHeader(columns);
  for (const e of events) out += csvRow(e, columns);
  return out;
}
