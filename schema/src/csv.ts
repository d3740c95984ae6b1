import type { CasefileEvent } from './event';
import { EVENT_TYPES } from './event-types';
import { FIELDS, FIELD_NAMES, type FieldName, type FieldSpec } from './fields';
import { EVENT_ID_ATTR, EVENT_TYPE_ATTR } from './otlp';

/**
 * CSV export: RFC 4180 (CRLF line ends, quoted cells where needed, `""` for a
 * quote), UTF-8 with a byte-order mark so spreadsheets detect the encoding,
 * and spreadsheet formula injection neutralised.
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

// OWASP's list (=, +, -, @, tab, CR) plus their full-width forms, which some spreadsheets also honour.
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * One CSV cell. A value a spreadsheet would read as a formula gets a leading
 * `'` (plain negative numbers are left alone); cells with `,` `"` CR or LF
 * are quoted.
 *
 * @example csvCell('=HYPERLINK("http://x","y")') // => '"\'=HYPERLINK(""http://x"",""y"")"'
 */
export function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  let s = Array.isArray(v) ? JSON.stringify(v) : String(v);
  if (FORMULA_START.test(s) && !PLAIN_NUMBER.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The header line, with CRLF. */
export function csvHeader(columns: readonly CsvColumn[] = CSV_COLUMNS): string {
  return columns.map((c) => csvCell(c.header)).join(',') + '\r\n';
}

/** One event as a CSV line, with CRLF. */
export function csvRow(e: CasefileEvent, columns: readonly CsvColumn[] = CSV_COLUMNS): string {
  return columns.map((c) => csvCell(c.get(e))).join(',') + '\r\n';
}

/** A whole CSV document (BOM, header, rows) for events already in memory. */
export function toCsv(events: Iterable<CasefileEvent>, columns: readonly CsvColumn[] = CSV_COLUMNS): string {
  let out = CSV_BOM + csvHeader(columns);
  for (const e of events) out += csvRow(e, columns);
  return out;
}
