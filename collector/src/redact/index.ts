/**
 * Redaction stage: masks secrets in the command line, the arguments and the
 * message of every event before it is queued, so nothing secret leaves the
 * node (or reaches the on-disk queue). On by default (`redact.enabled`).
 */
import type { CasefileEvent } from '@casefile/schema';
import type { Stage } from '../pipeline/types';
import { redactArgs, redactText } from './rules';

export { MASK, TEXT_RULES, applyTextRules, redactArgs, redactText } from './rules';

/**
 * The event with secrets masked, or the same object when nothing was secret.
 *
 * @example redactEvent({ ...e, commandLine: 'mysql -phunter2' }).commandLine // => 'mysql -p[REDACTED]'
 */
export function redactEvent(e: CasefileEvent): CasefileEvent {
  const message = redactText(e.message);
  const commandLine =
    e.commandLine === undefined
      ? undefined
      : e.commandLine === e.message
        ? message
        : redactText(e.commandLine);
  // Any secret in argv is also found in argv joined by spaces (a superset of the word boundaries), so the
  // precise per-argument pass only runs when the cheap joined check finds something.
  const joined = e.args?.join(' ');
  const joinedClean =
    joined === e.commandLine ? commandLine === e.commandLine : redactText(joined!) === joined;
  const args = e.args === undefined || joinedClean ? undefined : redactArgs(e.args);
  const argsChanged = args !== undefined && args.some((a, i) => a !== e.args![i]);
  if (message === e.message && commandLine === e.commandLine && !argsChanged) return e;
  const out: CasefileEvent = { ...e, message };
  if (commandLine !== undefined) out.commandLine = commandLine;
  if (argsChanged) out.args = args;
  return out;
}

/** The redaction stage; `redacted` counts events that had something masked. */
export function createRedactStage(): Stage & { redacted: number } {
  return {
    name: 'redact',
    redacted: 0,
    process(e, emit) {
      const r = redactEvent(e);
      if (r !== e) this.redacted++;
      emit(r);
    },
  };
}
