/**
 * One log record as one line of the durable queue, and back. The line holds
 * what the record itself carries (times, severity, body, attributes); the
 * resource and instrumentation scope are the collector's, given again on
 * read, so every record of a batch shares them (one OTLP ResourceLogs).
 *
 * Lines written before the queue held log records (a collector from before
 * the DeliveryProcessor) are Casefile events as JSON: they are read through
 * schema's toLogRecord, so an upgrade loses nothing that was queued.
 */
import type { AnyValue, LogAttributes } from '@opentelemetry/api-logs';
import type { HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { toLogRecord, type CasefileEvent } from '@casefile/schema';

/** The stored form: short keys, since every record on disk repeats them. */
interface StoredRecord {
  t: HrTime;
  o: HrTime;
  n?: number;
  s?: string;
  b?: AnyValue;
  a: LogAttributes;
  e?: string;
}

/** The resource and scope every record read back belongs to. */
export interface RecordOrigin {
  resource: Resource;
  scope: { name: string; version?: string };
}

/**
 * The queue line of a record: the StoredRecord's JSON, in one stringify (fields
 * left undefined are left out). One flat string: building it from per-field
 * pieces made each piece and then a flattened copy of the whole, about a
 * quarter more to allocate and collect per record.
 */
export function encodeRecord(r: ReadableLogRecord): string {
  const s: StoredRecord = {
    t: r.hrTime,
    o: r.hrTimeObserved,
    n: r.severityNumber,
    s: r.severityText,
    b: r.body,
    e: r.eventName,
    a: r.attributes,
  };
  return JSON.stringify(s);
}

/** A pre-DeliveryProcessor line: a Casefile event, mapped as the collector maps it now. */
function fromEvent(e: CasefileEvent): StoredRecord {
  const r = toLogRecord(e);
  return {
    t: r.timestamp,
    o: r.timestamp,
    n: r.severityNumber,
    s: r.severityText,
    b: r.body,
    a: r.attributes,
  };
}

/**
 * A record kept in memory by the queue, as decodeRecord would give it back
 * from its line: the same fields, the origin's resource and scope (so one
 * batch is one ResourceLogs whichever way its records came), nothing copied.
 */
export function queuedRecord(r: ReadableLogRecord, origin: RecordOrigin): ReadableLogRecord {
  return {
    hrTime: r.hrTime,
    hrTimeObserved: r.hrTimeObserved,
    severityNumber: r.severityNumber,
    severityText: r.severityText,
    body: r.body,
    attributes: r.attributes,
    eventName: r.eventName,
    resource: origin.resource,
    instrumentationScope: origin.scope,
    droppedAttributesCount: 0,
  };
}

/**
 * The record of a queue line. Throws on a line that is neither a stored
 * record nor a Casefile event (the caller counts and skips it).
 */
export function decodeRecord(line: string, origin: RecordOrigin): ReadableLogRecord {
  const v = JSON.parse(line) as Partial<StoredRecord & CasefileEvent>;
  let s: StoredRecord;
  if (Array.isArray(v.t) && v.a) s = v as StoredRecord;
  else if (typeof v.timeNs === 'string' && typeof v.type === 'string') s = fromEvent(v as CasefileEvent);
  else throw new Error('neither a stored log record nor a Casefile event');
  return {
    hrTime: s.t,
    hrTimeObserved: s.o ?? s.t,
    severityNumber: s.n,
    severityText: s.s,
    body: s.b,
    attributes: s.a,
    eventName: s.e,
    resource: origin.resource,
    instrumentationScope: origin.scope,
    droppedAttributesCount: 0,
  };
}
