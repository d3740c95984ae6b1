/**
 * Streaming CSV through schema's writer (BOM, header, csvRow per row).
 * Generators yield one chunk per page, and Readable.from pulls the next page
 * only when the socket has drained the last: backpressure reaches Loki or the
 * store, so an export of any size holds one page in memory.
 *
 * Rows are events and entries that are not Casefile events (schema's
 * UnreadableEntry, shaped like an event): those get their time, type label,
 * id and line in the usual columns and everything else Loki returned for them
 * in the last column, `casefile.unreadable`.
 */
import { Readable } from 'node:stream';
import {
  CSV_BOM,
  CSV_COLUMNS,
  csvHeader,
  csvRow,
  type CasefileEvent,
  type CsvColumn,
  type UnreadableEntry,
} from '@casefile/schema';

/** A row of an export: an event or an entry that is not one. */
export type ExportRow = CasefileEvent | UnreadableEntry;

/** The export's columns: schema's, then what Loki returned for an unreadable entry (JSON), empty for events. */
export const EXPORT_COLUMNS: readonly CsvColumn[] = [
  ...CSV_COLUMNS,
  {
    header: 'casefile.unreadable',
    get: (e) => {
      const u = e as unknown as Partial<UnreadableEntry>;
      return u.unreadable === undefined
        ? undefined
        : JSON.stringify({
            reason: u.unreadable,
            stream: u.stream,
            structuredMetadata: u.structuredMetadata,
            parsed: u.parsed,
          });
    },
  },
];

/** Counts of what an export wrote so far. */
export interface ExportCounts {
  rows: number;
  unreadable: number;
}

/** CSV text chunks for pages of rows; `counts` is updated as rows go out. */
export async function* csvChunks(
  pages: AsyncIterable<readonly ExportRow[]>,
  counts: ExportCounts = { rows: 0, unreadable: 0 },
  onRows?: (n: number) => void
): AsyncGenerator<string> {
  yield CSV_BOM + csvHeader(EXPORT_COLUMNS);
  for await (const page of pages) {
    let chunk = '';
    for (const e of page) {
      chunk += csvRow(e as CasefileEvent, EXPORT_COLUMNS);
      if ('unreadable' in e) counts.unreadable++;
    }
    counts.rows += page.length;
    onRows?.(page.length);
    yield chunk;
  }
}

/** Parse stored JSON batches into pages of rows. */
export async function* parsedPages(batches: AsyncIterable<string[]>): AsyncGenerator<ExportRow[]> {
  for await (const b of batches) yield b.map((j) => JSON.parse(j) as ExportRow);
}

/** A byte stream of a CSV document, with backpressure. */
export function csvStream(
  pages: AsyncIterable<readonly ExportRow[]>,
  counts?: ExportCounts,
  onRows?: (n: number) => void
): Readable {
  return Readable.from(csvChunks(pages, counts, onRows), { objectMode: false, highWaterMark: 1 << 16 });
}
