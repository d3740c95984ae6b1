/**
 * Masks as half-open spans of one string, applied in one pass. Every scanner
 * only records spans; the string is rebuilt once, so overlapping findings
 * (a token inside a `password=` value) cost nothing extra.
 */

/** What a secret becomes. The name before it (flag, variable, header) is kept. */
export const MASK = '[REDACTED]';
/** What a value becomes when its event ran out of redaction budget. */
export const MASK_BUDGET = '[REDACTED: redaction budget exceeded]';

const CUT = '…[truncated, ';
/**
 * {@link MASK_BUDGET} for `s`, keeping the truncation marker a value cut to
 * the size limit ends with (`…[truncated, N bytes]`): it names a size, not a secret.
 */
export function budgetMask(s: string): string {
  const i = s.lastIndexOf(CUT);
  if (i < 0 || !s.endsWith(']')) return MASK_BUDGET;
  const n = s.slice(i + CUT.length, -1);
  return /^\d{1,12} (?:bytes|args)$/.test(n) ? MASK_BUDGET + s.slice(i) : MASK_BUDGET;
}

/** Collected [start, end) spans of one string. */
export class Spans {
  readonly list: number[] = [];
  add(start: number, end: number): void {
    if (end > start) this.list.push(start, end);
  }
  /** `s` with every span replaced by {@link MASK} (overlapping and adjacent spans merge). */
  apply(s: string): string {
    if (this.list.length === 0) return s;
    const pairs: Array<[number, number]> = [];
    for (let i = 0; i < this.list.length; i += 2) pairs.push([this.list[i], this.list[i + 1]]);
    pairs.sort((a, b) => a[0] - b[0]);
    let out = '';
    let at = 0;
    let cur = pairs[0];
    for (let i = 1; i <= pairs.length; i++) {
      const p = pairs[i];
      if (p && p[0] <= cur[1]) {
        cur = [cur[0], Math.max(cur[1], p[1])];
        continue;
      }
      out += s.slice(at, cur[0]) + MASK;
      at = cur[1];
      cur = p;
    }
    return out + s.slice(at);
  }
}

/** A 128-entry ASCII lookup table for a character class (non-ASCII is never a member). */
export function charClass(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) {
    if (chars[i + 1] === '-' && i + 2 < chars.length) {
      for (let c = chars.charCodeAt(i); c <= chars.charCodeAt(i + 2); c++) t[c] = 1;
      i += 2;
    } else t[chars.charCodeAt(i)] = 1;
  }
  return t;
}

/** Whether the char at `i` of `s` is in class `t`. */
export function inClass(t: Uint8Array, s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c < 128 && t[c] === 1;
}

/** End of the run of class `t` in `s` starting at `i` (at most `max` chars). */
export function runEnd(t: Uint8Array, s: string, i: number, max = Infinity): number {
  const stop = Math.min(s.length, i + max);
  while (i < stop && inClass(t, s, i)) i++;
  return i;
}

export const ALNUM = charClass('A-Za-z0-9');
