/**
 * The forensic package: a zip of events.csv, events.jsonl and manifest.json.
 * The two event files are written once to a private temp dir while being
 * hashed (SHA-256), so the manifest can name their hashes before the zip is
 * streamed; the temp dir is removed when the zip has been sent or aborted.
 *
 * events.jsonl is exactly the stored JSON, one event a line, so its hash
 * equals the snapshot's contentSha256 (pinned and exported bytes match).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import yazl from 'yazl';
import { CSV_BOM, csvHeader, csvRow, nsToIso, type CasefileEvent } from '@casefile/schema';
import type { SnapshotMeta, SnapshotStore } from '../store/store';

export const PACKAGE_FORMAT = 'casefile-forensic-package/1';

export interface PackageContext {
  exportedBy: string;
  /** Loki's version at export time ('unreachable' if Loki did not answer). */
  lokiVersion: string;
  serverVersion: string;
  onRows?: (n: number) => void;
}

/** A hashing file writer that respects the disk's backpressure. */
class HashedFile {
  readonly hash = createHash('sha256');
  bytes = 0;
  private readonly out: WriteStream;
  constructor(readonly path: string) {
    this.out = createWriteStream(path);
  }
  async write(s: string): Promise<void> {
    const b = Buffer.from(s, 'utf8');
    this.hash.update(b);
    this.bytes += b.length;
    if (!this.out.write(b)) await once(this.out, 'drain');
  }
  async close(): Promise<{ sha256: string; bytes: number }> {
    this.out.end();
    await once(this.out, 'finish');
    return { sha256: this.hash.digest('hex'), bytes: this.bytes };
  }
}

/** Build the package of a snapshot; returns the zip as a stream. */
export async function forensicPackage(
  store: SnapshotStore,
  s: SnapshotMeta,
  ctx: PackageContext
): Promise<Readable> {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-package-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const csv = new HashedFile(join(dir, 'events.csv'));
    const jsonl = new HashedFile(join(dir, 'events.jsonl'));
    await csv.write(CSV_BOM + csvHeader());
    let rows = 0;
    for await (const batch of store.eventJson(s.id)) {
      let c = '';
      let j = '';
      for (const line of batch) {
        c += csvRow(JSON.parse(line) as CasefileEvent);
        j += line + '\n';
      }
      await csv.write(c);
      await jsonl.write(j);
      rows += batch.length;
      ctx.onRows?.(batch.length);
    }
    const files = { 'events.csv': await csv.close(), 'events.jsonl': await jsonl.close() };
    const exportedAt = new Date().toISOString();
    const manifest = {
      format: PACKAGE_FORMAT,
      snapshot: { id: s.id, title: s.title, note: s.note, source: s.source, locked: s.locked },
      query: s.query,
      scope: s.scope,
      window: { from: nsToIso(s.fromNs), to: nsToIso(s.toNs), fromNs: s.fromNs, toNs: s.toNs },
      filter: { types: s.types ?? null, search: s.search ?? null },
      counts: { events: rows, byType: await store.countByType(s.id) },
      files,
      contentSha256: s.contentSha256,
      createdBy: ctx.exportedBy,
      createdAt: exportedAt,
      chainOfCustody: [
        {
          action: 'pinned',
          by: s.createdBy,
          at: s.createdAt,
          lokiVersion: s.lokiVersion,
          eventsSha256: s.contentSha256,
        },
        {
          action: 'exported',
          by: ctx.exportedBy,
          at: exportedAt,
          lokiVersion: ctx.lokiVersion,
          serverVersion: ctx.serverVersion,
        },
      ],
    };
    const zip = new yazl.ZipFile();
    zip.addFile(csv.path, 'events.csv');
    zip.addFile(jsonl.path, 'events.jsonl');
    zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), 'manifest.json');
    zip.end();
    const stream = zip.outputStream as Readable;
    stream.once('end', cleanup);
    stream.once('close', cleanup);
    stream.once('error', cleanup);
    return stream;
  } catch (err) {
    cleanup();
    throw err;
  }
}
