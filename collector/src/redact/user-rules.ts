/**
 * Rules users add in the collector's YAML config (`redact:` section). User
 * patterns run on every argument of every event, i.e. on attacker-chosen
 * text, so they are compiled with RE2 (no backtracking: linear time whatever
 * the pattern), never with JavaScript's RegExp.
 */
import RE2 from 're2';
import type { Spans } from './spans';

/** The `redact` section of the collector config. */
export interface RedactConfig {
  /** Mask secrets before anything leaves the node. Default true. */
  enabled: boolean;
  /** Redaction time per event; past it, what is left is masked whole (and counted). Default 0.4 ms. */
  budgetMs?: number;
  /** Extra secret names for `NAME=value`, `"name": value` and `--name value` (case-insensitive, whole names). */
  names?: string[];
  /** Extra secret flags, exact (`--vault-secret`, `-X`): the value after them is masked. */
  flags?: string[];
  /** RE2 patterns: every match is masked (only group 1 when the pattern has a group). */
  patterns?: string[];
  /** RE2 patterns: a candidate secret, or the name it belongs to, that matches one stays visible. */
  allow?: string[];
}

/**
 * Compile one user pattern; throws an Error naming the pattern when RE2 cannot.
 *
 * @example compileUserPattern('acme_[a-z0-9]{32}').test('x acme_…')
 */
export function compileUserPattern(p: string, flags = 'u'): RE2 {
  if (typeof p !== 'string' || !p)
    throw new Error(`expected a non-empty pattern string, got ${JSON.stringify(p)}`);
  try {
    return new RE2(p, flags);
  } catch (err) {
    throw new Error(`pattern ${JSON.stringify(p)} is not valid RE2 syntax: ${(err as Error).message}`);
  }
}

/** The user patterns as a matcher: one combined test, then each pattern's matches as spans. */
export function userPatterns(
  patterns: readonly string[]
): { test(s: string): boolean; find(s: string, spans: Spans): void } | undefined {
  if (!patterns.length) return undefined;
  const each = patterns.map((p) => compileUserPattern(p, 'gu'));
  const any = compileUserPattern(patterns.map((p) => `(?:${p})`).join('|'));
  return {
    test: (s) => any.test(s),
    find(s, spans) {
      for (const re of each) {
        re.lastIndex = 0;
        for (let m = re.exec(s); m; m = re.exec(s)) {
          const g = m[1];
          const at = g === undefined ? m.index : m.index + m[0].indexOf(g);
          spans.add(at, at + (g ?? m[0]).length);
          if (m[0].length === 0) re.lastIndex++;
        }
      }
    },
  };
}

/** The allow-list as a predicate over a candidate and its name. */
export function allowList(
  patterns: readonly string[]
): ((candidate: string, name?: string) => boolean) | undefined {
  if (!patterns.length) return undefined;
  const re = compileUserPattern(patterns.map((p) => `(?:${p})`).join('|'));
  return (candidate, name) =>
    (candidate !== '' && re.test(candidate)) || (name !== undefined && re.test(name));
}
