/**
 * Redaction of one command: argv (from the kernel) or the words of a command
 * line that only exists as text (sudo's log). Wrappers (`sudo`, `env`,
 * `timeout`, `nohup`...) are looked through to the program they run; shell
 * scripts (`sh -c`, `bash -lc`, `su -c`, `ssh host cmd`, `watch cmd`) are split
 * into shell words and every command inside is redacted as argv of its own;
 * then each argument goes through the program's own rules ({@link toolRules}),
 * the secret-flag rule (`--db-password x`) and the value scanner.
 */
import { isSecretName } from './names';
import { scanValue, type ScanOptions } from './scan-value';
import { renderWord, shellCommands, type ShellWord } from './shell-words';
import { MASK, Spans, budgetMask } from './spans';
import { TOKEN_PREFIXES, findPrivateKeys } from './tokens';
import { toolNames, toolRules, type ToolRule } from './tools';
import { Trigger } from './trigger';

/**
 * How much work one millisecond of `redact.budgetMs` allows: a unit is one
 * character looked at by one pass, and every call into a scanner costs
 * {@link CALL_WORK} on top. Set from the slowest hostile case's measured rate
 * (about 14 ns of CPU per unit on the shared 2-core machine at load 6, up to
 * twice that at load 12: 33 ns per unit leaves a margin). The cut is a count of work done, not a clock: a
 * loaded machine neither masks more (a clock runs on while the process is
 * descheduled) nor lets more through.
 */
export const WORK_PER_MS = 30_000;
/** What one call into a scanner costs on top of the characters it looks at (a name check, a span, a slice). */
const CALL_WORK = 64;
/** Work every event may do whatever the budget (`budgetMs: 0` too): small events are never cut. */
const FREE_WORK = 4096;

/**
 * A per-event work budget; once spent, everything not yet redacted is masked
 * whole. Scanners charge before (or, in long loops, while) they look at
 * text, in bounded steps, so no pass runs far past the allowance.
 */
export class Budget {
  private left: number;
  over = false;
  /** `work` units ({@link WORK_PER_MS}) beyond the free allowance. */
  constructor(work: number) {
    this.left = FREE_WORK + work;
  }
  /** Account for `work` (characters looked at, plus a little per call); true once the budget is spent. */
  spend(work: number): boolean {
    if (this.over) return true;
    this.left -= work + CALL_WORK;
    this.over = this.left < 0;
    return this.over;
  }
}

/** Everything a redaction needs to know besides the text. */
export interface CommandContext extends ScanOptions {
  budget: Budget;
  /** User-configured secret flags (exact, e.g. `--vault-secret`). */
  flags?: ReadonlySet<string>;
  /** User patterns: record their matches in `spans`. */
  patterns?: { test(s: string): boolean; find(s: string, spans: Spans): void };
  /** Quick superset test: can `s` contain anything the value scanner finds? */
  trigger: Trigger;
  /**
   * The caller found no trigger (and no user pattern) in the whole input, so
   * none is in any substring of it: arguments need no scan. Not for shell
   * scripts, where quote removal makes new strings.
   */
  quiet?: boolean;
}

