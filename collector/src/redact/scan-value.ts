/**
 * Secrets inside one string (an argument, a shell word, a header value, a
 * JSON body): `NAME=value` wherever it appears, `"name": "value"` and
 * `Name: value` pairs, URL userinfo, known token formats and private keys.
 *
 * Every scanner moves left to right and never revisits what it has passed:
 * names are read backwards from a `=` or `:` only as far as the previous
 * delimiter, so the whole scan is linear in the length of the string.
 */
import { isSecretName } from './names';
import { Spans, charClass, inClass, runEnd } from './spans';
import { findPrivateKeys, findTokens } from './tokens';

/** What the caller knows beyond the built-in rules (user names and allow patterns). */
export interface ScanOptions {
  /** User-configured secret names, lower-case. */
  names?: ReadonlySet<string>;
  /** Whether a candidate (or its name) is allow-listed and stays visible. */
  allowed?: (candidate: string, name?: string) => boolean;
  /** The event's budget: scanners stop once it is spent (the caller then masks the whole string). */
  budget?: { spend(work: number): boolean };
}

const NAME_CHARS = charClass('A-Za-z0-9_.-');
/** Where an embedded value ends (`a=1&b=2`, `user=x,password=y`, `k=v; k2=v2`). */
const VALUE_END = charClass(' \t\n\r&;,\'"<>');
/** Where a value after `:` ends (JSON, YAML, headers). */
const COLON_VALUE_END = charClass(' \t\n\r,;}\\]\'"');
const AUTHORITY_END = charClass('/? \t\n\r\'"<>\\');
const SCHEME_CHARS = charClass('A-Za-z0-9+.-');
const SPACE = charClass(' \t');
const LETTERS = charClass('A-Za-z0-9-');
/** HTTP auth schemes kept visible before the credential. */
const AUTH_SCHEMES = new Set([
  'bearer',
  'basic',
  'token',
  'digest',
  'negotiate',
  'ntlm',
  'apikey',
  'aws4-hmac-sha256',
  'hawk',
  'sso-key',
]);
/** Header names whose value is a credential although the name has no secret word. */
const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-goog-api-key',
]);

