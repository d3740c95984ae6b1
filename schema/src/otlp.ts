import type { CasefileEvent } from './event';
import { severityOf } from './event-types';
import { FIELDS, fieldSpec } from './fields';

/** Attribute carrying the event id and type on every record. */
export const EVENT_ID_ATTR = 'casefile.event.id';
export const EVENT_TYPE_ATTR = 'casefile.event.type';
/** `service.namespace` of every Casefile component; the root of every stream selector. */
export const SERVICE_NAMESPACE = 'casefile';

export type AttrValue = string | number | boolean;

/**
 * The shape of an OpenTelemetry JS `LogRecord` (api-logs), without depending
 * on it: pass it to `logger.emit()` as it is.
 */
export interface OtlpLogRecord {
  /** HrTime: [seconds, nanoseconds], exact to the nanosecond. */
  timestamp: [number, number];
  severityNumber: number;
  severityText: string;
  body: string;
  attributes: Record<string, AttrValue>;
}

/**
 * Map an event to an OTLP log record. The message is the body; every set
 * field becomes a log attribute under its OTel name, except resource fields
 * (host), which belong to the producer's resource ({@link resourceAttributes}).
 * Empty strings are omitted (Loki drops empty label values). Arrays are sent
 * as JSON strings, since Loki flattens array attributes.
 *
 * @example toLogRecord({ id: 'a', type: 'process.start', timeNs: '1700000000000000001', message: 'sh', pid: 7, executable: '/bin/sh' })
 *   // => { timestamp: [1700000000, 1], body: 'sh', attributes: { 'casefile.event.id': 'a', 'casefile.event.type': 'process.start', 'process.pid': 7, 'process.executable.path': '/bin/sh' }, ... }
 */
export function toLogRecord(e: CasefileEvent): OtlpLogRecord {
  const ns = BigInt(e.timeNs);
  const sev = severityOf(e.type);
  const attributes: Record<string, AttrValue> = { [EVENT_ID_ATTR]: e.id, [EVENT_TYPE_ATTR]: e.type };
  for (const f in e) {
    const spec = fieldSpec(f);
    const v = (e as unknown as Record<string, unknown>)[f];
    if (!spec || v === undefined || v === null || v === '' || spec.resource) continue;
    attributes[spec.attr] = spec.kind === 'string[]' ? JSON.stringify(v) : (v as AttrValue);
  }
  return {
    timestamp: [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)],
    severityNumber: sev.number,
    severityText: sev.text,
    body: e.message,
    attributes,
  };
}

export interface ProducerIdentity {
  /** e.g. casefile-collector, casefile-server */
  serviceName: string;
  serviceVersion?: string;
  /** Host the producer runs on; becomes the `host_name` stream label. */
  host: string;
  hostId?: string;
  /** Defaults to the host id or name: stable across restarts, so streams do not churn. */
  instanceId?: string;
}

/** OTel resource attributes of a Casefile producer. */
export function resourceAttributes(p: ProducerIdentity): Record<string, string> {
  const r: Record<string, string> = {
    'service.name': p.serviceName,
    'service.namespace': SERVICE_NAMESPACE,
    'service.instance.id': p.instanceId ?? p.hostId ?? p.host,
    [FIELDS.host.attr]: p.host,
  };
  if (p.serviceVersion) r['service.version'] = p.serviceVersion;
  if (p.hostId) r[FIELDS.hostId.attr] = p.hostId;
  return r;
}
