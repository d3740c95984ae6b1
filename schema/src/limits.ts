import type { CasefileEvent } from './event';
import { FIELDS, FIELD_NAMES, fieldSpec, type FieldName, type FieldSpec } from './fields';

/**
 * Size limits. Loki caps a line at 256 KiB and an entry's structured metadata
 * at 64 KiB by default (provisioning/loki/loki.yaml raises the latter to
 * 512 KiB); these limits keep one event well inside both.
 *
 * - any single string value (and the message): {@link MAX_VALUE_BYTES} UTF-8 bytes
 * - `args`: at most {@link MAX_ARGS} entries, each cut like a string value
 */
export const MAX_VALUE_BYTES = 16 * 1024;
export const MAX_ARGS = 256;

/** The visible marker appended to a cut value; it names the original size. */
export function truncationMarker(originalBytes: number): string {
  return `…[truncated, ${originalBytes} bytes]`;
}

const enc = new TextEncoder();

// A UTF-16 code unit is at most 3 UTF-8 bytes: short strings need no encoding to be measured.
const fits = (s: string, max: number) => s.length * 3 <= max || enc.encode(s).length <= max;

/** Cut `s` to at most `max` UTF-8 bytes including the marker, at a code point boundary. */
export function truncateString(s: string, max = MAX_VALUE_BYTES): { value: string; originalBytes?: number } {
  if (s.length * 3 <= max) return { value: s };
  const bytes = enc.encode(s).length;
  if (bytes <= max) return { value: s };
  const marker = truncationMarker(bytes);
  let budget = max - enc.encode(marker).length;
  let out = '';
  for (const ch of s) {
    const n = enc.encode(ch).length;
    if (n > budget) break;
    budget -= n;
    out += ch;
  }
  return { value: out + marker, originalBytes: bytes };
}

/** Whether any value of the event is over its limit (the hot path: most events are not). */
function needsCut(e: CasefileEvent): boolean {
  if (!fits(e.message, MAX_VALUE_BYTES)) return true;
  for (const f in e) {
    const spec = f === 'truncated' ? undefined : fieldSpec(f);
    const v = (e as unknown as Record<string, unknown>)[f];
    if (spec?.kind === 'string' && typeof v === 'string' && !fits(v, MAX_VALUE_BYTES)) return true;
    if (spec?.kind === 'string[]' && Array.isArray(v)) {
      if (v.length > MAX_ARGS || v.some((a) => typeof a === 'string' && !fits(a, MAX_VALUE_BYTES / 4)))
        return true;
    }
  }
  return false;
}

/**
 * Cut every oversized value of an event and record what was cut in
 * `truncated` (`field:original_bytes,...`). Returns a new event, or the event
 * itself when nothing is over a limit.
 *
 * @example truncateEvent({ ...e, commandLine: 'x'.repeat(1 << 20) }).truncated === 'commandLine:1048576'
 */
export function truncateEvent(e: CasefileEvent): CasefileEvent {
  if (!needsCut(e)) return e;
  const out: CasefileEvent = { ...e };
  const cut: string[] = e.truncated ? [e.truncated] : [];
  const m = truncateString(e.message);
  if (m.originalBytes !== undefined) {
    out.message = m.value;
    cut.push(`message:${m.originalBytes}`);
  }
  for (const f of FIELD_NAMES) {
    if (f === 'truncated') continue;
    const v = e[f];
    const kind = (FIELDS[f] as FieldSpec).kind;
    if (kind === 'string' && typeof v === 'string') {
      const t = truncateString(v);
      if (t.originalBytes !== undefined) {
        (out as Record<FieldName, unknown>)[f] = t.value;
        cut.push(`${f}:${t.originalBytes}`);
      }
    } else if (kind === 'string[]' && Array.isArray(v)) {
      let changed = v.length > MAX_ARGS;
      const arr = v.slice(0, MAX_ARGS).map((a) => {
        const t = truncateString(a, Math.floor(MAX_VALUE_BYTES / 4));
        if (t.originalBytes !== undefined) changed = true;
        return t.value;
      });
      if (v.length > MAX_ARGS) arr.push(`…[truncated, ${v.length} args]`);
      if (changed) {
        (out as Record<FieldName, unknown>)[f] = arr;
        cut.push(`${f}:${enc.encode(JSON.stringify(v)).length}`);
      }
    }
  }
  if (cut.length) out.truncated = cut.join(',');
  return out;
}