/** Programs that run another program given after their own options; values are the options that take an argument. */
const WRAPPERS: Record<string, string[]> = {
  sudo: [
    '-u',
    '-g',
    '-h',
    '-p',
    '-C',
    '-D',
    '-r',
    '-t',
    '-U',
    '-T',
    '--user',
    '--group',
    '--host',
    '--prompt',
    '--chdir',
  ],
  doas: ['-u', '-C'],
  env: ['-u', '--unset', '-C', '--chdir', '-S', '--split-string'],
  nice: ['-n', '--adjustment'],
  ionice: ['-c', '-n', '-p'],
  nohup: [],
  setsid: [],
  stdbuf: ['-i', '-o', '-e'],
  time: ['-f', '-o'],
  timeout: ['-s', '-k', '--signal', '--kill-after'],
  taskset: [],
  chrt: [],
  xargs: [
    '-a',
    '-d',
    '-E',
    '-I',
    '-L',
    '-n',
    '-P',
    '-s',
    '--max-args',
    '--max-procs',
    '--delimiter',
    '--arg-file',
  ],
  exec: ['-a'],
  command: [],
  builtin: [],
  unbuffer: [],
  nsenter: ['-t', '--target', '-S', '-G'],
  unshare: [],
  chroot: [],
  gosu: [],
  'su-exec': [],
  tini: [],
  'dumb-init': [],
  flock: ['-w', '-E'],
  strace: ['-e', '-o', '-p', '-s', '-u'],
  ltrace: ['-e', '-o', '-p', '-s', '-u'],
  proxychains: ['-f'],
  proxychains4: ['-f'],
  torsocks: [],
  firejail: [],
  busybox: [],
};
/** Wrappers whose first positional is not the program (the user, the directory, the duration, the cpu list...). */
const WRAPPER_SKIPS_POSITIONAL = new Set([
  'timeout',
  'taskset',
  'chrt',
  'chroot',
  'gosu',
  'su-exec',
  'flock',
]);
const SHELLS = new Set([
  'sh',
  'bash',
  'dash',
  'zsh',
  'ash',
  'ksh',
  'mksh',
  'yash',
  'fish',
  'su',
  'runuser',
  'rbash',
]);
/** Shell options that take an argument (`bash -o pipefail -c ...`, `su -s /bin/sh -c ...`). */
const SHELL_OPTION_VALUES = new Set([
  '-o',
  '+o',
  '-O',
  '+O',
  '-s',
  '--shell',
  '-g',
  '--group',
  '-u',
  '--user',
  '--rcfile',
  '--init-file',
]);
const SSH_OPTION_VALUES = new Set([
  '-b',
  '-c',
  '-D',
  '-E',
  '-e',
  '-F',
  '-I',
  '-i',
  '-J',
  '-L',
  '-l',
  '-m',
  '-O',
  '-o',
  '-p',
  '-Q',
  '-R',
  '-S',
  '-W',
  '-w',
  '-B',
]);
/** Shell reserved words that may start a command. */
const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'do', 'while', 'until', '!', '{', '}']);
/** Commands in a pipeline that read a secret from stdin: what is echoed into them is masked. */
const STDIN_SECRET_FLAGS = new Set([
  '--password-stdin',
  '--with-token',
  '--passphrase-fd',
  '--pass-stdin',
  '--stdin',
]);
const STDIN_SECRET_PROGRAMS = new Set(['chpasswd', 'passwd']);
const ECHOES = new Set(['echo', 'printf', 'cat']);
const MAX_DEPTH = 4;

/** Stems every secret name contains, and the marks of URL credentials, PEM blocks and JWTs. */
const STEMS = [
  'pass',
  'secret',
  'token',
  'key',
  'credential',
  'cookie',
  'sig',
  'auth',
  'pw',
  'jwt',
  'creds',
  'identified',
];

/**
 * The quick test for "the value scanner may find something here": secret-name
 * stems (any case), `@` (URL userinfo), PEM and JWT marks and every token
 * prefix, in one pass ({@link Trigger}).
 */
export function buildTrigger(extraNames: Iterable<string> = []): Trigger {
  return new Trigger([...STEMS, ...extraNames], ['@', 'BEGIN ', ...TOKEN_PREFIXES]);
}

/** The base name of a program path, as the rules know it. */
export function programName(arg: string): string {
  const slash = arg.lastIndexOf('/');
  return slash >= 0 ? arg.slice(slash + 1) : arg;
}

