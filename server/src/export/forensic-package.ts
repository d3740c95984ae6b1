/**
 * The forensic package: a zip whose manifest.json names the SHA-256 and size
 * of every other file and is signed (Ed25519, manifest.sig) by the server's
 * key. Layout, in this fixed order, every entry with the pin's time as mtime:
 *
 *   README.txt              how to verify, with casefile and with standard tools
 *   manifest.json           every file's hash; the evidence hash; the key id
 *   manifest.sig            Ed25519 signature of manifest.json (64 raw bytes)
 *   public-key.pem          the signing key (compare its id with the server's)
 *   snapshot.json           the pin record (signed into the custody log at pin time)
 *   events.jsonl            the entries, RFC 8785 JSON lines in (time, id) order
 *   streams.jsonl           the Loki stream labels of each entry, line for line
 *   events.csv              the same entries as CSV
 *   custody.jsonl           the snapshot's custody entries, this export last
 *   export.json             this export: who, when, which server, Loki now
 *
 * README.txt, public-key.pem and the four evidence files (EVIDENCE_FILES) are the same bytes in every export
 * of a snapshot; what differs per export is in export.json, custody.jsonl and
 * the manifest. Before anything ships the stored evidence is checked against
 * what was signed at pin time (content hash, pin record, custody chain): a
 * mismatch is an EvidenceMismatchError (409), never a package.
 */
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import yazl from 'yazl';
import { CSV_BOM, csvHeader, csvRow, nsToIso, type CasefileEvent } from '@casefile/schema';
import { checkChain, type CustodyActor, type CustodyEntry } from '../custody/custody-entry';
import type { CustodyRecorder } from '../custody/custody-recorder';
import { canonicalJson, sha256Hex, sortKeys } from '../evidence/canonical';
import { publicUrl } from '../snapshots/snapshot-service';
import { CSV_CHUNK_CHARS, EXPORT_BATCH_ROWS } from './csv-stream';
import type { SnapshotMeta, SnapshotStore } from '../store/store';

export const PACKAGE_FORMAT = 'casefile-forensic-package/2';

/** The evidence files: the same bytes in every export of a snapshot. */
export const EVIDENCE_FILES = ['snapshot.json', 'events.jsonl', 'streams.jsonl', 'events.csv'] as const;

/** Every entry of a package, in zip order. */
export const PACKAGE_FILES = [
  'README.txt',
  'manifest.json',
  'manifest.sig',
  'public-key.pem',
  ...EVIDENCE_FILES,
  'custody.jsonl',
  'export.json',
] as const;

/** Stored evidence no longer matches what was signed when it was pinned. */
export class EvidenceMismatchError extends Error {
  constructor(
    readonly reason: 'content_hash' | 'pin_record' | 'custody_chain',
    message: string
  ) {
    super(message);
    this.name = 'EvidenceMismatchError';
  }
}

export interface PackageContext {
  actor: CustodyActor;
  /** Loki's version at export time ('unreachable' if Loki did not answer). */
  lokiVersion: string;
  lokiUrl: string;
  lokiTenant?: string;
  custody: CustodyRecorder;
  onRows?: (n: number) => void;
}

/**
 * A hashing file writer that respects the disk's backpressure. `add` turns
 * text into Buffers of about CSV_CHUNK_CHARS at once, synchronously, and
 * `flush` writes them: a batch of rows dies young (csv-stream.ts: memory).
 */
class HashedFile {
  readonly hash = createHash('sha256');
  bytes = 0;
  private readonly out: WriteStream;
  private text = '';
  private readonly ready: Buffer[] = [];
  constructor(readonly path: string) {
    this.out = createWriteStream(path);
  }
  add(s: string): void {
    this.text += s;
    if (this.text.length >= CSV_CHUNK_CHARS) this.cut();
  }
  private cut(): void {
    const b = Buffer.from(this.text, 'utf8');
    this.text = '';
    this.hash.update(b);
    this.bytes += b.length;
    this.ready.push(b);
  }
  async flush(): Promise<void> {
    if (this.text) this.cut();
    for (const b of this.ready.splice(0)) if (!this.out.write(b)) await once(this.out, 'drain');
  }
  async close(): Promise<{ sha256: string; bytes: number }> {
    await this.flush();
    this.out.end();
    await once(this.out, 'finish');
    return { sha256: this.hash.digest('hex'), bytes: this.bytes };
  }
}

const pretty = (v: unknown) => Buffer.from(JSON.stringify(sortKeys(v), null, 2) + '\n');
const fileInfo = (b: Buffer) => ({ sha256: sha256Hex(b), bytes: b.length });

/** Every custody entry of a snapshot, in order. */
export async function snapshotCustody(store: SnapshotStore, id: string): Promise<CustodyEntry[]> {
  const all: CustodyEntry[] = [];
  for (;;) {
    const p = await store.custody({ snapshotId: id, limit: 10_000, offset: all.length });
    all.push(...p.items);
    if (!p.items.length || all.length >= p.total) return all;
  }
}

