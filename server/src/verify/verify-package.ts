/**
 * Offline verification of a forensic package (no network, no server): the
 * signature of manifest.json, every file's hash and size, the evidence in
 * canonical form and order hashing to the signed content hash, the pin record
 * signed into the custody log at pin time, and the custody chain (hashes,
 * links, signatures) up to this export. What was checked is said in words;
 * any problem fails the whole package.
 */
import yauzl from 'yauzl';
import { checkChain, type CustodyEntry } from '../custody/custody-entry';
import { canonicalJson, compareEntries, sha256Hex } from '../evidence/canonical';
import { publicKeyInfo, verifySignature, type PublicKeyInfo } from '../evidence/signing-key';
import { EVIDENCE_FILES, PACKAGE_FILES, PACKAGE_FORMAT } from '../export/forensic-package';

export interface VerifyReport {
  /** No problem found. */
  ok: boolean;
  /** The signature was checked against a key the caller trusts (--key), not only the package's own. */
  trustedKey: boolean;
  /** What was verified, one sentence each. */
  verified: string[];
  problems: string[];
}

/** Largest package file read into memory (a zip bomb stops here). */
const MAX_ENTRY_BYTES = 4 * 2 ** 30;

/** Every file of a zip: name -> bytes. Refuses duplicate names and paths that leave the package. */
export function readZip(buf: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('not a zip'));
      const out = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        if (out.has(entry.fileName)) return reject(new Error(`the zip holds ${entry.fileName} twice`));
        if (entry.uncompressedSize > MAX_ENTRY_BYTES)
          return reject(new Error(`${entry.fileName} is larger than ${MAX_ENTRY_BYTES} bytes`));
        zip.openReadStream(entry, (e, s) => {
          if (e || !s) return reject(e);
          const chunks: Buffer[] = [];
          s.on('data', (c: Buffer) => chunks.push(c));
          s.on('end', () => {
            out.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
          s.on('error', reject);
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

const lines = (b: Buffer) => {
  const t = b.toString('utf8');
  return t === ''
    ? []
    : t.endsWith('\n')
      ? t.slice(0, -1).split('\n')
      : [...t.split('\n'), '\u0000unterminated'];
};

/** Parse a JSON line that must already be in RFC 8785 form. */
function canonicalLine(line: string, where: string, problems: string[]): any {
  try {
    const v = JSON.parse(line);
    if (canonicalJson(v) !== line) problems.push(`${where}: not in canonical (RFC 8785) form`);
    return v;
  } catch {
    problems.push(`${where}: not JSON`);
    return undefined;
  }
}

const who = (a: { token?: string | null; grafanaUser?: string | null; name?: string } | undefined) =>
  !a
    ? 'someone unnamed'
    : a.grafanaUser
      ? `Grafana user ${a.grafanaUser} (token ${a.token})`
      : a.token
        ? `token ${a.token}`
        : (a.name ?? 'someone unnamed');

/** Verify the files of a package; `trustedKeyPem` is the server's published key (recommended). */
export function verifyPackage(
  files: Map<string, Buffer>,
  opts: { trustedKeyPem?: string } = {}
): VerifyReport {
  const verified: string[] = [];
  const problems: string[] = [];
  try {
    check(files, opts, verified, problems);
  } catch (err) {
    // A file shaped unlike the format (a field missing, a wrong type): a failure, never a crash.
    problems.push(`the package does not have the format's shape: ${(err as Error).message}`);
  }
  return { ok: problems.length === 0, trustedKey: !!opts.trustedKeyPem, verified, problems };
}

function check(
  files: Map<string, Buffer>,
  opts: { trustedKeyPem?: string },
  verified: string[],
  problems: string[]
): void {
  // 1. The set of files.
  const missing = PACKAGE_FILES.filter((f) => !files.has(f));
  const extra = [...files.keys()].filter((f) => !(PACKAGE_FILES as readonly string[]).includes(f));
  if (missing.length) problems.push(`files missing: ${missing.join(', ')}`);
  if (extra.length) problems.push(`files the format does not have: ${extra.join(', ')}`);
  if (
    missing.includes('manifest.json') ||
    missing.includes('manifest.sig') ||
    missing.includes('public-key.pem')
  )
    return;

  // 2. Who signed, and the signature.
  let key: PublicKeyInfo;
  let packageKey: PublicKeyInfo | undefined;
  try {
    packageKey = publicKeyInfo(files.get('public-key.pem')!.toString('utf8'));
  } catch (err) {
    problems.push(`public-key.pem is not an Ed25519 public key: ${(err as Error).message}`);
  }
  if (opts.trustedKeyPem) {
    key = publicKeyInfo(opts.trustedKeyPem);
    if (packageKey && packageKey.keyId !== key.keyId)
      problems.push(`the package carries key ${packageKey.keyId}, not the trusted key ${key.keyId}`);
  } else if (packageKey) key = packageKey;
  else return;
  const manifestBytes = files.get('manifest.json')!;
  const sig = files.get('manifest.sig')!;
  // A bad signature fails the package; the checks go on, to say what else changed.
  if (sig.length !== 64 || !verifySignature(key.publicKeyPem, manifestBytes, sig.toString('base64')))
    problems.push(`manifest.sig is not a signature of manifest.json by ${key.keyId}`);
  else
    verified.push(
      opts.trustedKeyPem
        ? `manifest.json is signed (Ed25519) by the trusted key ${key.keyId}.`
        : `manifest.json is signed (Ed25519) by the package's own key ${key.keyId}; NOT checked against a trusted key (pass --key with the server's published key).`
    );

  // 3. Every file's hash and size.
  let manifest: any;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8'));
  } catch {
    problems.push('manifest.json is not JSON');
    return;
  }
  if (manifest.format !== PACKAGE_FORMAT)
    problems.push(`unknown package format ${JSON.stringify(manifest.format)}`);
  if (manifest.signingKey?.keyId !== key.keyId)
    problems.push(`the manifest names key ${manifest.signingKey?.keyId}, not ${key.keyId}`);
  const listed = PACKAGE_FILES.filter((f) => f !== 'manifest.json' && f !== 'manifest.sig');
  let good = 0;
  for (const f of listed) {
    const m = manifest.files?.[f];
    const b = files.get(f);
    if (!m) problems.push(`the manifest does not cover ${f}`);
    else if (b && (sha256Hex(b) !== m.sha256 || b.length !== m.bytes))
      problems.push(`${f} does not match its SHA-256 and size in the manifest`);
    else if (b) good++;
  }
  if (Object.keys(manifest.files ?? {}).length !== listed.length)
    problems.push('the manifest lists files the package format does not have');
  if (good === listed.length)
    verified.push(`All ${good} files match their SHA-256 and size in the signed manifest.`);
  const evidenceSha256 = sha256Hex(
    canonicalJson(Object.fromEntries(EVIDENCE_FILES.map((f) => [f, manifest.files?.[f]])))
  );
  if (evidenceSha256 !== manifest.evidenceSha256)
    problems.push('the evidence hash does not match the evidence files');
  if (missing.length) return;

  // 4. The pin record and the evidence.
  let record: any;
  try {
    record = JSON.parse(files.get('snapshot.json')!.toString('utf8'));
  } catch {
    problems.push('snapshot.json is not JSON');
    return;
  }
  const id = manifest.snapshotId;
  if (record.snapshot?.id !== id)
    problems.push(`the pin record is of snapshot ${record.snapshot?.id}, not ${id}`);
  const events = lines(files.get('events.jsonl')!);
  const streams = lines(files.get('streams.jsonl')!);
  let prev: { timeNs: string; id: string } | undefined;
  let unreadable = 0;
  let bad = 0;
  for (let i = 0; i < events.length; i++) {
    const where = `events.jsonl line ${i + 1}`;
    const n = problems.length;
    const e = canonicalLine(events[i], where, problems);
    const st =
      streams[i] === undefined
        ? undefined
        : canonicalLine(streams[i], `streams.jsonl line ${i + 1}`, problems);
    if (e) {
      if (typeof e.timeNs !== 'string' || !/^\d+$/.test(e.timeNs) || typeof e.id !== 'string')
        problems.push(`${where}: no timeNs and id`);
      else if (prev && compareEntries(prev, e) > 0) problems.push(`${where}: out of (time, id) order`);
      else prev = e;
      if ('unreadable' in e) unreadable++;
      if (st && (st.id !== e.id || st.timeNs !== e.timeNs))
        problems.push(`streams.jsonl line ${i + 1}: not the stream of the event on that line`);
    }
    if (problems.length > n && ++bad >= 20) {
      problems.push('events.jsonl: more problems not listed');
      break;
    }
  }
  if (streams.length !== events.length)
    problems.push(`streams.jsonl has ${streams.length} lines for ${events.length} entries`);
  const content = sha256Hex(files.get('events.jsonl')!);
  if (content !== record.contentSha256 || content !== manifest.contentSha256)
    problems.push(`the content hash ${content} of events.jsonl is not the pinned ${record.contentSha256}`);
  const counted = (record.counts?.events ?? NaN) + (record.counts?.unreadable ?? NaN);
  if (counted !== events.length || record.counts?.unreadable !== unreadable)
    problems.push(`the pin record counts ${counted} entries, events.jsonl holds ${events.length}`);
  if (!bad && content === record.contentSha256 && counted === events.length)
    verified.push(
      `The evidence: ${events.length - unreadable} events and ${unreadable} entries that are not Casefile events, each in canonical JSON, in (time, id) order, each with its stream labels; their content hash ${content} is the one snapshot.json and the manifest name.`
    );
  const w = record.window ?? {};
  const pinnedBy = `Pinned by ${who(record.pinnedBy)} at ${record.pinnedAt}${record.server ? ` on server ${record.server.instance} (casefile-server ${record.server.version})` : ''}, from Loki ${record.loki?.url ?? '(not recorded)'}${record.loki?.tenant ? ` tenant ${record.loki.tenant}` : ''} (version ${record.loki?.version}); LogQL ${record.query}; window ${w.fromInclusive ? '[' : '('}${w.from}, ${w.to}${w.toInclusive ? ']' : ')'}; collectors: ${(record.collectors ?? []).map((c: any) => `${c.host ?? '?'} (host id ${c.hostId ?? 'none'}, ${c.events} entries)`).join(', ') || 'none recorded'}.`;

  // 5. The custody chain.
  const custody: CustodyEntry[] = lines(files.get('custody.jsonl')!)
    .map((l, i) => canonicalLine(l, `custody.jsonl line ${i + 1}`, problems))
    .filter(Boolean);
  const chain = checkChain(custody, key.publicKeyPem);
  problems.push(...chain);
  if (custody.some((e) => e.snapshotId !== id))
    problems.push('custody.jsonl holds entries of another snapshot');
  const first = custody[0];
  if (record.rebuilt) {
    verified.push(
      'The pin record was rebuilt at export (snapshot pinned before the custody log): who and when were not signed at pin time.'
    );
    verified.push(pinnedBy);
  } else if (
    !first ||
    (first.action !== 'pin' && first.action !== 'auto-pin') ||
    first.snapshotPrevHash !== null
  )
    problems.push('custody.jsonl does not start with the pin');
  else if (canonicalJson(first.details.record) !== canonicalJson(record) || first.contentSha256 !== content)
    problems.push('snapshot.json is not the pin record signed into the custody log at pin time');
  else if (!chain.length)
    verified.push(
      `snapshot.json is the pin record signed into the custody log when the snapshot was pinned. ${pinnedBy}`
    );
  const last = custody[custody.length - 1];
  let exp: any;
  try {
    exp = JSON.parse(files.get('export.json')!.toString('utf8'));
  } catch {
    problems.push('export.json is not JSON');
  }
  const endsWithExport = last?.action === 'export' && last.details.evidenceSha256 === manifest.evidenceSha256;
  if (!endsWithExport) problems.push('custody.jsonl does not end with this export');
  else if (
    exp &&
    (exp.custody?.head !== last.hash || canonicalJson(exp.exportedBy) !== canonicalJson(last.actor))
  )
    problems.push('export.json is not the export recorded last in custody.jsonl');
  if (!chain.length && last?.action === 'export')
    verified.push(
      `The custody log: ${custody.length} entries, each hash-chained to the one before and signed: ${custody
        .map(
          (e) =>
            `${e.action} by ${who(e.actor)} at ${new Date(Number(BigInt(e.timeNs) / 1_000_000n)).toISOString()}`
        )
        .join('; ')}.`
    );
  if (exp && endsWithExport && !problems.some((p) => p.startsWith('export.json')))
    verified.push(
      `Exported by ${who(exp.exportedBy)} at ${exp.exportedAt} on server ${exp.server?.instance} (casefile-server ${exp.server?.version}); Loki version then ${exp.loki?.version}.`
    );
}