const RUNNERS = new Set([...Object.keys(WRAPPERS), ...SHELLS, 'ssh', 'watch']);
/** A word naming a program whose arguments have rules of their own. */
function isKnownProgram(name: string): boolean {
  return RUNNERS.has(name) || toolRules(name) !== undefined;
}

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
const LETTERS_ONLY = /^-[a-zA-Z]+$/;
/** `a` is a cluster of short flags (`-lc`, `-nbB`) containing `letter`. (Not `/^-[a-z]*c[a-z]*$/`: that backtracks.) */
const hasShortFlag = (a: string, letter: string) => LETTERS_ONLY.test(a) && a.includes(letter, 1);

/** Rules that act on positionals or on every argument (not only on their own flags). */
const positionalRule = (r: ToolRule) =>
  !!(r.prefixed || r.positional || r.pairs || r.allAssignments || r.lastPositionalWith || r.credentialTarget);

const HEADS = new WeakMap<ToolRule, Set<string>>();
/** Every flag a rule names, and the heads (`-p`, `-hp`) of those that take an attached value: a quick no for other flags. */
function flagHeads(r: ToolRule): Set<string> {
  let h = HEADS.get(r);
  if (!h) {
    const flags = [
      ...(r.value ?? []),
      ...(r.attached ?? []),
      ...Object.keys(r.userPass ?? {}),
      ...(r.passArg ?? []),
      ...(r.literal ?? []),
      ...(r.plain ?? []),
    ];
    const short = flags.filter((f) => f[1] !== '-'); // only single-dash flags take an attached value
    h = new Set([...flags, ...short.map((f) => f.slice(0, 2)), ...short.map((f) => f.slice(0, 3))]);
    HEADS.set(r, h);
  }
  return h;
}

/** The flags a program's rules name, as the quick path looks them up: whole, and by 2- and 3-char head. */
interface FlagHeads {
  whole: ReadonlySet<string>;
  /** Char codes of a head packed into a number (`-p` -> `c0 << 7 | c1`): looked up without slicing. */
  heads: ReadonlySet<number>;
}
const packHead = (s: string, n: number) => {
  let k = 0;
  for (let i = 0; i < n; i++) k = (k << 7) | (s.charCodeAt(i) & 127);
  return k | (n << 21);
};

/**
 * What the quick path needs to know per program name, computed once: `null`
 * when a rule can change words that are not its flags (a wrapper, a shell, a
 * positional rule), else every flag its rules name.
 */
const QUIET_INFO = (() => {
  const m = new Map<string, FlagHeads | null>();
  for (const name of toolNames()) {
    const rules = toolRules(name)!;
    if (rules.some(positionalRule)) {
      m.set(name, null);
      continue;
    }
    const all = rules.flatMap((r) => [...flagHeads(r)]);
    const ascii = (f: string) => !/[^\x00-\x7f]/.test(f);
    m.set(name, {
      whole: new Set(all),
      heads: new Set(all.filter((f) => f.length <= 3 && ascii(f)).map((f) => packHead(f, f.length))),
    });
  }
  for (const name of RUNNERS) m.set(name, null);
  return m;
})();

/** Whether flag word `a` starts with one a program's rules name (`--password`, `--password=x`, `-pX`, `-hpX`). */
function flagHit(a: string, f: FlagHeads): boolean {
  const eq = a.indexOf('=');
  if (f.whole.has(eq > 0 ? a.slice(0, eq) : a)) return true;
  return (a.length >= 2 && f.heads.has(packHead(a, 2))) || (a.length >= 3 && f.heads.has(packHead(a, 3)));
}

/**
 * For words with no trigger anywhere (the caller tested): true when no rule
 * can change them, i.e. no wrapper or shell among them, and no flag or
 * positional rule of a program among them applies. The common event takes
 * this path: one Map lookup per word, and after a program with rules one
 * Set lookup per flag and two of numbers.
 */
