/**
 * Redaction stage: masks secrets in every field that can carry a command
 * line or its arguments (message, args, command line, parent command line,
 * host-activity and audit text, container labels) before the event is
 * queued, so nothing secret leaves the node or reaches the on-disk queue.
 * On by default (`redact.enabled`).
 *
 * Time is linear in the size of the event (see command.ts, scan-value.ts,
 * tokens.ts), and each event has a budget (`redact.budgetMs`): past it, what
 * is not yet redacted is masked whole and the event is counted, never
 * shipped unredacted.
 */
import type { CasefileEvent } from '@casefile/schema';
import type { Stage } from '../pipeline/types';
import {
  Budget,
  CONSUMED,
  WORK_PER_MS,
  buildTrigger,
  quietUnchanged,
  redactCommand,
  type CommandContext,
} from './command';
import { budgetMask } from './spans';
import { findPrivateKeys } from './tokens';
import { findSqlPasswords } from './scan-value';
import { Spans } from './spans';
import { allowList, userPatterns, type RedactConfig } from './user-rules';

export { MASK, MASK_BUDGET } from './spans';
export { isSecretName } from './names';
export { compileUserPattern, type RedactConfig } from './user-rules';

/** Default per-event budget. */
export const DEFAULT_BUDGET_MS = 0.4;

/** Free-text fields that may quote a command line (redacted as text). */
const TEXT_FIELDS = ['parentCommandLine', 'operatorCommandLine', 'reason', 'labels'] as const;

/** Events whose message is longer than this skip the fast path (its checks are not budgeted). */
const FAST_PATH_MAX = 4096;

/** Whether `line` is `args` joined with single spaces (compared in place, nothing allocated). */
function isJoined(args: readonly string[], line: string): boolean {
  let at = 0;
  for (let k = 0; k < args.length; k++) {
    if (k > 0 && line.charCodeAt(at++) !== 32) return false;
    if (!line.startsWith(args[k], at)) return false;
    at += args[k].length;
  }
  return at === line.length;
}

/** The words of a text (split at whitespace and control chars, as sudo joins argv), with their offsets. */
function splitWords(s: string): { words: string[]; starts: number[] };
function splitWords(s: string, budget: Budget): { words: string[]; starts: number[] } | undefined;
function splitWords(s: string, budget?: Budget): { words: string[]; starts: number[] } | undefined {
  const words: string[] = [];
  const starts: number[] = [];
  for (let i = 0; i < s.length;) {
    while (i < s.length && s.charCodeAt(i) <= 32) i++;
    if (i >= s.length) break;
    const start = i;
    while (i < s.length && s.charCodeAt(i) > 32) {
      i++;
      if ((i & 1023) === 0 && budget?.spend(1024)) return undefined;
    }
    if (budget?.spend(i - start)) return undefined;
    words.push(s.slice(start, i));
    starts.push(start);
  }
  return { words, starts };
}

/** Fields a message may quote whole, inside other text (`exec into …: <cmd> (by <operator command line>)`). */
const QUOTED_FIELDS = ['commandLine', 'operatorCommandLine', 'parentCommandLine'] as const;

/**
 * `m` with every field it quotes replaced by that field's redacted form:
 * its words then keep the boundaries the field had, which the message's own
 * word split (one command line running into the next) would lose.
 */
function quoteRedacted(
  m: string,
  e: CasefileEvent,
  changes: Partial<Record<string, unknown>>,
  ctx: CommandContext
): string {
  const rec = e as unknown as Record<string, unknown>;
  for (const f of QUOTED_FIELDS) {
    const v = rec[f];
    const r = changes[f];
    if (typeof v !== 'string' || typeof r !== 'string' || ctx.budget.spend(m.length)) continue;
    if (m.includes(v)) m = m.split(v).join(r);
  }
  return m;
}

/** Secrets that span words of a text: PEM blocks, SQL passwords (`IDENTIFIED BY 'a b'`). */
function maskAcrossWords(s: string, ctx: CommandContext): string {
  // Three passes over `s` (trigger, PEM, SQL), charged first.
  if (ctx.budget.spend(3 * s.length)) return budgetMask(s);
  if (!ctx.trigger.test(s)) return s;
  const spans = new Spans();
  findPrivateKeys(s, spans);
  findSqlPasswords(s, spans, ctx);
  return spans.apply(s);
}

