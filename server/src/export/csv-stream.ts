/**
 * Streaming CSV through schema's writer (BOM, header, csvRow per row).
 *
 * Memory: a page of rows becomes its CSV bytes in one synchronous step
 * ({@link csvPage}): Buffers of about CSV_CHUNK_CHARS bytes, outside the V8 heap.
 * Only those Buffers wait for the socket; the row objects die young, before
 * the garbage collector promotes them, so the old generation (which V8 lets
 * grow to a multiple of what survives) stays small however long the export.
 * Readable.from pulls the next page only when the socket has drained the
 * last: backpressure reaches Loki or the store.
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

/**
 * Characters per CSV chunk (about its bytes): small enough that building one stays an ordinary young
 * V8 string (a page's worth, megabytes, lands in the large-object space and
 * lives until a full GC), large enough that the per-chunk overhead is noise.
 */
export const CSV_CHUNK_CHARS = 32 * 1024;

/**
 * Rows per batch an export reads from the store: a batch is parsed and
 * written in one synchronous step, and at this size all that step allocates
 * fits in V8's young generation (so it dies there).
 */
export const EXPORT_BATCH_ROWS = 1000;

/** A piece of CSV and what it holds. */
export interface CsvChunk {
  bytes: Buffer;
  rows: number;
  unreadable: number;
}

/** The CSV of a page of rows, as chunks of about CSV_CHUNK_CHARS characters (none for an empty page). */
export function csvPage(page: readonly ExportRow[]): CsvChunk[] {
  const out: CsvChunk[] = [];
  let text = '';
  let rows = 0;
  let unreadable = 0;
  for (const e of page) {
    text += csvRow(e as CasefileEvent, EXPORT_COLUMNS);
    rows++;
    if ('unreadable' in e) unreadable++;
    if (text.length >= CSV_CHUNK_CHARS) {
      out.push({ bytes: Buffer.from(text), rows, unreadable });
      text = '';
      rows = unreadable = 0;
    }
  }
  if (rows) out.push({ bytes: Buffer.from(text), rows, unreadable });
  return out;
}

/**
 * CSV pages of stored JSON batches. Each batch is emptied as it is read
 * (`splice`), so the store's generator, suspended on it, no longer holds
 * its rows while the CSV drains.
 */
export async function* storedCsvPages(batches: AsyncIterable<string[]>): AsyncGenerator<CsvChunk[]> {
  for await (const b of batches) yield csvPage(b.splice(0).map((j) => JSON.parse(j) as ExportRow));
}

/** BOM, header, then each page's chunks; `counts` is updated as chunks go out. */
async function* csvBytes(
  pages: AsyncIterable<CsvChunk[]>,
  counts: ExportCounts,
  onRows?: (n: number) => void
): AsyncGenerator<Buffer> {
  yield Buffer.from(CSV_BOM + csvHeader(EXPORT_COLUMNS));
  for await (const page of pages)
    for (const c of page.splice(0)) {
      counts.rows += c.rows;
      counts.unreadable += c.unreadable;
      onRows?.(c.rows);
      yield c.bytes;
    }
}

/** A byte stream of a CSV document, with backpressure. */
export function csvStream(
  pages: AsyncIterable<CsvChunk[]>,
  counts: ExportCounts = { rows: 0, unreadable: 0 },
  onRows?: (n: number) => void
): Readable {
  return Readable.from(csvBytes(pages, counts, onRows), { objectMode: false, highWaterMark: 1 << 16 });
}