export function quietUnchanged(words: readonly string[]): boolean {
  let heads: FlagHeads[] | undefined;
  for (const a of words) {
    if (a.charCodeAt(0) === 45 /* - */) {
      if (heads && heads.some((h) => flagHit(a, h))) return false;
      continue;
    }
    const info = QUIET_INFO.get(programName(a));
    if (info === undefined) continue;
    if (info === null) return false;
    (heads ??= []).push(info);
  }
  return true;
}

/** In text mode, a word folded into the script before it (see redactShell); dropped when the text is rebuilt. */
export const CONSUMED = '\u0000';

/** Mask secrets found by the scanner (and user patterns) in one argument. */
function scanArg(a: string, ctx: CommandContext): string {
  if (ctx.budget.spend(a.length)) return budgetMask(a);
  if (ctx.quiet) return a;
  const userHit = ctx.patterns?.test(a) ?? false;
  // The trigger is a quick no for short strings; on long ones it would cost as much as the scan itself.
  if (!userHit && a.length < 256 && !ctx.trigger.test(a)) return a;
  const spans = new Spans();
  scanValue(a, spans, ctx);
  if (userHit) ctx.patterns!.find(a, spans);
  return ctx.budget.over ? budgetMask(a) : spans.apply(a);
}

/** Whether `name` (a flag without its value) names a secret, for this program. */
function secretFlag(name: string, ctx: CommandContext, rules: readonly ToolRule[]): boolean {
  if (ctx.flags?.has(name)) return true;
  if (name.length < 3 || (name[1] !== '-' && name.length < 4)) return false; // short flags: only per tool
  if (rules.some((r) => r.plain?.includes(name))) return false;
  return (
    !ctx.quiet && !ctx.budget.spend(name.length) && ctx.trigger.test(name) && isSecretName(name, ctx.names)
  );
}

type Transform = (v: string) => string;
const maskAll: Transform = () => MASK;
const maskAfter =
  (sep: string): Transform =>
  (v) => {
    const i = v.indexOf(sep);
    return i < 0 ? v : v.slice(0, i + sep.length) + MASK;
  };
const maskPassArg: Transform = (v) => (v.startsWith('pass:') ? 'pass:' + MASK : v);
/** `user/password@db` -> `user/[REDACTED]@db` (nothing when there is no password part). */
const maskSlashCredential: Transform = (v) => {
  const slash = v.indexOf('/');
  if (slash <= 0 || v.startsWith('/', slash + 1)) return v;
  const at = v.indexOf('@', slash);
  const end = at < 0 ? v.length : at;
  return end > slash + 1 ? v.slice(0, slash + 1) + MASK + v.slice(end) : v;
};
/** Oracle's `userid=user/password@db` or a bare `user/password@db`. */
const maskUserid: Transform = (v) => {
  const p = /^userid=/i.exec(v)?.[0] ?? '';
  return p + maskSlashCredential(v.slice(p.length));
};
/** `domain/user:password@host` -> `domain/user:[REDACTED]@host`. */
const maskColonCredential: Transform = (v) => {
  const at = v.lastIndexOf('@');
  const colon = v.indexOf(':');
  return colon >= 0 && at > colon + 1 ? v.slice(0, colon + 1) + MASK + v.slice(at) : v;
};