/** The pin record a snapshot pinned before the custody log existed gets, rebuilt from its stored row. */
function rebuiltRecord(s: SnapshotMeta, byType: Record<string, number>) {
  return {
    format: 'casefile-pin-record/1',
    rebuilt:
      'pinned before the custody log: rebuilt at export from the stored snapshot; who, when and what were not signed at pin time',
    snapshot: { id: s.id, title: s.title, note: s.note, source: s.source, alertKey: s.alertKey ?? null },
    pinnedBy: { token: null, grafanaUser: null, name: s.createdBy },
    pinnedAt: s.createdAt,
    loki: { version: s.lokiVersion },
    query: s.query,
    scope: s.scope,
    filter: { types: s.types ?? null, search: s.search ?? null },
    window: {
      from: nsToIso(s.fromNs),
      to: nsToIso(s.toNs),
      fromNs: s.fromNs,
      toNs: s.toNs,
      fromInclusive: true,
      toInclusive: false,
    },
    counts: { events: s.eventCount, unreadable: s.unreadableCount, byType },
    contentSha256: s.contentSha256,
  };
}

function readme(snapshotId: string, title: string, keyId: string): Buffer {
  return Buffer.from(`Casefile forensic package: snapshot ${snapshotId}
Title: ${title}
Signed by key ${keyId}

FILES
  The evidence: the same bytes in every export of this snapshot
  snapshot.json     the pin record: who pinned (token, Grafana user), when (ns), server version
                    and instance, Loki URL, tenant and version, the exact LogQL, the window
                    [from, to) (from inclusive, to exclusive), counts, collector hosts and host ids
  events.jsonl      every entry, one RFC 8785 canonical JSON object a line, in (timeNs, id)
                    order; its SHA-256 is the snapshot's contentSha256
  streams.jsonl     the Loki stream labels each entry came in, line for line
  events.csv        the same entries as CSV (RFC 4180, UTF-8 BOM, formulas neutralised)
  What this export adds
  custody.jsonl     the snapshot's custody log up to this export: hash-chained, each entry signed
  export.json       this export: who, when, which server, Loki's version now
  manifest.json     SHA-256 and size of every other file
  manifest.sig      Ed25519 signature of manifest.json (64 bytes)
  public-key.pem    the public key that signed

VERIFY WITH CASEFILE (offline)
  casefile verify package.zip --key server-key.pem
  (server-key.pem: GET /api/v1/signing-key, or the Casefile app's configuration page;
  without --key the package's own key is used and the verifier says it was not checked)

VERIFY WITH STANDARD TOOLS (OpenSSL 3, coreutils, jq), in the unzipped directory
  1. The signature (use the server's published key instead of public-key.pem to know who signed):
       openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile manifest.sig
     prints "Signature Verified Successfully".
  2. The key id: the hex after "ed25519:" in manifest.json's signingKey.keyId is
       openssl pkey -pubin -in public-key.pem -outform DER | sha256sum
  3. Every file's hash:
       jq -r '.files | to_entries[] | "\\(.value.sha256)  \\(.key)"' manifest.json | sha256sum -c
  4. The content hash:
       sha256sum events.jsonl
     equals contentSha256 in manifest.json, snapshot.json and the first entry of custody.jsonl.
  5. The custody chain (casefile verify does this): each line of custody.jsonl is an entry whose
     "hash" is the SHA-256 of its RFC 8785 form without "hash" and "signature", whose
     "snapshotPrevHash" is the hash of the line before (null for the first), and whose
     "signature" (base64) is Ed25519 over that same canonical text.
`);
}