/** Names whose value is usually a file holding the credentials, not the credentials. */
const CREDENTIAL_FILE = /(?:^|[-_.])cred(?:ential)?s?$/i;
/** SQL that sets a password: `PASSWORD 'x'`, `IDENTIFIED BY 'x'`, `PASSWORD('x')`. Bounded repeats only. */
const SQL_PASSWORD = /(?:password|identified[ \t]{1,4}by)[ \t]{0,4}=?[ \t]{0,4}\(?[ \t]{0,4}(['"])/gi;

/** The quoted password of SQL statements (`ALTER USER app PASSWORD 'x'`, `CREATE USER … IDENTIFIED BY 'x'`). */
export function findSqlPasswords(s: string, spans: Spans, o: ScanOptions): void {
  SQL_PASSWORD.lastIndex = 0;
  for (let m = SQL_PASSWORD.exec(s); m; m = SQL_PASSWORD.exec(s)) {
    const vs = SQL_PASSWORD.lastIndex;
    const close = s.indexOf(m[1], vs);
    const ve = close < 0 ? s.length : close;
    if (ve > vs && !o.allowed?.(s.slice(vs, ve), 'password')) spans.add(vs, ve);
    SQL_PASSWORD.lastIndex = Math.max(vs, ve);
  }
}

/** Start of the name that ends right before `end` (reading back over name chars, not before `floor`). */
function nameStart(s: string, end: number, floor: number): number {
  let i = end;
  while (i > floor && inClass(NAME_CHARS, s, i - 1)) i--;
  return i;
}

/** End of a value starting at `i`: a quoted value to its closing quote, else to the first `stop` char. */
function valueEnd(s: string, i: number, stop: Uint8Array, toEnd: boolean): [number, number] {
  const q = s[i];
  if (q === '"' || q === "'") {
    const close = s.indexOf(q, i + 1);
    return [i + 1, close < 0 ? s.length : close];
  }
  // A whole-argument value runs to the end, less shell punctuation a space-joined line leaves on it (`x1;`).
  if (toEnd) return [i, `;'")`.includes(s[s.length - 1]) && s.length > i + 1 ? s.length - 1 : s.length];
  let j = i;
  while (j < s.length && !inClass(stop, s, j)) j++;
  return [i, j];
}

/** `NAME=value` anywhere; a name at the start of the string (or after a leading `--flag=`) owns the rest of it. */
function findAssignments(s: string, spans: Spans, o: ScanOptions): void {
  const lead = /^--?[A-Za-z0-9][A-Za-z0-9_.\-]*=/.exec(s);
  const leadEnd = lead ? lead[0].length : -1;
  let floor = 0;
  for (let eq = s.indexOf('='); eq >= 0; eq = s.indexOf('=', eq + 1)) {
    if (o.budget?.spend(eq - floor + 8)) return;
    if (eq < floor) continue;
    const start = nameStart(s, eq, floor);
    const name = s.slice(start, eq);
    floor = eq + 1;
    if (!name || !isSecretName(name, o.names)) continue;
    const atStart = start === 0 || start === leadEnd;
    const [vs, ve] = valueEnd(s, eq + 1, VALUE_END, atStart);
    // mount.cifs `credentials=/root/.smbcreds` names a file.
    if (ve > vs && !(s[vs] === '/' && CREDENTIAL_FILE.test(name)) && !o.allowed?.(s.slice(vs, ve), name))
      spans.add(vs, ve);
    floor = Math.max(floor, ve);
    eq = Math.max(eq, ve - 1);
  }
}

/** `"password": "x"`, `password: x`, `Authorization: Bearer x`, `X-Api-Key: x`. */
function findColonPairs(s: string, spans: Spans, o: ScanOptions): void {
  let floor = 0;
  for (let c = s.indexOf(':'); c >= 0; c = s.indexOf(':', c + 1)) {
    if (o.budget?.spend(c - floor + 8)) return;
    if (c < floor) continue;
    if (s.startsWith('//', c + 1)) continue; // a URL scheme
    let e = c;
    while (e > floor && inClass(SPACE, s, e - 1) && c - e < 4) e--;
    const quoted = s[e - 1] === '"' || s[e - 1] === "'";
    if (quoted) e--;
    const start = nameStart(s, e, floor);
    floor = c + 1;
    const name = s.slice(start, e);
    if (!name || name[0] === '-') continue; // `-storepass:env VAR`, `-c:v`: a flag, not a key
    const lower = name.toLowerCase();
    if (!SECRET_HEADERS.has(lower) && !isSecretName(name, o.names)) continue;
    let v = c + 1;
    while (v < s.length && inClass(SPACE, s, v)) v++;
    if (s[v] === '"' || s[v] === "'") {
      const [vs, ve] = valueEnd(s, v, COLON_VALUE_END, false);
      if (ve > vs && !o.allowed?.(s.slice(vs, ve), name)) spans.add(vs, ve);
      floor = c = Math.max(c, ve);
      continue;
    }
    // Header style: keep the auth scheme, mask the credential (to the end when the header is the whole string).
    const schemeEnd = runEnd(LETTERS, s, v, 20);
    if (AUTH_SCHEMES.has(s.slice(v, schemeEnd).toLowerCase())) {
      if (schemeEnd === s.length) continue; // `authorization:basic` with the credential in the next word
      if (inClass(SPACE, s, schemeEnd)) {
        v = schemeEnd;
        while (v < s.length && inClass(SPACE, s, v)) v++;
      }
    }
    const toEnd = start === 0 || SECRET_HEADERS.has(lower);
    const [vs, ve] = toEnd && !quoted ? [v, s.length] : valueEnd(s, v, COLON_VALUE_END, false);
    if (ve > vs && !o.allowed?.(s.slice(vs, ve), name)) spans.add(vs, ve);
    floor = Math.max(floor, ve);
    c = Math.max(c, ve - 1);
  }
}

/** `scheme://user:password@host`: the password (everything up to the last `@` of the authority) is masked. */
function findUrlUserinfo(s: string, spans: Spans, o: ScanOptions): void {
  for (let p = s.indexOf('://'); p >= 0; p = s.indexOf('://', p + 3)) {
    if (o.budget?.spend(8)) return;
    if (p === 0 || !inClass(SCHEME_CHARS, s, p - 1)) continue;
    const a = p + 3;
    let end = a;
    let at = -1;
    let colon = -1;
    while (end < s.length && !inClass(AUTHORITY_END, s, end)) {
      if (s[end] === '@') at = end;
      else if (s[end] === ':' && colon < 0 && at < 0) colon = end;
      end++;
    }
    if (colon >= 0 && at > colon && !o.allowed?.(s.slice(colon + 1, at))) spans.add(colon + 1, at);
    p = Math.max(p, end - 3);
  }
}

/**
 * Record every secret in `s`.
 *
 * @example const sp = new Spans(); scanValue('DB_PASSWORD=x', sp); sp.apply('DB_PASSWORD=x') // => 'DB_PASSWORD=[REDACTED]'
 */
export function scanValue(s: string, spans: Spans, o: ScanOptions = {}): void {
  // Each pass needs its mark in the string; looking for it is cheaper than the pass. Each pass is charged its length first.
  const pass = () => o.budget?.spend(s.length) ?? false;
  if (s.includes('BEGIN ') && !pass()) findPrivateKeys(s, spans);
  if (s.includes('://') && !pass()) findUrlUserinfo(s, spans, o);
  if (s.includes('=') && !pass()) findAssignments(s, spans, o);
  if (s.includes(':') && !pass()) findColonPairs(s, spans, o);
  if ((s.includes("'") || s.includes('"')) && !pass()) findSqlPasswords(s, spans, o);
  if (!pass()) findTokens(s, spans, o.budget);
}