/**
 * Loki replaces U+FFFD in structured metadata with a space (it cannot tell it
 * from a decoding error), so U+FFFD and invalid bytes are written as visible
 * `\xNN` escapes, and the original bytes are kept in `rawBase64`.
 */
const REPLACEMENT = '\uFFFD';

function escapeInvalidUtf8(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  const esc = (n: number) => {
    for (let k = 0; k < n; k++) out += '\\x' + bytes[i + k].toString(16).padStart(2, '0');
    i += n;
  };
  while (i < bytes.length) {
    const b = bytes[i];
    const len =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0) {
      esc(1);
      continue;
    }
    let ok = i + len <= bytes.length;
    for (let k = 1; ok && k < len; k++) ok = (bytes[i + k] & 0xc0) === 0x80;
    if (ok && len === 3) ok = !(b === 0xe0 && bytes[i + 1] < 0xa0) && !(b === 0xed && bytes[i + 1] >= 0xa0);
    if (ok && len === 4) ok = !(b === 0xf0 && bytes[i + 1] < 0x90) && !(b === 0xf4 && bytes[i + 1] >= 0x90);
    if (!ok) {
      esc(1);
      continue;
    }
    const ch = new TextDecoder().decode(bytes.subarray(i, i + len));
    if (ch === REPLACEMENT) esc(len);
    else {
      out += ch;
      i += len;
    }
  }
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turn raw bytes from the kernel or a runtime into a string field. Valid UTF-8
 * passes through unchanged. Invalid bytes (and U+FFFD) become visible `\xNN`
 * escapes, and the original bytes are kept (base64, capped at
 * {@link MAX_VALUE_BYTES}) in `raw[field]`, so nothing is silently changed.
 *
 * @example decodeBytes('executable', Uint8Array.of(0x2f, 0xff), raw) // => '/\\xff', raw.executable === 'L/8='
 */
export function decodeBytes(field: FieldName, bytes: Uint8Array, raw: Record<string, string>): string {
  let s: string | undefined;
  try {
    s = strictUtf8.decode(bytes);
  } catch {
    s = undefined;
  }
  if (s !== undefined && !s.includes(REPLACEMENT)) return s;
  raw[field] = toBase64(bytes.subarray(0, MAX_VALUE_BYTES));
  return escapeInvalidUtf8(bytes);
}

/**
 * Escape U+FFFD in string fields that did not come through {@link decodeBytes}
 * (Loki would turn it into a space), keeping the original in `rawBase64`.
 */
export function escapeReplacementChars(e: CasefileEvent): CasefileEvent {
  let raw: Record<string, string> | undefined;
  let out: Record<string, unknown> | undefined;
  for (const f in e) {
    const v = (e as unknown as Record<string, unknown>)[f];
    if (f === 'rawBase64' || typeof v !== 'string' || !v.includes(REPLACEMENT) || !fieldSpec(f)) continue;
    out ??= { ...e };
    raw ??= e.rawBase64 ? JSON.parse(e.rawBase64) : {};
    const bytes = new TextEncoder().encode(v);
    raw![f] = toBase64(bytes.subarray(0, MAX_VALUE_BYTES));
    out[f] = escapeInvalidUtf8(bytes);
  }
  if (!out) return e;
  out.rawBase64 = JSON.stringify(raw);
  return out as unknown as CasefileEvent;
}
// btoa exists in browsers and Node alike; Buffer only in Node.
function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}