/** Build the package of a snapshot (recording the export in the custody log); returns the zip as a stream. */
export async function forensicPackage(
  store: SnapshotStore,
  s: SnapshotMeta,
  ctx: PackageContext
): Promise<Readable> {
  const key = ctx.custody.key.info;
  const entries = await snapshotCustody(store, s.id);
  const problems = checkChain(entries, key.publicKeyPem);
  if (problems.length)
    throw new EvidenceMismatchError(
      'custody_chain',
      `snapshot ${s.id}: its custody log no longer verifies (${problems.slice(0, 3).join('; ')}); not exported`
    );
  const pinEntry = entries.find((e) => e.action === 'pin' || e.action === 'auto-pin');
  const byType = await store.countByType(s.id);
  const record =
    (pinEntry?.details.record as Record<string, unknown> | undefined) ?? rebuiltRecord(s, byType);
  const signedHash = pinEntry?.contentSha256 ?? s.contentSha256;
  const w = record.window as { fromNs: string; toNs: string };
  if (
    signedHash !== s.contentSha256 ||
    record.query !== s.query ||
    w.fromNs !== s.fromNs ||
    w.toNs !== s.toNs ||
    (pinEntry && pinEntry.eventCount !== s.eventCount)
  )
    throw new EvidenceMismatchError(
      'pin_record',
      `snapshot ${s.id}: the stored snapshot (hash, query, window or count) differs from what was signed when it was pinned; not exported`
    );

  const dir = mkdtempSync(join(tmpdir(), 'casefile-package-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const csv = new HashedFile(join(dir, 'events.csv'));
    const jsonl = new HashedFile(join(dir, 'events.jsonl'));
    const streams = new HashedFile(join(dir, 'streams.jsonl'));
    csv.add(CSV_BOM + csvHeader());
    let rows = 0;
    for await (const batch of store.evidenceRows(s.id, EXPORT_BATCH_ROWS)) {
      const n = batch.length;
      // Emptied as read, so the store's suspended generator does not hold the rows (csv-stream.ts: memory).
      for (const r of batch.splice(0)) {
        const e = JSON.parse(r.json) as CasefileEvent;
        csv.add(csvRow(e));
        jsonl.add(r.json + '\n');
        streams.add(
          canonicalJson({ id: e.id, timeNs: e.timeNs, stream: r.stream ? JSON.parse(r.stream) : null }) + '\n'
        );
      }
      await csv.flush();
      await jsonl.flush();
      await streams.flush();
      rows += n;
      ctx.onRows?.(n);
    }
    const events = await jsonl.close();
    const files: Record<string, { sha256: string; bytes: number }> = {
      'events.jsonl': events,
      'streams.jsonl': await streams.close(),
      'events.csv': await csv.close(),
    };
    // The evidence itself, recomputed: the bytes must hash to what was signed at pin time.
    if (events.sha256 !== signedHash)
      throw new EvidenceMismatchError(
        'content_hash',
        `snapshot ${s.id}: its stored events hash to ${events.sha256}, not to ${signedHash} as pinned; the store was changed behind the server; not exported`
      );

    const title = (record.snapshot as { title: string }).title;
    const buffers: Record<string, Buffer> = {
      'README.txt': readme(s.id, title, key.keyId),
      'public-key.pem': Buffer.from(key.publicKeyPem),
      'snapshot.json': pretty(record),
    };
    for (const f of ['README.txt', 'public-key.pem', 'snapshot.json']) files[f] = fileInfo(buffers[f]);
    const evidenceSha256 = sha256Hex(
      canonicalJson(Object.fromEntries(EVIDENCE_FILES.map((f) => [f, files[f]])))
    );

    const t = ctx.custody.session();
    const exported = await store.appendCustody(
      ctx.custody.draft('export', s, ctx.actor, { evidenceSha256, rows }),
      t.seal
    );
    t.committed();
    buffers['custody.jsonl'] = Buffer.from(
      [...entries, exported].map((e) => canonicalJson(e) + '\n').join('')
    );
    buffers['export.json'] = pretty({
      format: 'casefile-export/1',
      snapshotId: s.id,
      exportedBy: ctx.actor,
      exportedAt: nsToIso(exported.timeNs),
      exportedAtNs: exported.timeNs,
      server: exported.server,
      loki: { url: publicUrl(ctx.lokiUrl), tenant: ctx.lokiTenant ?? null, version: ctx.lokiVersion },
      locked: s.locked,
      evidenceSha256,
      custody: { entries: entries.length + 1, head: exported.hash, seq: exported.seq },
    });
    for (const f of ['custody.jsonl', 'export.json']) files[f] = fileInfo(buffers[f]);

    const manifest = pretty({
      format: PACKAGE_FORMAT,
      snapshotId: s.id,
      contentSha256: signedHash,
      evidenceSha256,
      evidenceFiles: EVIDENCE_FILES,
      // A summary for readers; the signed pin record itself is snapshot.json.
      query: s.query,
      scope: s.scope,
      counts: { events: s.eventCount, unreadable: s.unreadableCount, byType },
      signingKey: { algorithm: key.algorithm, keyId: key.keyId, file: 'public-key.pem' },
      signature: { file: 'manifest.sig', algorithm: 'Ed25519', over: 'the bytes of manifest.json' },
      files: Object.fromEntries(
        PACKAGE_FILES.filter((f) => f !== 'manifest.json' && f !== 'manifest.sig').map((f) => [f, files[f]])
      ),
    });
    buffers['manifest.json'] = manifest;
    buffers['manifest.sig'] = Buffer.from(ctx.custody.key.sign(manifest), 'base64');

    const zip = new yazl.ZipFile();
    const opts = { mtime: new Date(String(record.pinnedAt)), mode: 0o100644 };
    const onDisk: Record<string, string> = {
      'events.jsonl': jsonl.path,
      'streams.jsonl': streams.path,
      'events.csv': csv.path,
    };
    for (const f of PACKAGE_FILES)
      if (onDisk[f]) zip.addFile(onDisk[f], f, opts);
      else zip.addBuffer(buffers[f], f, opts);
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