/** A flag's value per the tool rules: how to mask the next argument, this argument's new text, or nothing. */
function toolFlag(
  a: string,
  rules: readonly ToolRule[]
): { next?: Transform; now?: string; plain?: boolean } | undefined {
  const eq = a.indexOf('=');
  const flag = eq > 0 ? a.slice(0, eq) : a;
  const inline = eq > 0 ? a.slice(eq + 1) : undefined;
  for (const r of rules) {
    const heads = flagHeads(r);
    if (!heads.has(flag) && !heads.has(a.slice(0, 2)) && !heads.has(a.slice(0, 3))) continue;
    for (const f of r.value ?? []) {
      if (a === f) return { next: maskAll };
      if (flag === f) return { now: `${f}=${MASK}` };
      if (!r.noAttach && f.length === 2 && f[1] !== '-' && a.startsWith(f)) return { now: f + MASK };
    }
    for (const f of r.attached ?? []) {
      if (a === f) return { plain: true };
      if (flag === f) return { now: `${f}=${MASK}` };
      if (f[1] !== '-' && a.startsWith(f) && a[f.length] !== '=') return { now: f + MASK };
    }
    for (const [f, sep] of Object.entries(r.userPass ?? {})) {
      if (a === f) return { next: maskAfter(sep) };
      if (flag === f) return { now: `${f}=${maskAfter(sep)(inline!)}` };
      if (f.length === 2 && a.startsWith(f) && !a.startsWith('--'))
        return { now: f + maskAfter(sep)(a.slice(2)) };
    }
    for (const f of r.passArg ?? []) if (a === f) return { next: maskPassArg };
    for (const f of r.literal ?? []) {
      if (a === f) return { next: maskAfter('=') };
      if (flag === f) return { now: `${f}=${maskAfter('=')(inline!)}` };
    }
    if (r.plain?.includes(flag)) return { plain: true };
  }
  return undefined;
}

interface RuleState {
  rule: ToolRule;
  active: boolean;
  count: number;
}

/**
 * Redact `args[from..]` (one command) into `out`. `text` means the words come
 * from a space-joined command line (no quoting): a shell's `-c` then takes
 * all the words after it as its script.
 */
export function redactCommand(
  args: readonly string[],
  out: string[],
  from: number,
  ctx: CommandContext,
  text: boolean,
  depth = 0
): void {
  let i = from;
  // Leading assignments (`PGPASSWORD=x psql`) and reserved words.
  while (i < args.length && (ASSIGNMENT.test(args[i]) || KEYWORDS.has(args[i]))) {
    out[i] = scanArg(args[i], ctx);
    i++;
  }
  if (i >= args.length) return;
  const prog = programName(args[i]);
  out[i] = scanArg(args[i], ctx);
  if (depth < MAX_DEPTH && prog in WRAPPERS) return redactWrapped(args, out, i, prog, ctx, text, depth);
  if (depth < MAX_DEPTH && (SHELLS.has(prog) || prog === 'ssh' || prog === 'watch'))
    return redactShell(args, out, i, prog, ctx, text, depth);
  redactArguments(args, out, i + 1, toolRules(prog) ?? [], ctx, text, depth);
}

