import { EVENT_TYPES, isEventType, type EventType } from './event-types';
import { fieldSpec, type EventFields } from './fields';
import { escapeReplacementChars, truncateEvent } from './limits';

/**
 * One forensic event. Identity, time, type and message are always present;
 * every other field is optional and named in {@link FIELDS}.
 *
 * `timeNs` is nanoseconds since the Unix epoch as a decimal string, because a
 * JavaScript number cannot hold it exactly.
 */
export interface CasefileEvent extends EventFields {
  id: string;
  type: EventType;
  timeNs: string;
  /** Human-readable message; it is the Loki log line. */
  message: string;
}

/** A fresh event id (UUID v4): unique, so loss and duplication can be counted. */
export function newEventId(): string {
  return globalThis.crypto.randomUUID();
}

/** Current time in nanoseconds since the epoch, as a decimal string. */
export function nowNs(): string {
  return `${Date.now()}000000`; // whole milliseconds: the digits of ms * 10^6 without a BigInt
}

/** Convert milliseconds (number or Date) to the `timeNs` string form. */
export function msToNs(ms: number | Date): string {
  const v = typeof ms === 'number' ? ms : ms.getTime();
  return (BigInt(Math.trunc(v)) * 1_000_000n + BigInt(Math.round((v % 1) * 1e6))).toString();
}

/** Milliseconds since the epoch for a `timeNs` string (loses sub-ms precision). */
export function nsToMs(ns: string): number {
  return Number(BigInt(ns) / 1_000_000n);
}

/** An error that names the field at fault. */
export class EventValidationError extends Error {
  constructor(
    readonly field: string,
    message: string
  ) {
    super(`${field}: ${message}`);
    this.name = 'EventValidationError';
  }
}

// Lone surrogates cannot be encoded as UTF-8, so OTLP and Loki would change them.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string has no lone surrogate: the engine's own check where it has one (Node 20, current browsers). */
const wellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !LONE_SURROGATE.test(s);

function checkString(field: string, v: unknown): void {
  if (typeof v !== 'string') throw new EventValidationError(field, `expected a string, got ${typeof v}`);
  if (!wellFormed(v))
    throw new EventValidationError(field, 'contains a lone UTF-16 surrogate (not valid UTF-8)');
}

/**
 * Check an event against the contract: id, type, time, message, the type's
 * required fields, and each field's kind. Throws {@link EventValidationError}
 * naming the first field at fault; returns the event unchanged otherwise.
 */
export function validateEvent<E extends CasefileEvent>(e: E): E {
  checkString('id', e.id);
  if (!e.id) throw new EventValidationError('id', 'is empty');
  if (typeof e.type !== 'string' || !isEventType(e.type))
    throw new EventValidationError('type', `unknown event type ${JSON.stringify(e.type)}`);
  if (typeof e.timeNs !== 'string' || !/^\d{1,20}$/.test(e.timeNs))
    throw new EventValidationError('timeNs', 'expected nanoseconds as a decimal string');
  checkString('message', e.message);
  for (const f of EVENT_TYPES[e.type].required) {
    if (e[f] === undefined || e[f] === null || e[f] === '')
      throw new EventValidationError(f, `is required for ${e.type}`);
  }
  for (const f in e) {
    const spec = fieldSpec(f);
    const v = (e as unknown as Record<string, unknown>)[f];
    if (!spec || v === undefined) continue;
    switch (spec.kind) {
      case 'int':
        if (typeof v !== 'number' || !Number.isSafeInteger(v))
          throw new EventValidationError(f, 'expected an integer');
        break;
      case 'bool':
        if (typeof v !== 'boolean') throw new EventValidationError(f, 'expected a boolean');
        break;
      case 'string[]':
        if (!Array.isArray(v)) throw new EventValidationError(f, 'expected an array of strings');
        // The element's name is built only for an error: this runs for every argv of every event.
        for (let i = 0; i < v.length; i++) {
          const s = v[i];
          if (typeof s !== 'string' || !wellFormed(s)) checkString(`${f}[${i}]`, s);
        }
        break;
      default:
        checkString(f, v);
        if ((v as string).includes('\uFFFD')) {
          throw new EventValidationError(
            f,
            'contains U+FFFD, which Loki turns into a space; build events with makeEvent()'
          );
        }
    }
  }
  return e;
}

/** Fields a caller may set on a new event; id and time default to fresh values. */
export type NewEvent = Omit<CasefileEvent, 'id' | 'timeNs'> & Partial<Pick<CasefileEvent, 'id' | 'timeNs'>>;

/** Build a valid event: fills id and time, truncates oversized values, validates. */
export function makeEvent(e: NewEvent): CasefileEvent {
  // Object.assign, not a spread: on V8 (Node 20) a spread copy of an event is several times
  // slower, and so is every field added to it later (enrichment adds host, user, container names).
  // A key named __proto__ would set the copy's prototype through assign: such input is spread.
  const ev = (Object.hasOwn(e, '__proto__') ? { ...e } : Object.assign({}, e)) as CasefileEvent;
  ev.id ??= newEventId();
  ev.timeNs ??= nowNs();
  return validateEvent(truncateEvent(escapeReplacementChars(ev)));
}
