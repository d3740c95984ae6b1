/**
 * What counts as a secret in a command line. Two kinds of rule:
 *  - argument rules look at argv (a flag and the argument after it), because
 *    `--password x` is only a secret by position;
 *  - text rules find self-evident secrets anywhere in a string (keys, tokens,
 *    `user:pass@host`, `NAME=value` for secret-looking names).
 * Every rule keeps the name and masks only the value, so the command stays
 * readable for the investigator.
 */

export const MASK = '[REDACTED]';

/** Flag names whose value is a secret: --password, --db-pass, --api-key, --auth-token, --client-secret... */
const SECRET_FLAG =
  /^-{1,2}(?:[a-z0-9]+[-_])*(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|access[-_]?key|secret[-_]?key|private[-_]?key|credentials?|auth)(?:[-_][a-z0-9]+)*$/i;
/** …unless the flag names a file or path holding it, which is not itself secret. */
const SECRET_FLAG_NOT = /[-_](?:file|path|dir|env|stdin|cmd|command|length|len|prompt)$|^--auth(?:or|ors)?$/i;

/** Programs where a short flag carries a password: mysql -pSECRET / -p SECRET, sshpass -p, redis-cli -a. */
const SHORT_PASSWORD_FLAG: Record<string, string> = {
  mysql: '-p',
  mysqldump: '-p',
  mysqladmin: '-p',
  mysqlimport: '-p',
  mysqlshow: '-p',
  mysqlcheck: '-p',
  mariadb: '-p',
  'mariadb-dump': '-p',
  sshpass: '-p',
  'redis-cli': '-a',
};
/** curl/wget style `-u user:password` / `--user user:password`. */
const USER_PASS_FLAGS = new Set(['-u', '--user', '--proxy-user', '-U']);
const USER_PASS_PROGRAMS = new Set(['curl', 'wget', 'http', 'xh']);

/** Names of env-style assignments that hold secrets: *PASS*, *SECRET*, *TOKEN*, *KEY* (KEY as a word part). */
const SECRET_NAME =
  /(?:pass(?:word|wd|phrase)?(?![a-z])|passw|secret|token|(?:^|[_.-])keys?(?:$|[_.-])|(?:api|access|private|secret|signing|encryption|master)_?keys?|pwd(?:$|[_.-])|credentials?)/i;

export interface TextRule {
  name: string;
  re: RegExp;
  /** Replacement; `$1`… keep the non-secret parts. */
  to: string;
}

