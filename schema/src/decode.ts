import type { CasefileEvent } from './event';
import { isEventType } from './event-types';
import { FIELDS, FIELD_NAMES, lokiName, type FieldName, type FieldSpec } from './fields';
import { EVENT_ID_LABEL, EVENT_TYPE_LABEL } from './loki-labels';

/** Loki label name -> field, built once from {@link FIELDS}. */
const FIELD_BY_LABEL = new Map<string, FieldName>(
  FIELD_NAMES.map((f) => [lokiName((FIELDS[f] as FieldSpec).attr), f])
);

/**
 * An entry that Loki holds but that is not a Casefile event this build can read
 * (no id, or an event type it does not know): everything Loki returned for it,
 * so it can be kept and exported instead of dropped. Shaped like an event
 * (`id`, `type`, `timeNs`, `message`) so CSV writers give it a row; the
 * `unreadable` field (the reason) tells it from one.
 */
export interface UnreadableEntry {
  /** The casefile_event_id label, or '' when it has none. */
  id: string;
  /** The casefile_event_type label as Loki holds it, or ''. */
  type: string;
  timeNs: string;
  /** The entry's line, exactly as Loki returned it. */
  message: string;
  /** Why it could not be read as an event. */
  unreadable: string;
  /** Stream labels (with plain response encoding, structured metadata is merged in here). */
  stream: Record<string, string>;
  structuredMetadata: Record<string, string>;
  parsed: Record<string, string>;
}

/** An entry that is not a Casefile event (no id or unknown type); `entry` keeps all of it. */
export class DecodeError extends Error {
  readonly entry: UnreadableEntry;
  constructor(
    message: string,
    readonly labels: Record<string, string>,
    entry?: Omit<UnreadableEntry, 'unreadable'>
  ) {
    super(message);
    this.name = 'DecodeError';
    this.entry = {
      ...(entry ?? {
        id: labels[EVENT_ID_LABEL] ?? '',
        type: labels[EVENT_TYPE_LABEL] ?? '',
        timeNs: '',
        message: '',
        stream: labels,
        structuredMetadata: {},
        parsed: {},
      }),
      unreadable: message,
    };
  }
}

/**
 * Rebuild an event from one Loki entry: its labels (stream labels and
 * structured metadata merged), its timestamp in ns and its line. Unknown
 * labels (Loki's own, such as `detected_level`) are ignored.
 *
 * @example eventFromLabels({ casefile_event_id: 'a', casefile_event_type: 'process.start', process_pid: '7' }, '1', 'sh')
 *   // => { id: 'a', type: 'process.start', timeNs: '1', message: 'sh', pid: 7 }
 */
export function eventFromLabels(labels: Record<string, string>, timeNs: string, line: string): CasefileEvent {
  return eventFromSources([labels], timeNs, line);
}

const NO_LABELS: Record<string, string> = {};

/**
 * {@link eventFromLabels} over label sets applied in order, a later one
 * winning, as if merged: the entry's stream labels, structured metadata and
 * parsed labels are read where they are, without a merged copy per entry
 * (a page of thousands of entries would make as many throwaway objects).
 */
function eventFromSources(sources: readonly Record<string, string>[], timeNs: string, line: string) {
  const id = labelIn(sources, EVENT_ID_LABEL);
  const type = labelIn(sources, EVENT_TYPE_LABEL);
  if (!id) throw new DecodeError(`entry at ${timeNs} has no ${EVENT_ID_LABEL}`, merged(sources));
  if (!type || !isEventType(type))
    throw new DecodeError(`entry ${id} has unknown type ${JSON.stringify(type)}`, merged(sources));
  const e: CasefileEvent = { id, type, timeNs, message: line };
  const out = e as unknown as Record<string, unknown>;
  for (const src of sources)
    for (const label in src) {
      const f = FIELD_BY_LABEL.get(label);
      if (!f) continue;
      const raw = src[label];
      switch ((FIELDS[f] as FieldSpec).kind) {
        case 'int':
          out[f] = Number(raw);
          break;
        case 'bool':
          out[f] = raw === 'true';
          break;
        case 'string[]':
          try {
            out[f] = JSON.parse(raw);
          } catch {
            out[f] = [raw];
          }
          break;
        default:
          out[f] = raw;
      }
    }
  return e;
}

/** A label's value as the merged label set would have it: the last source that has it. */
function labelIn(sources: readonly Record<string, string>[], k: string): string | undefined {
  for (let i = sources.length - 1; i >= 0; i--) if (sources[i][k] !== undefined) return sources[i][k];
  return undefined;
}

const merged = (sources: readonly Record<string, string>[]) => Object.assign({}, ...sources);

/** One stream of a Loki `query_range` answer (resultType "streams"). */
export interface LokiStream {
  stream: Record<string, string>;
  /** [ts ns, line] or, with `X-Loki-Response-Encoding-Flags: categorize-labels`, [ts, line, {structuredMetadata, parsed}] */
  values: Array<[string, string] | [string, string, LokiEntryMetadata]>;
}
export interface LokiEntryMetadata {
  structuredMetadata?: Record<string, string>;
  parsed?: Record<string, string>;
}

export interface DecodedStreams {
  /** Events sorted by time, then id. */
  events: CasefileEvent[];
  /** Entries that were not Casefile events (each keeps the whole entry). */
  errors: DecodeError[];
}

/** One value of a stream: [ts ns, line] or [ts ns, line, metadata]. */
export type LokiValue = LokiStream['values'][number];

/**
 * Decode one Loki entry: the event, or a DecodeError whose `entry` keeps
 * the line, the stream labels and the metadata as Loki returned them.
 */
export function decodeEntry(stream: Record<string, string>, v: LokiValue): CasefileEvent | DecodeError {
  const meta = v[2];
  const sources = meta ? [stream, meta.structuredMetadata ?? NO_LABELS, meta.parsed ?? NO_LABELS] : [stream];
  try {
    return eventFromSources(sources, v[0], v[1]);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    const labels = merged(sources);
    return new DecodeError(err.message, labels, {
      id: labels[EVENT_ID_LABEL] ?? '',
      type: labels[EVENT_TYPE_LABEL] ?? '',
      timeNs: v[0],
      message: v[1],
      stream,
      structuredMetadata: { ...meta?.structuredMetadata },
      parsed: { ...meta?.parsed },
    });
  }
}

/**
 * Decode Loki's streams into events sorted by (time, id). Works with both
 * response encodings: plain (metadata merged into the stream labels) and
 * categorize-labels (metadata per entry). Entries that are not events come
 * back as `errors`, each keeping the whole entry.
 */
export function decodeStreams(result: LokiStream[]): DecodedStreams {
  const events: CasefileEvent[] = [];
  const errors: DecodeError[] = [];
  for (const s of result) {
    for (const v of s.values) {
      const d = decodeEntry(s.stream, v);
      if (d instanceof DecodeError) errors.push(d);
      else events.push(d);
    }
  }
  events.sort(compareEvents);
  return { events, errors };
}

/** Order by time (ns), then id: a total order, so pages can resume at an edge. */
export function compareEvents(a: CasefileEvent, b: CasefileEvent): number {
  if (a.timeNs !== b.timeNs) {
    return a.timeNs.length !== b.timeNs.length
      ? a.timeNs.length - b.timeNs.length
      : a.timeNs < b.timeNs
        ? -1
        : 1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