/** Header names given as a word of their own in a space-joined command line (`-H Authorization: Bearer x`). */
const HEADER_WORD = /^[A-Za-z][A-Za-z0-9-]{0,60}:(bearer|basic|token|digest|negotiate|ntlm)?$/i;
const AUTH_SCHEME_WORD = /^['"]?(?:bearer|basic|token|digest|negotiate|ntlm)$/i;
const HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

/** `Authorization:`, `'X-Api-Key:`, `extraHeader=Authorization:` as a word of its own: the secret header it names. */
function headerWord(a: string, ctx: CommandContext): RegExpExecArray | null {
  if (a.length > 120 || !a.includes(':')) return null;
  const cut = Math.max(a.lastIndexOf('='), a.lastIndexOf("'"), a.lastIndexOf('"'));
  const m = HEADER_WORD.exec(a.slice(cut + 1));
  if (!m) return null;
  const name = m[0].slice(0, m[0].indexOf(':'));
  return HEADERS.has(name.toLowerCase()) || isSecretName(name, ctx.names) ? m : null;
}

/** The arguments of one program: tool rules, secret flags, programs run from here (`docker run img mysql -p...`), values. */
function redactArguments(
  args: readonly string[],
  out: string[],
  from: number,
  rules: readonly ToolRule[],
  ctx: CommandContext,
  text: boolean,
  depth: number
): void {
  const states: RuleState[] = rules.map((rule) => ({ rule, active: !rule.after, count: 0 }));
  let active = states.filter((s) => s.active).map((s) => s.rule);
  let prefixes = active.flatMap((r) => r.prefixed ?? []);
  let next: Transform | undefined;
  let nextName: string | undefined;
  let lastPositional = -1;
  let lastPositionalRule: ToolRule | undefined;
  for (let j = from; j < args.length; j++) {
    const a = args[j];
    if (ctx.budget.spend(a.length)) {
      // Out of budget: this argument and every one after it are masked whole.
      for (let k = j; k < args.length; k++) out[k] = budgetMask(args[k]);
      return;
    }
    if (next) {
      const t = next;
      next = undefined;
      if (!(a.startsWith('-') && a.length > 1 && t === maskAll && nextName !== undefined)) {
        out[j] = a === '' || ctx.allowed?.(a, nextName) ? a : scanArg(t(a), ctx);
        continue;
      }
    }
    nextName = undefined;
    if (a === '--' && j + 1 < args.length && depth < MAX_DEPTH)
      return redactCommand(args, out, j + 1, ctx, text, depth + 1);
    const prefixed = prefixes.length ? prefixes.find((p) => a.startsWith(p)) : undefined;
    if (prefixed) {
      out[j] =
        a.length > prefixed.length && !ctx.allowed?.(a.slice(prefixed.length), prefixed)
          ? prefixed + MASK
          : a;
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      const byTool = toolFlag(a, active);
      if (byTool?.next) {
        next = byTool.next;
        continue;
      }
      if (byTool?.now !== undefined) {
        out[j] = ctx.allowed?.(a, a) ? a : scanArg(byTool.now, ctx);
        continue;
      }
      const eq = a.indexOf('=');
      const flag = eq > 0 ? a.slice(0, eq) : a;
      if (!byTool?.plain && secretFlag(flag, ctx, active) && !ctx.allowed?.('', flag)) {
        if (eq > 0) out[j] = ctx.allowed?.(a.slice(eq + 1), flag) ? a : `${flag}=${MASK}`;
        else {
          next = maskAll;
          nextName = flag;
        }
        continue;
      }
      // A plain flag's name is not a secret name: only its value is scanned.
      out[j] = byTool?.plain && eq > 0 ? flag + '=' + scanArg(a.slice(eq + 1), ctx) : scanArg(a, ctx);
      continue;
    }
    // A positional argument.
    for (const st of states) {
      if (!st.active && a === st.rule.after) {
        st.active = true;
        active = states.filter((s) => s.active).map((s) => s.rule);
        prefixes = active.flatMap((r) => r.prefixed ?? []);
        continue;
      }
      if (!st.active || (st.rule.after && a === st.rule.after)) continue;
      st.count++;
      const r = st.rule;
      if (r.positional?.includes(st.count) && !ctx.allowed?.(a)) out[j] = MASK;
      else if (r.pairs && ctx.trigger.test(a) && isSecretName(a, ctx.names) && j + 1 < args.length) {
        next = maskAll;
      } else if (r.allAssignments && a.indexOf('=') > 0 && !ctx.allowed?.(a)) out[j] = maskAfter('=')(a);
      else if (r.credentialTarget === 'slash') out[j] = maskUserid(a);
      else if (r.credentialTarget === 'colon') out[j] = maskColonCredential(a);
      if (r.lastPositionalWith) {
        lastPositional = j;
        lastPositionalRule = r;
      }
    }
    if (out[j] !== a || next) continue;
    // Header names and auth schemes contain trigger stems: nothing to find in a quiet input.
    const header = text && !ctx.quiet ? headerWord(a, ctx) : null;
    if (header && j + 1 < args.length) {
      // `Authorization: Bearer x` split into words: keep the scheme, mask the credential.
      if (!header[1] && AUTH_SCHEME_WORD.test(args[j + 1])) j++;
      if (j + 1 < args.length && !args[j + 1].includes('://')) next = maskAll;
      continue;
    }
    const credential = args[j + 1] ?? '';
    if (
      text &&
      !ctx.quiet &&
      AUTH_SCHEME_WORD.test(a) &&
      /bearer/i.test(a) &&
      credential.length >= 8 &&
      !credential.includes('://')
    ) {
      next = maskAll;
      continue;
    }
    const name = programName(a);
    if (depth < MAX_DEPTH && j > from && isKnownProgram(name))
      return redactCommand(args, out, j, ctx, text, depth + 1);
    out[j] = scanArg(a, ctx);
  }
  if (
    lastPositionalRule &&
    args.some((x) => hasShortFlag(x, lastPositionalRule!.lastPositionalWith!)) &&
    !ctx.allowed?.(args[lastPositional])
  )
    out[lastPositional] = MASK;
}

/** `sudo -u x cmd`, `env A=1 cmd`, `timeout 5 cmd`: options (and assignments) scanned, then the program. */
function redactWrapped(
  args: readonly string[],
  out: string[],
  at: number,
  prog: string,
  ctx: CommandContext,
  text: boolean,
  depth: number
): void {
  const valued = WRAPPERS[prog];
  let skipPositional = WRAPPER_SKIPS_POSITIONAL.has(prog) ? 1 : 0;
  let i = at + 1;
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('-') && a.length > 1) {
      out[i] = scanArg(a, ctx);
      if (valued.includes(a) && i + 1 < args.length) {
        i++;
        // env -S "cmd args": the string is a command line of its own.
        if (prog === 'env' && (a === '-S' || a === '--split-string')) {
          const words = args[i].split(/\s+/);
          const red = words.slice();
          redactCommand(words, red, 0, ctx, true, depth + 1);
          out[i] = red.join(' ');
        } else out[i] = scanArg(args[i], ctx);
      }
      continue;
    }
    if (ASSIGNMENT.test(a)) {
      out[i] = scanArg(a, ctx);
      continue;
    }
    if (skipPositional > 0) {
      skipPositional--;
      out[i] = scanArg(a, ctx);
      continue;
    }
    break;
  }
  if (i < args.length) redactCommand(args, out, i, ctx, text, depth + 1);
}

