/**
 * A shell script split into words, as `sh -c` would see them (quotes, `\`
 * escapes, comments), with each word's span in the script so a masked word
 * can be put back in place. Commands are separated at `;`, `&`, `|`, newlines,
 * parentheses, `$(` and backquotes, so every command inside is checked as its
 * own argv.
 *
 * Linear: one pass; an unterminated quote is taken literally, and once a
 * quote char has been found unterminated no later one of that kind is
 * searched for again (there is no closing one further on either).
 */

import { runEnd } from './spans';

export interface ShellWord {
  /** Offsets of the raw word in the script. */
  start: number;
  end: number;
  /** The word after quote removal. */
  value: string;
  /** The raw word began with this quote char (for re-quoting a masked word). */
  quote?: string;
}

/** One simple command; `pipeTo` is set when it pipes into the next one. */
export interface ShellCommand {
  words: ShellWord[];
  pipeTo: boolean;
}

const SEPARATORS = ';&|()\n`';
const BLANKS = ' \t\r';
const [BLANK, SEPARATOR] = [1, 2];
/** Blank or separator, by char code. */
const KIND = (() => {
  const t = new Uint8Array(128);
  for (const ch of BLANKS) t[ch.charCodeAt(0)] = BLANK;
  for (const ch of SEPARATORS) t[ch.charCodeAt(0)] = SEPARATOR;
  return t;
})();
/** Characters with no meaning to the tokenizer inside a word (everything but blanks, separators, `$`, `\\`, quotes). */
const ORDINARY = (() => {
  const t = new Uint8Array(128).fill(1);
  for (const ch of SEPARATORS + BLANKS + '$\\\'"') t[ch.charCodeAt(0)] = 0;
  return t;
})();

/** Split a script into simple commands; `spent(work)` may stop it early (then the result is partial). */
export function shellCommands(script: string, spent?: (work: number) => boolean): ShellCommand[] {
  const commands: ShellCommand[] = [];
  let words: ShellWord[] = [];
  let value = '';
  let start = -1;
  let quote: string | undefined;
  let noSingle = false;
  let noDouble = false;
  let stop = false;
  const endWord = (end: number) => {
    if (start >= 0) {
      words.push({ start, end, value, quote });
      stop = spent?.(end - start) ?? false;
    }
    start = -1;
    value = '';
    quote = undefined;
  };
  const endCommand = (pipeTo: boolean) => {
    if (words.length) commands.push({ words, pipeTo });
    words = [];
  };
  for (let i = 0; i < script.length && !stop; i++) {
    const code = script.charCodeAt(i);
    const kind = code < 128 ? KIND[code] : 0;
    if (kind === BLANK) {
      endWord(i);
      continue;
    }
    // A run of separators costs its length too (`;;;;` makes no words to charge).
    if (kind === SEPARATOR || (code === 36 /* $ */ && script[i + 1] === '(')) {
      endWord(i);
      const c = script[i];
      const pipe = c === '|' && script[i + 1] !== '|' && script[i - 1] !== '|';
      endCommand(pipe);
      if (c === '$') i++;
      if ((i & 255) === 0) stop = spent?.(256) ?? false;
      continue;
    }
    const c = script[i];
    if (c === '#' && start < 0) {
      const nl = script.indexOf('\n', i);
      i = nl < 0 ? script.length : nl - 1;
      continue;
    }
    if (start < 0) {
      start = i;
      if (c === '"' || c === "'") quote = c;
    }
    if (c === '\\' && i + 1 < script.length) {
      value += script[++i];
      continue;
    }
    if (c === "'" && !noSingle) {
      const close = script.indexOf("'", i + 1);
      if (close >= 0) {
        value += script.slice(i + 1, close);
        i = close;
        continue;
      }
      noSingle = true;
    } else if (c === '"' && !noDouble) {
      // Copy runs between escapes as slices: one pass, no per-character concatenation.
      let j = i + 1;
      let seg = j;
      let inner = '';
      while (j < script.length && script[j] !== '"') {
        if (script[j] === '\\' && j + 1 < script.length && '"\\$`'.includes(script[j + 1])) {
          inner += script.slice(seg, j);
          seg = ++j;
        }
        j++;
      }
      if (j < script.length) {
        value += inner + script.slice(seg, j);
        i = j;
        stop = spent?.(j - seg) ?? false;
        continue;
      }
      noDouble = true;
    }
    // A run of ordinary characters at once.
    const end = runEnd(ORDINARY, script, i + 1);
    value += script.slice(i, end);
    stop = spent?.(end - i) ?? false;
    i = end - 1;
  }
  endWord(script.length);
  endCommand(false);
  return commands;
}

const SAFE = /^[A-Za-z0-9_\-./:=@%+,[\]~^]*$/;

/** A word value written back into a script: as it is when safe, else quoted like the original. */
export function renderWord(value: string, quote?: string): string {
  if (SAFE.test(value)) return value;
  if (quote === '"' && !/["\\$`]/.test(value)) return `"${value}"`;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
