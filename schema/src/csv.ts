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
 *   left alone. A cell starting with tab or CR gets a `'` too (OWASP,
 *   ASVS 1.2.10).
 * - Text stays text: a text value a spreadsheet would turn into a number,
 *   date, time, percentage, currency or boolean (`007`, `1e3`, `1/2`,
 *   `12:30`, `50%`, `(1)`, `true`, nanosecond times, which a spreadsheet
 *   would round to 15 digits) gets a `'` as well; plain numbers it shows
 *   unchanged (`4242`, `-1.5`) do not, nor do values that are numbers.
 * - Control characters other than tab, CR and LF, which no spreadsheet file
 *   can hold (NUL hides obfuscation), are written as their visible Unicode
 *   "control pictures" (U+2400 + code, DEL as U+2421).
 * - Reversible: removing one `'` at each such place gives the value back
 *   (a value's own `'` there was doubled); only the control pictures stay.
 *   `,` is not such a place: a cell holding `,` is quoted and its quote is
 *   at a field start whenever a spreadsheet splits on `,`.
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
const PIECE_START = /(^|[;\t\r\n])([\s"\u200B-\u200D\u2060]*)([=+\-@'\uFF1D\uFF0B\uFF0D\uFF20])/g;
/** Cheap test for PIECE_START: a formula start at the beginning, or a place inside where a piece may start. */
const MAY_START_PIECE = /^[\s"\u200B-\u200D\u2060]*[=+\-@'\uFF1D\uFF0B\uFF0D\uFF20]|[;\t\r\n]/;
const NEGATIVE_NUMBER = /^-\d+(\.\d+)?(?=$|[\s",;])/;
const CONTROL_START = /^[\t\r]/;
const CONTROL = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/g;
const HAS_CONTROL = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/;
const LETTER_START = /^[A-Za-z_]/;
/** Only what numbers, dates, times, percentages and amounts are made of, with a digit; or an exponent. */
const NUMBER_OR_DATE = /^[\s\d\p{Sc}+\-().,:/%]*\d[\s\d\p{Sc}+\-().,:/%]*$/u;
const EXPONENT = /^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$/;
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;
const BOOLEAN = /^(true|false)$/i;
const NEEDS_QUOTES = /[",;\t\r\n]/;

/** A text a spreadsheet would read as something else (see the rules above). */
function readAsNonText(s: string): boolean {
  if (LETTER_START.test(s)) return BOOLEAN.test(s);
  if (EXPONENT.test(s)) return true;
  if (!NUMBER_OR_DATE.test(s)) return false;
  const shownAsIs = PLAIN_DECIMAL.test(s) && String(Number(s)) === s && s.replace(/\D/g, '').length <= 15;
  return !shownAsIs;
}

/** Mark every place a spreadsheet could start a formula, and text it would not keep as text (rules above). */
function neutralise(s: string, text: boolean): string {
  if (HAS_CONTROL.test(s))
    s = s.replace(CONTROL, (c) => String.fromCharCode(c === '\x7F' ? 0x2421 : 0x2400 + c.charCodeAt(0)));
  if (MAY_START_PIECE.test(s))
    s = s.replace(PIECE_START, (m, sep: string, skip: string, c: string, at: number) =>
      c === '-' && NEGATIVE_NUMBER.test(s.slice(at + sep.length + skip.length)) ? m : `${sep}${skip}'${c}`
    );
  return CONTROL_START.test(s) || (text && readAsNonText(s)) ? "'" + s : s;
}

/**
 * One CSV cell: neutralised (see the rules above) and quoted where needed.
 *
 * @example csvCell('=HYPERLINK("http://x","y")') // => '"\'=HYPERLINK(""http://x"",""y"")"'
 * @example csvCell('x;=1+1;y') // => '"x;\'=1+1;y"'
 */
export function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = neutralise(Array.isArray(v) ? JSON.stringify(v) : String(v), typeof v === 'string');
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