/** `sh -c SCRIPT`, `su -c SCRIPT`, `ssh host CMD...`, `watch CMD...`. */
function redactShell(
  args: readonly string[],
  out: string[],
  at: number,
  prog: string,
  ctx: CommandContext,
  text: boolean,
  depth: number
): void {
  const optionValues =
    prog === 'ssh'
      ? SSH_OPTION_VALUES
      : prog === 'watch'
        ? new Set(['-n', '-d', '--interval'])
        : SHELL_OPTION_VALUES;
  let i = at + 1;
  let script = -1;
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('-') || a.startsWith('+')) {
      out[i] = scanArg(a, ctx);
      if (optionValues.has(a) && i + 1 < args.length) {
        i++;
        out[i] = scanArg(args[i], ctx);
      } else if ((prog !== 'ssh' && hasShortFlag(a, 'c')) || a === '--command') {
        script = i + 1;
        break;
      }
      continue;
    }
    break;
  }
  if (prog === 'ssh' && i < args.length) {
    out[i] = scanArg(args[i], ctx); // the destination
    script = i + 1;
  }
  if (prog === 'watch') script = i;
  if (script < 0 || script >= args.length) {
    // `bash script.sh args...`: nothing to parse, each argument scanned.
    for (let j = i; j < args.length; j++) out[j] = scanArg(args[j], ctx);
    return;
  }
  // The script: a string of its own in argv (ssh and watch join the rest), the rest of the words in text.
  const joinRest = prog === 'ssh' || prog === 'watch';
  if (text) {
    // A space-joined line: the rest of it is the script (quoted as typed when it came from a shell).
    // `sh -c "…"` as typed (a log line, a message): the quotes are the script's, not part of it.
    const joined = args.slice(script).join(' ');
    const q = joined[0];
    const quoted = joined.length > 1 && (q === '"' || q === "'") && joined[joined.length - 1] === q;
    out[script] = quoted
      ? q + redactScript(joined.slice(1, -1), ctx, depth + 1) + q
      : redactScript(joined, ctx, depth + 1);
    for (let j = script + 1; j < args.length; j++) out[j] = CONSUMED;
    return;
  }
  if (joinRest && script + 1 < args.length) {
    const red = args.slice();
    redactCommand(args, red, script, ctx, false, depth + 1);
    // Each word of the remote command may itself be a script fragment: scan as a script too.
    for (let j = script; j < args.length; j++)
      out[j] = red[j] === args[j] ? redactScript(args[j], ctx, depth + 1) : red[j];
    return;
  }
  out[script] = redactScript(args[script], ctx, depth + 1);
  for (let j = script + 1; j < args.length; j++) out[j] = scanArg(args[j], ctx);
}