/** Text rules, applied in order to every argument and to the command line and message. */
export const TEXT_RULES: readonly TextRule[] = [
  {
    name: 'private_key',
    re: /(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
    to: `$1${MASK}-----END PRIVATE KEY-----`,
  },
  // scheme://user:password@host (postgres, mysql, mongodb, redis, amqp, http...)
  { name: 'url_credentials', re: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]*:)[^\s@'"/]+(@)/gi, to: `$1${MASK}$2` },
  // Authorization: Bearer x / Basic x, and any Bearer token
  {
    name: 'authorization_header',
    re: /\b((?:proxy-)?authorization\s*[:=]\s*(?:bearer|basic|token|digest|negotiate)?\s*)[^\s'"]+/gi,
    to: `$1${MASK}`,
  },
  { name: 'bearer_token', re: /\b(bearer\s+)(?!\[REDACTED\])[A-Za-z0-9\-._~+/]{8,}=*/gi, to: `$1${MASK}` },
  // Header-style `X-Api-Key: v`, `X-Auth-Token: v`
  {
    name: 'secret_header',
    re: /\b([\w-]*(?:api-?key|token|secret|password)[\w-]*:\s*)(?!\[REDACTED\])[^\s'"]+/gi,
    to: `$1${MASK}`,
  },
  // NAME=value for secret-looking names, in env assignments, query strings and config flags
  {
    name: 'secret_assignment',
    re: /((?:^|[\s?&;,'"(])(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*=)(?!\[REDACTED\])([^\s&;,'"]+)/g,
    to: '', // decided per match in applyTextRules (name must look secret)
  },
  // Well-known token shapes
  { name: 'aws_access_key_id', re: /\b(?:AKIA|ASIA|AIDA|AROA)[0-9A-Z]{16}\b/g, to: MASK },
  { name: 'github_token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/g, to: MASK },
  { name: 'gitlab_token', re: /\bglpat-[A-Za-z0-9_-]{20,}\b/g, to: MASK },
  { name: 'slack_token', re: /\bxox[abprs]-[A-Za-z0-9-]{10,}\b/g, to: MASK },
  { name: 'stripe_key', re: /\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}\b/g, to: MASK },
  { name: 'google_api_key', re: /\bAIza[0-9A-Za-z_-]{35}\b/g, to: MASK },
  { name: 'jwt', re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g, to: MASK },
];

// One pass that finds whether any text rule could match (a superset: case-insensitive, and only
// assignments whose name looks secret), so clean strings, the common case, cost one regex test.
const ASSIGNMENT_HINT = String.raw`(?:^|[\s?&;,'"(])(?:export\s+)?[A-Za-z0-9_.-]*(?:pass|secret|token|key|pwd|credential)[A-Za-z0-9_.-]*=`;
const MAYBE_SECRET = new RegExp(
  TEXT_RULES.map((r) => (r.name === 'secret_assignment' ? ASSIGNMENT_HINT : r.re.source)).join('|'),
  'i'
);

/** Apply the text rules to one string. */
export function applyTextRules(s: string): string {
  if (!MAYBE_SECRET.test(s)) return s;
  let out = s;
  for (const r of TEXT_RULES) {
    r.re.lastIndex = 0;
    if (r.name === 'secret_assignment') {
      out = out.replace(r.re, (m, head: string, _value: string) => {
        const name = head.replace(/^[\s?&;,'"(]*(?:export\s+)?/, '').slice(0, -1);
        return SECRET_NAME.test(name) ? head + MASK : m;
      });
    } else out = out.replace(r.re, r.to);
  }
  return out;
}

// The program a word belongs to: the last word naming a known program (`sudo mysql -p…`, `sh -c "curl -u…`).
const PROGRAM = new RegExp(
  `(?:^|[/'"(])(${[...Object.keys(SHORT_PASSWORD_FLAG), ...USER_PASS_PROGRAMS].map((p) => p.replace(/-/g, '\\-')).join('|')})$`
);
function programOf(word: string): string | undefined {
  return PROGRAM.exec(word)?.[1];
}

/** The argument rules; `text` also applies the text rules to each argument. */
function maskArgs(args: readonly string[], text: boolean): string[] {
  let prog: string | undefined;
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('-')) {
      const p = programOf(a);
      if (p) {
        prog = p;
        out.push(text ? applyTextRules(a) : a);
        continue;
      }
    }
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const shortFlag = prog ? SHORT_PASSWORD_FLAG[prog] : undefined;
    if (a.startsWith('-') && SECRET_FLAG.test(flag) && !SECRET_FLAG_NOT.test(flag)) {
      if (eq > 0) out.push(`${flag}=${MASK}`);
      else {
        out.push(a);
        // The next argument is the value unless it is another flag (e.g. `--password` prompting).
        if (i + 1 < args.length && !args[i + 1].startsWith('-')) {
          out.push(MASK);
          i++;
        }
      }
      continue;
    }
    if (shortFlag && a.startsWith(shortFlag) && !a.startsWith('--')) {
      if (a.length > shortFlag.length) out.push(shortFlag + MASK);
      else {
        out.push(a);
        if (i + 1 < args.length && !args[i + 1].startsWith('-')) {
          out.push(MASK);
          i++;
        }
      }
      continue;
    }
    if (prog && USER_PASS_PROGRAMS.has(prog) && USER_PASS_FLAGS.has(flag)) {
      const v = eq > 0 ? a.slice(eq + 1) : args[i + 1];
      if (v !== undefined && v.includes(':')) {
        const masked = v.slice(0, v.indexOf(':') + 1) + MASK;
        if (eq > 0) out.push(`${flag}=${masked}`);
        else {
          out.push(a, masked);
          i++;
        }
        continue;
      }
    }
    out.push(text ? applyTextRules(a) : a);
  }
  return out;
}

/**
 * Mask secrets in argv.
 *
 * @example redactArgs(['mysql', '-u', 'root', '-psecret']) // => ['mysql', '-u', 'root', '-p[REDACTED]']
 */
export function redactArgs(args: readonly string[]): string[] {
  return maskArgs(args, true);
}

/**
 * Mask secrets in a command line or message: split on whitespace, apply the
 * argument rules to the words (so `--password x` is caught), then the text
 * rules to the whole string (so `Authorization: Bearer x` is caught across words).
 *
 * @example redactText('psql postgres://app:hunter2@db/x') // => 'psql postgres://app:[REDACTED]@db/x'
 */
export function redactText(s: string): string {
  if (!s) return s;
  const parts = s.split(/(\s+)/);
  const words = parts.filter((_, i) => i % 2 === 0);
  const red = maskArgs(words, false);
  for (let i = 0; i < red.length; i++) parts[i * 2] = red[i];
  return applyTextRules(parts.join(''));
}