/** A redactor with its (user) rules compiled once. */
export class Redactor {
  private readonly base: Omit<CommandContext, 'budget'>;
  /** The per-event budget in work units ({@link WORK_PER_MS}). */
  private readonly budgetWork: number;
  /** The last message prefix (`process started: `) found quiet: the next event's is usually the same string. */
  private quietPrefix = '';

  constructor(config: Omit<RedactConfig, 'enabled'> = {}) {
    const names = (config.names ?? []).map((n) => n.toLowerCase());
    this.base = {
      names: names.length ? new Set(names) : undefined,
      flags: config.flags?.length ? new Set(config.flags) : undefined,
      patterns: userPatterns(config.patterns ?? []),
      allowed: allowList(config.allow ?? []),
      trigger: buildTrigger(names),
    };
    this.budgetWork = Math.round((config.budgetMs ?? DEFAULT_BUDGET_MS) * WORK_PER_MS);
  }

  private context(): CommandContext {
    return { ...this.base, budget: new Budget(this.budgetWork), quiet: false };
  }

  /**
   * The common case, decided cheaply: nothing in the message, command line
   * or other text fields can trigger a scanner, and no tool rule applies to
   * their words. For argv the command line is argv joined and the message
   * quotes it at its end, so one trigger pass over the message covers all
   * three. Only for small events: a large one goes through the budgeted path.
   */
  private untouched(e: CasefileEvent): boolean {
    const { args, commandLine, message } = e;
    if (message.length > FAST_PATH_MAX) return false;
    if (args) {
      if (commandLine === undefined || !message.endsWith(commandLine) || !isJoined(args, commandLine))
        return false;
      if (!this.quiet(message) || !quietUnchanged(args)) return false;
      const prefixLength = message.length - commandLine.length;
      if (prefixLength > 0 && !this.quietMessagePrefix(message.slice(0, prefixLength))) return false;
    } else if (
      !this.quietText(message) ||
      (commandLine !== undefined && (commandLine.length > FAST_PATH_MAX || !this.quietText(commandLine)))
    )
      return false;
    const rec = e as unknown as Record<string, unknown>;
    for (const f of TEXT_FIELDS) {
      const v = rec[f];
      if (typeof v === 'string' && (v.length > FAST_PATH_MAX || !this.quietText(v))) return false;
    }
    return true;
  }

  /** {@link quietText} for a message's prefix, remembering the last quiet one. */
  private quietMessagePrefix(prefix: string): boolean {
    if (prefix === this.quietPrefix) return true;
    if (!quietUnchanged(splitWords(prefix).words)) return false;
    this.quietPrefix = prefix;
    return true;
  }

  /** A text no scanner and no tool rule can change. */
  private quietText(s: string): boolean {
    return this.quiet(s) && quietUnchanged(splitWords(s).words);
  }

  /** Whether nothing in `s` can trigger the scanners (nor a user pattern): then only tool rules can apply. */
  private quiet(s: string): boolean {
    return !this.base.trigger.test(s) && !this.base.patterns?.test(s);
  }

  /**
   * argv with its secrets masked (a new array; unchanged strings are the same).
   *
   * @example new Redactor().args(['mysql', '-u', 'root', '-psecret']) // => ['mysql', '-u', 'root', '-p[REDACTED]']
   */
  args(args: readonly string[], ctx = this.context()): string[] {
    const out = args.slice();
    redactCommand(args, out, 0, ctx, false);
    return out;
  }

  /**
   * A command line or message that exists only as text (words split at
   * whitespace, as sudo logs them) with its secrets masked.
   *
   * @example new Redactor().text('psql postgres://app:hunter2@db/x') // => 'psql postgres://app:[REDACTED]@db/x'
   */
  text(s: string, ctx = this.context()): string {
    if (!s) return s;
    if (ctx.budget.spend(s.length)) return budgetMask(s);
    const split = splitWords(s, ctx.budget);
    if (!split) return budgetMask(s);
    const { words, starts } = split;
    const red = words.slice();
    redactCommand(words, red, 0, ctx, true);
    if (ctx.budget.over) return budgetMask(s);
    let changed = false;
    for (let k = 0; k < words.length && !changed; k++) changed = red[k] !== words[k];
    if (!changed) return maskAcrossWords(s, ctx);
    let out = '';
    let at = 0;
    for (let k = 0; k < words.length; k++) {
      if (red[k] !== CONSUMED) out += s.slice(at, starts[k]) + red[k];
      at = starts[k] + words[k].length;
    }
    out += s.slice(at);
    return maskAcrossWords(out, ctx);
  }