/**
 * A shell script with its secrets masked: every simple command in it is
 * redacted as argv and changed words are written back in place.
 *
 * @example redactScript('export DB_PASS=x; ./run', ctx, 0) // => 'export DB_PASS=[REDACTED]; ./run'
 */
export function redactScript(script: string, ctx: CommandContext, depth: number): string {
  if (ctx.budget.spend(script.length)) return budgetMask(script);
  const quiet = ctx.quiet;
  ctx.quiet = false;
  try {
    return redactScriptWords(script, ctx, depth);
  } finally {
    ctx.quiet = quiet;
  }
}

function redactScriptWords(script: string, ctx: CommandContext, depth: number): string {
  if (depth >= MAX_DEPTH) return scanArg(script, ctx);
  const done: Array<{ words: ShellWord[]; values: string[]; red: string[] }> = [];
  let pipeline: string[][] = []; // the masked words of echo-like commands piped onward
  for (const cmd of shellCommands(script, (work) => ctx.budget.spend(work))) {
    if (ctx.budget.over) return budgetMask(script);
    const values = cmd.words.map((w) => w.value);
    const red = values.slice();
    redactCommand(values, red, 0, ctx, false, depth);
    // `echo pw | docker login --password-stdin`: what is piped into a command reading a secret from stdin is secret.
    if (values.some((v) => STDIN_SECRET_FLAGS.has(v)) || STDIN_SECRET_PROGRAMS.has(programName(values[0])))
      for (const r of pipeline) for (let k = 1; k < r.length; k++) if (!r[k].startsWith('-')) r[k] = MASK;
    if (!cmd.pipeTo) pipeline = [];
    else if (ECHOES.has(programName(values[0]))) pipeline.push(red);
    done.push({ words: cmd.words, values, red });
  }
  if (ctx.budget.over) return budgetMask(script);
  const edits: Array<[number, number, string]> = [];
  for (const { words, values, red } of done)
    words.forEach((w, k) => {
      if (red[k] !== values[k]) edits.push([w.start, w.end, renderWord(red[k], w.quote)]);
    });
  // Secrets spanning words (a PEM block, a user pattern) are looked for in the whole script too.
  if (script.includes('BEGIN ') || ctx.patterns?.test(script)) {
    const whole = new Spans();
    findPrivateKeys(script, whole);
    ctx.patterns?.find(script, whole);
    for (let k = 0; k < whole.list.length; k += 2) {
      const [s, e] = [whole.list[k], whole.list[k + 1]];
      if (/\s/.test(script.slice(s, e))) edits.push([s, e, MASK]);
    }
  }
  if (!edits.length) return script;
  edits.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let text = '';
  let at = 0;
  for (const [s, e, v] of edits) {
    if (s < at) {
      if (e > at) {
        text += MASK;
        at = e;
      }
      continue;
    }
    text += script.slice(at, s) + v;
    at = e;
  }
  return text + script.slice(at);
}
