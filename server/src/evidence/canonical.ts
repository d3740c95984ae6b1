/**
 * The canonical form of evidence: RFC 8785 (JSON Canonicalization Scheme,
 * the `canonicalize` package): object keys sorted by UTF-16 code units, no
 * whitespace, ECMAScript number and string serialisation. A snapshot's
 * content hash is SHA-256 over its entries' canonical JSON, one per line
 * ("\n" after each), in (timeNs as a number, id) order — so it does not
 * depend on the order Loki returns labels in and anyone holding the events
 * can recompute it.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** RFC 8785 JSON of a value; throws on what JSON cannot hold (NaN, cycles, lone surrogates). */
export function canonicalJson(v: unknown): string {
  const s = canonicalize(v);
  if (s === undefined) throw new Error('value has no JSON form');
  return s;
}

/** A copy of a JSON value with every object's keys in canonical order (JSON.stringify of it is its RFC 8785 form). */
export function sortKeys<T>(v: T): T {
  if (Array.isArray(v)) return v.map(sortKeys) as T;
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = sortKeys(x);
  }
  return out as T;
}

/** SHA-256 (hex) of bytes or a UTF-8 string. */
export function sha256Hex(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Order of entries in a snapshot: time (ns, numerically), then id. */
export function compareEntries(a: { timeNs: string; id: string }, b: { timeNs: string; id: string }): number {
  if (a.timeNs !== b.timeNs)
    return a.timeNs.length !== b.timeNs.length
      ? a.timeNs.length - b.timeNs.length
      : a.timeNs < b.timeNs
        ? -1
        : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
