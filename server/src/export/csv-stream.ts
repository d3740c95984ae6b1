/**
 * Streaming CSV through schema's writer (BOM, header, csvRow per event).
 * Generators yield one chunk per page, and Readable.from pulls the next page
 * only when the socket has drained the last: backpressure reaches Loki or the
 * store, so an export of any size holds one page in memory.
 */
import { Readable } from 'node:stream';
import { CSV_BOM, csvHeader, csvRow, type CasefileEvent } from '@casefile/schema';

/** CSV text chunks for pages of events; `onRows` counts rows as they go. */
export async function* csvChunks(
  pages: AsyncIterable<CasefileEvent[]>,
  onRows?: (n: number) => void
): AsyncGenerator<string> {
  yield CSV_BOM + csvHeader();
  for await (const page of pages) {
    let chunk = '';
    for (const e of page) chunk += csvRow(e);
    onRows?.(page.length);
    yield chunk;
  }
}

/** Parse stored JSON batches into event pages. */
export async function* parsedPages(batches: AsyncIterable<string[]>): AsyncGenerator<CasefileEvent[]> {
  for await (const b of batches) yield b.map((j) => JSON.parse(j) as CasefileEvent);
}

/** A byte stream of a CSV document, with backpressure. */
export function csvStream(pages: AsyncIterable<CasefileEvent[]>, onRows?: (n: number) => void): Readable {
  return Readable.from(csvChunks(pages, onRows), { objectMode: false, highWaterMark: 1 << 16 });
}