  /**
   * The event with secrets masked in every field that can carry them, or the
   * same object when nothing was secret. `overBudget` is set on the returned
   * info when the budget ran out.
   */
  event(e: CasefileEvent): { event: CasefileEvent; overBudget: boolean } {
    if (this.untouched(e)) return { event: e, overBudget: false };
    const ctx = this.context();
    const changes: Partial<Record<string, unknown>> = {};
    let args: string[] | undefined;
    const joined = e.args?.join(' ');
    if (e.args) {
      ctx.quiet = !ctx.budget.spend(joined!.length) && this.quiet(joined!);
      args = this.args(e.args, ctx);
      ctx.quiet = false;
      if (args.some((a, i) => a !== e.args![i])) changes.args = args;
    }
    let commandLine = e.commandLine;
    if (commandLine !== undefined) {
      if (
        joined !== undefined &&
        commandLine.startsWith(joined) &&
        !/\S/.test(commandLine.slice(joined.length, joined.length + 1))
      )
        // The command line is argv joined (maybe with a truncation marker): redact it as argv, word boundaries intact.
        commandLine =
          (changes.args ? args!.join(' ') : joined) + this.text(commandLine.slice(joined.length), ctx);
      else commandLine = this.text(commandLine, ctx);
      if (commandLine !== e.commandLine) changes.commandLine = commandLine;
    }
    const rec = e as unknown as Record<string, unknown>;
    for (const f of TEXT_FIELDS) {
      const v = rec[f];
      if (typeof v !== 'string') continue;
      const r = this.text(v, ctx);
      if (r !== v) changes[f] = r;
    }
    // Messages quote the command line at their end ("process started: <command line>").
    const m = e.message;
    let message: string;
    if (e.commandLine && m.endsWith(e.commandLine)) {
      const prefix = m.slice(0, m.length - e.commandLine.length);
      ctx.quiet = !ctx.budget.spend(prefix.length) && this.quiet(prefix);
      message = this.text(prefix, ctx) + commandLine;
      ctx.quiet = false;
    } else message = this.text(quoteRedacted(m, e, changes, ctx), ctx);
    if (message !== m) changes.message = message;
    const changed = Object.keys(changes);
    if (!changed.length) return { event: e, overBudget: ctx.budget.over };
    const out = { ...e, ...changes } as CasefileEvent;
    // The original bytes of a field that was not valid UTF-8 would carry the secret past the mask.
    if (e.rawBase64) {
      const raw = JSON.parse(e.rawBase64) as Record<string, string>;
      for (const f of changed) delete raw[f];
      if (Object.keys(raw).length) out.rawBase64 = JSON.stringify(raw);
      else delete out.rawBase64;
    }
    return { event: out, overBudget: ctx.budget.over };
  }
}

const defaultRedactor = new Redactor();

/** argv with the built-in rules. */
export function redactArgs(args: readonly string[]): string[] {
  return defaultRedactor.args(args);
}
/** A text command line or message with the built-in rules. */
export function redactText(s: string): string {
  return defaultRedactor.text(s);
}
/** An event with the built-in rules. */
export function redactEvent(e: CasefileEvent): CasefileEvent {
  return defaultRedactor.event(e).event;
}

/**
 * The redaction stage: `redacted` counts events that had something masked,
 * `overBudget` those that ran out of budget (and were masked whole from there).
 */
export function createRedactStage(
  config: Omit<RedactConfig, 'enabled'> = {}
): Stage & { redacted: number; overBudget: number } {
  const r = new Redactor(config);
  return {
    name: 'redact',
    redacted: 0,
    overBudget: 0,
    process(e, emit) {
      const { event, overBudget } = r.event(e);
      if (event !== e) this.redacted++;
      if (overBudget) this.overBudget++;
      emit(event);
    },
  };
}
