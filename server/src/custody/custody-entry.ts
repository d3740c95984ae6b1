/**
 * One entry of the custody log and how it is sealed and checked.
 *
 * Every custody action (pin, auto-pin, export, lock, unlock, delete, evict) is
 * an entry naming the acting token and Grafana user, the time in ns, the
 * snapshot's id, content hash and event count. Entries are hash-chained twice:
 * `prevHash` links to the previous entry of the whole log (the store's order,
 * `seq`), `snapshotPrevHash` to the previous entry of the same snapshot (what
 * a package carries). `hash` is SHA-256 of the entry's RFC 8785 form without
 * `hash` and `signature`; `signature` is the server key's Ed25519 signature of
 * that same canonical text. Changing, dropping or inserting an entry breaks a
 * hash, a link or a signature; writing a valid one needs the private key.
 */
import { canonicalJson, sha256Hex } from '../evidence/canonical';
import { verifySignature, type SigningKey } from '../evidence/signing-key';

export const CUSTODY_FORMAT = 'casefile-custody/1';

export const CUSTODY_ACTIONS = ['pin', 'auto-pin', 'export', 'lock', 'unlock', 'delete', 'evict'] as const;
export type CustodyAction = (typeof CUSTODY_ACTIONS)[number];

/** Who acted: the token that authenticated, and the Grafana user its X-Grafana-User named (Grafana's token only). */
export interface CustodyActor {
  token: string;
  grafanaUser: string | null;
}

/** What the caller knows of an entry; the log adds sequence, links, hash and signature. */
export interface CustodyDraft {
  action: CustodyAction;
  snapshotId: string;
  actor: CustodyActor;
  /** ns since epoch, decimal. */
  timeNs: string;
  contentSha256: string;
  eventCount: number;
  title: string;
  /** Action-specific facts (the pin record, an export's evidence hash, the tombstone's lock state...). */
  details: Record<string, unknown>;
  /** Server version and instance that wrote it. */
  server: { version: string; instance: string };
}

export interface CustodyEntry extends CustodyDraft {
  format: typeof CUSTODY_FORMAT;
  /** Position in the whole log, from 1. */
  seq: number;
  /** Hash of the log's previous entry (null for the first). */
  prevHash: string | null;
  /** Hash of this snapshot's previous entry (null for its first). */
  snapshotPrevHash: string | null;
  keyId: string;
  hash: string;
  signature: string;
}

/** The links the store found for a new entry. */
export interface CustodyLinks {
  seq: number;
  prevHash: string | null;
  snapshotPrevHash: string | null;
}

/** Seals drafts with the server key (the store calls it inside its transaction, with the links it read there). */
export type CustodySealer = (draft: CustodyDraft, links: CustodyLinks) => CustodyEntry;

/** The canonical text that is hashed and signed: the entry without `hash` and `signature`. */
export function signedText(e: Omit<CustodyEntry, 'hash' | 'signature'> & Partial<CustodyEntry>): string {
  const { hash: _h, signature: _s, ...body } = e;
  return canonicalJson(body);
}

export function custodySealer(key: SigningKey): CustodySealer {
  return (draft, links) => {
    const body = { ...draft, format: CUSTODY_FORMAT, ...links, keyId: key.info.keyId } as const;
    const text = signedText(body);
    return { ...body, hash: sha256Hex(text), signature: key.sign(text) };
  };
}

/** Problems of one snapshot's entries (or of the whole log with `whole`), in words; empty when the chain holds. */
export function checkChain(
  entries: readonly CustodyEntry[],
  publicKeyPem: string,
  opts: { whole?: boolean } = {}
): string[] {
  const problems: string[] = [];
  let prev: CustodyEntry | undefined;
  for (const e of entries) {
    const where = `custody entry ${e.seq} (${e.action})`;
    let text: string;
    try {
      text = signedText(e);
    } catch (err) {
      problems.push(`${where}: not JSON-canonicalisable: ${(err as Error).message}`);
      continue;
    }
    if (e.format !== CUSTODY_FORMAT) problems.push(`${where}: unknown format ${JSON.stringify(e.format)}`);
    if (sha256Hex(text) !== e.hash) problems.push(`${where}: its hash does not match its content`);
    if (!verifySignature(publicKeyPem, text, e.signature))
      problems.push(`${where}: its signature is not the signing key's`);
    const link = opts.whole ? e.prevHash : e.snapshotPrevHash;
    const want = prev ? prev.hash : null;
    if (link !== want) problems.push(`${where}: does not link to the entry before it`);
    if (opts.whole ? e.seq !== (prev ? prev.seq + 1 : 1) : prev && e.seq <= prev.seq)
      problems.push(`${where}: out of sequence`);
    prev = e;
  }
  return problems;
}
