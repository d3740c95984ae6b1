/**
 * The record format every probe fragment (probes/*.bt) prints, and its
 * parser. bpftrace runs with `-f json`, so each output line is
 * `{"type":"printf","data":"..."}`; a probe prints ONE printf per event:
 *
 *   {"kind":"<kind>",<numeric fields>}\x1f<string 1>\x1f<string 2>...\n
 *
 * - the head is a JSON object of numbers only (plus "kind");
 * - string fields follow, each after a \x1f separator, in the order the
 *   kind's parser declares (see parsers.ts). Every string field that may
 *   hold arbitrary bytes must be printed with `%r` of a `buf()` (bpftrace
 *   escapes it: `\\` is a backslash, `\xNN` a byte), except the LAST field,
 *   which may be a raw `%s` (it is everything after the last separator the
 *   parser expects, so a \x1f inside it cannot shift fields).
 *
 * bpftrace writes raw bytes inside its JSON strings, so lines are decoded as
 * latin1 (one char per byte) and string fields turned back into bytes: invalid
 * UTF-8 survives to schema's decodeBytes(). bpftrace 0.17 escapes a byte
 * >= 0x80 in a `%s` field as `\uffffffNN` (a sign-extended char); that is
 * repaired to `\u00NN` before JSON parsing ({@link repairBpftraceJson}).
 */

// An unescaped backslash (even run of backslashes before it) followed by uffffffNN.
const SIGN_EXTENDED = /(?<!\\)((?:\\\\)*)\\uffffff([0-9a-fA-F]{2})/g;

/**
 * Undo bpftrace's sign-extended escapes of high bytes in JSON strings.
 * @example repairBpftraceJson('"a\\uffffffff"') // => '"a\\u00ff"'
 */
export function repairBpftraceJson(line: string): string {
  return line.includes('\\uffffff') ? line.replace(SIGN_EXTENDED, '$1\\u00$2') : line;
}

/** One parsed probe record. */
export interface ProbeRecord {
  kind: string;
  /** Numeric head fields (`t` is bpftrace's nsecs, CLOCK_MONOTONIC). */
  num: Record<string, number>;
  /** String fields as raw bytes, by the names the kind's parser declares. */
  str: Record<string, Uint8Array>;
}

/** What one bpftrace output line is. */
export type BpftraceLine =
  | { type: 'record'; kind: string; head: Record<string, number>; fields: string[] }
  | { type: 'lost'; events: number }
  | { type: 'attached'; probes: number }
  | { type: 'other' }
  | { type: 'malformed'; reason: string };

const SEP = '\x1f';

/**
 * Parse one line of `bpftrace -f json` output (decoded as latin1). String
 * fields stay undecoded (`fields`, still latin1 and %r-escaped as printed);
 * {@link toRecord} splits them by the kind's declared names.
 */
export function parseBpftraceLine(line: string): BpftraceLine {
  let o: { type?: unknown; data?: unknown };
  try {
    o = JSON.parse(repairBpftraceJson(line));
  } catch {
    return { type: 'malformed', reason: 'not JSON' };
  }
  if (!o || typeof o !== 'object') return { type: 'malformed', reason: 'not an object' };
  if (o.type === 'lost_events') {
    const n = Number((o.data as { events?: unknown } | undefined)?.events);
    return Number.isFinite(n)
      ? { type: 'lost', events: n }
      : { type: 'malformed', reason: 'lost_events without a count' };
  }
  if (o.type === 'attached_probes')
    return { type: 'attached', probes: Number((o.data as { probes?: unknown })?.probes) || 0 };
  if (o.type !== 'printf') return { type: 'other' };
  if (typeof o.data !== 'string') return { type: 'malformed', reason: 'printf without data' };
  let data = o.data;
  if (data.endsWith('\n')) data = data.slice(0, -1);
  const cut = data.indexOf(SEP);
  const headText = cut < 0 ? data : data.slice(0, cut);
  let head: Record<string, unknown>;
  try {
    head = JSON.parse(headText);
  } catch {
    return { type: 'malformed', reason: 'record head is not JSON' };
  }
  if (!head || typeof head !== 'object' || typeof head.kind !== 'string')
    return { type: 'malformed', reason: 'record without kind' };
  const nums: Record<string, number> = {};
  for (const [k, v] of Object.entries(head)) {
    if (k === 'kind') continue;
    if (typeof v !== 'number' || !Number.isFinite(v))
      return { type: 'malformed', reason: `head field ${k} is not a number` };
    nums[k] = v;
  }
  return { type: 'record', kind: head.kind, head: nums, fields: cut < 0 ? [] : [data.slice(cut + 1)] };
}

/**
 * Split a record's string part into the declared fields. All but the last
 * are `%r`-escaped; the last is either (`lastRaw`) or raw bytes. Returns null
 * when fewer fields arrived than declared.
 */
export function toRecord(
  line: Extract<BpftraceLine, { type: 'record' }>,
  names: readonly string[],
  lastRaw: boolean
): ProbeRecord | null {
  const str: Record<string, Uint8Array> = {};
  let rest = line.fields[0];
  if (names.length > 0 && rest === undefined) return null;
  for (let i = 0; i < names.length; i++) {
    const last = i === names.length - 1;
    let piece: string;
    if (last) piece = rest;
    else {
      const cut = rest.indexOf(SEP);
      if (cut < 0) return null;
      piece = rest.slice(0, cut);
      rest = rest.slice(cut + 1);
    }
    str[names[i]] = last && lastRaw ? latin1Bytes(piece) : unescapeR(piece);
  }
  return { kind: line.kind, num: line.head, str };
}

function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'));
}

/**
 * Undo bpftrace's `%r` escaping: `\xNN` -> byte NN. bpftrace 0.17 does NOT
 * escape a backslash, so a literal `\x41` typed into an argument reads the
 * same as an escaped byte; `escapes` counts the `\xNN` sequences so a caller
 * that knows the true byte count can tell ({@link argvAmbiguous}).
 * @example unescapeR('a\\x00b') // => bytes 61 00 62
 */
export function unescapeR(s: string): Uint8Array & { escapes?: number } {
  const out = new Uint8Array(s.length);
  let n = 0;
  let escapes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c && s[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      out[n++] = parseInt(s.slice(i + 2, i + 4), 16);
      escapes++;
      i += 3;
    } else out[n++] = c & 0xff;
  }
  return Object.assign(out.subarray(0, n), { escapes });
}

/**
 * Whether a `%r` field decoded to `decoded` bytes (with `escapes` `\xNN`
 * sequences) may hold literal `\xNN` text: the kernel copied `rawBytes`
 * bytes, and every sequence that was literal text adds 3 to that count.
 */
export function argvAmbiguous(decodedBytes: number, escapes: number, rawBytes: number): boolean {
  return escapes > 0 && decodedBytes !== rawBytes;
}
