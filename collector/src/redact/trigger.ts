/**
 * The quick test for "a scanner may find something here": one left-to-right
 * pass over the string that looks up each pair of adjacent characters in a
 * table of the patterns' first two characters, and compares the few
 * candidates a hit names. It replaces a 150-way regex alternation (which
 * tried every alternative at every position): the common event, with no
 * hit, costs two table reads per character and allocates nothing.
 */

interface Candidate {
  /** The pattern, lower-case when `fold`. */
  text: string;
  /** Compare ASCII letters case-insensitively. */
  fold: boolean;
}

const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** A set of literal patterns (some case-insensitive) tested for in one pass. */
export class Trigger {
  /** (first char << 7 | second char) -> patterns starting with that pair (ASCII pairs only). */
  private readonly pairs = new Map<number, Candidate[]>();
  private readonly pairTable = new Uint8Array(128 * 128);
  /** ASCII chars that are a pattern of their own (`@`). */
  private readonly single = new Uint8Array(128);
  /** Folded patterns of one letter or with non-ASCII chars (user names in other scripts): a regex of their own, rarely present. */
  private readonly rest?: RegExp;

  /** `folded` patterns match in any case; `exact` ones as written. */
  constructor(folded: Iterable<string>, exact: Iterable<string>) {
    const rest: string[] = [];
    const add = (text: string, fold: boolean) => {
      if (!text) return;
      const a = text.charCodeAt(0);
      if (text.length === 1 && a < 128 && !(fold && isLetter(a))) {
        this.single[a] = 1;
        return;
      }
      if (text.length < 2 || /[^\x00-\x7f]/.test(text)) {
        if (!fold) throw new Error(`exact trigger ${JSON.stringify(text)} must be ASCII`);
        rest.push(text);
        return;
      }
      const b = text.charCodeAt(1);
      const firsts = fold && isLetter(a) ? [a | 32, a & ~32] : [a];
      const seconds = fold && isLetter(b) ? [b | 32, b & ~32] : [b];
      const cand = { text: fold ? text.toLowerCase() : text, fold };
      for (const x of firsts)
        for (const y of seconds) {
          const key = (x << 7) | y;
          this.pairTable[key] = 1;
          this.pairs.set(key, [...(this.pairs.get(key) ?? []), cand]);
        }
    };
    for (const p of folded) add(p, true);
    for (const p of exact) add(p, false);
    if (rest.length)
      this.rest = new RegExp(rest.map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'iu');
  }

  /** Whether any pattern occurs in `s`. Linear: each position costs two table reads, a hit a bounded compare. */
  test(s: string): boolean {
    const n = s.length;
    if (n === 0) return false;
    const { pairTable, single } = this;
    let a = s.charCodeAt(0);
    for (let i = 0; i < n; i++) {
      const b = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (a < 128) {
        if (single[a] === 1) return true;
        if (b < 128 && pairTable[(a << 7) | b] === 1 && this.matchAt(s, i, (a << 7) | b)) return true;
      }
      a = b;
    }
    return this.rest !== undefined && this.rest.test(s);
  }

  private matchAt(s: string, i: number, key: number): boolean {
    for (const { text, fold } of this.pairs.get(key)!) {
      if (i + text.length > s.length) continue;
      let k = 2;
      for (; k < text.length; k++) {
        const c = s.charCodeAt(i + k);
        const t = text.charCodeAt(k);
        if (c !== t && !(fold && isLetter(t) && (c | 32) === t)) break;
      }
      if (k === text.length) return true;
    }
    return false;
  }
}
