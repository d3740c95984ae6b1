/**
 * `POST /otlp/v1/logs`: an OTLP/HTTP logs request (JSON or protobuf, optionally
 * gzip) turned into Loki entries the way Loki maps them (docs: send-data/otel,
 * "Format considerations"): indexed resource attributes become stream labels,
 * every other attribute structured metadata, names normalised to `[a-zA-Z0-9_]`.
 */
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { HttpError } from './http-error';

/** One entry before validation: its stream labels, time, line and structured metadata. */
export interface PushEntry {
  labels: Record<string, string>;
  ts: bigint;
  line: string;
  meta: Record<string, string>;
}

/**
 * The subset of opentelemetry-proto (Apache-2.0; opentelemetry/proto/logs/v1/logs.proto,
 * common/v1/common.proto, resource/v1/resource.proto) that a logs export carries.
 */
const OTLP = protobuf.Root.fromJSON({
  nested: {
    AnyValue: {
      oneofs: {
        value: {
          oneof: [
            'stringValue',
            'boolValue',
            'intValue',
            'doubleValue',
            'arrayValue',
            'kvlistValue',
            'bytesValue',
          ],
        },
      },
      fields: {
        stringValue: { type: 'string', id: 1 },
        boolValue: { type: 'bool', id: 2 },
        intValue: { type: 'int64', id: 3 },
        doubleValue: { type: 'double', id: 4 },
        arrayValue: { type: 'ArrayValue', id: 5 },
        kvlistValue: { type: 'KeyValueList', id: 6 },
        bytesValue: { type: 'bytes', id: 7 },
      },
    },
    ArrayValue: { fields: { values: { rule: 'repeated', type: 'AnyValue', id: 1 } } },
    KeyValueList: { fields: { values: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
    KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
    Resource: { fields: { attributes: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
    InstrumentationScope: {
      fields: {
        name: { type: 'string', id: 1 },
        version: { type: 'string', id: 2 },
        attributes: { rule: 'repeated', type: 'KeyValue', id: 3 },
      },
    },
    LogRecord: {
      fields: {
        timeUnixNano: { type: 'fixed64', id: 1 },
        observedTimeUnixNano: { type: 'fixed64', id: 11 },
        severityNumber: { type: 'int32', id: 2 },
        severityText: { type: 'string', id: 3 },
        body: { type: 'AnyValue', id: 5 },
        attributes: { rule: 'repeated', type: 'KeyValue', id: 6 },
        flags: { type: 'fixed32', id: 8 },
        traceId: { type: 'bytes', id: 9 },
        spanId: { type: 'bytes', id: 10 },
      },
    },
    ScopeLogs: {
      fields: {
        scope: { type: 'InstrumentationScope', id: 1 },
        logRecords: { rule: 'repeated', type: 'LogRecord', id: 2 },
      },
    },
    ResourceLogs: {
      fields: {
        resource: { type: 'Resource', id: 1 },
        scopeLogs: { rule: 'repeated', type: 'ScopeLogs', id: 2 },
      },
    },
    ExportLogsServiceRequest: { fields: { resourceLogs: { rule: 'repeated', type: 'ResourceLogs', id: 1 } } },
  },
});
const ExportLogsServiceRequest = OTLP.lookupType('ExportLogsServiceRequest');

interface KV {
  key: string;
  value?: AnyValue;
}
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KV[] };
  bytesValue?: string;
}
interface LogRecord {
  timeUnixNano?: string | number;
  observedTimeUnixNano?: string | number;
  severityNumber?: number;
  severityText?: string;
  body?: AnyValue;
  attributes?: KV[];
  traceId?: string;
  spanId?: string;
}
interface Request {
  resourceLogs?: {
    resource?: { attributes?: KV[] };
    scopeLogs?: {
      scope?: { name?: string; version?: string; attributes?: KV[] };
      logRecords?: LogRecord[];
    }[];
  }[];
}

/** Body of the request as an OTLP object, by Content-Type and Content-Encoding. */
export function decodeRequest(body: Buffer, contentType = '', contentEncoding = ''): Request {
  let raw = body;
  const enc = contentEncoding.trim().toLowerCase();
  if (enc === 'gzip') {
    try {
      raw = gunzipSync(body);
    } catch (e) {
      throw new HttpError(400, `malformed gzip body: ${(e as Error).message}`);
    }
  } else if (enc && enc !== 'identity') {
    throw new HttpError(415, `Content-Encoding ${enc} is not modelled by the Loki stand-in (gzip is)`);
  }
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'application/json') {
    try {
      return JSON.parse(raw.toString('utf8')) as Request;
    } catch (e) {
      throw new HttpError(400, `malformed OTLP JSON: ${(e as Error).message}`);
    }
  }
  if (type === 'application/x-protobuf') {
    try {
      const msg = ExportLogsServiceRequest.decode(raw);
      return ExportLogsServiceRequest.toObject(msg, { longs: String, bytes: String }) as Request;
    } catch (e) {
      throw new HttpError(400, `malformed OTLP protobuf: ${(e as Error).message}`);
    }
  }
  throw new HttpError(
    415,
    `unsupported Content-Type ${JSON.stringify(contentType)}: application/json or application/x-protobuf`
  );
}

/** Loki's label name normalisation (Prometheus rules: every other character becomes `_`). */
export function normaliseName(attr: string): string {
  const n = attr.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(n) ? `key_${n}` : n;
}

/**
 * An attribute value as Loki stores it, flattening maps as `name_key`. Arrays
 * are not modelled (Casefile sends them as JSON strings): refused, not guessed.
 */
function flatten(name: string, v: AnyValue | undefined, out: Record<string, string>): void {
  if (!v) return;
  let s: string;
  if (v.stringValue !== undefined) s = v.stringValue;
  else if (v.boolValue !== undefined) s = String(v.boolValue);
  else if (v.intValue !== undefined) s = String(v.intValue);
  else if (v.doubleValue !== undefined) s = String(v.doubleValue);
  else if (v.bytesValue !== undefined) s = v.bytesValue;
  else if (v.kvlistValue) {
    for (const kv of v.kvlistValue.values ?? []) flatten(`${name}_${normaliseName(kv.key)}`, kv.value, out);
    return;
  } else if (v.arrayValue) {
    throw new HttpError(400, `array attribute ${name} is not modelled by the Loki stand-in`);
  } else return;
  // Measured on Loki 3.7.8 (MACHINE.md): empty values are dropped, and U+FFFD in
  // structured metadata becomes a space.
  if (s === '') return;
  out[name] = s.replace(/\ufffd/g, ' ');
}

function attrs(kvs: KV[] | undefined, out: Record<string, string> = {}): Record<string, string> {
  for (const kv of kvs ?? []) flatten(normaliseName(kv.key), kv.value, out);
  return out;
}

function nanos(v: string | number | undefined): bigint {
  if (v === undefined || v === '') return 0n;
  try {
    return BigInt(v);
  } catch {
    throw new HttpError(400, `malformed timeUnixNano ${JSON.stringify(v)}`);
  }
}

/** The entries of one decoded request. `now` is the time of ingestion, for records without a time. */
export function toEntries(req: Request, indexLabels: ReadonlySet<string>, now: bigint): PushEntry[] {
  const out: PushEntry[] = [];
  for (const rl of req.resourceLogs ?? []) {
    const labels: Record<string, string> = {};
    const resourceMeta: Record<string, string> = {};
    for (const kv of rl.resource?.attributes ?? []) {
      flatten(normaliseName(kv.key), kv.value, indexLabels.has(kv.key) ? labels : resourceMeta);
    }
    // docs: send-data/otel: a missing service.name becomes service_name="unknown_service".
    labels.service_name ??= 'unknown_service';
    for (const sl of rl.scopeLogs ?? []) {
      const scopeMeta: Record<string, string> = {};
      if (sl.scope?.name) scopeMeta.scope_name = sl.scope.name;
      if (sl.scope?.version) scopeMeta.scope_version = sl.scope.version;
      attrs(sl.scope?.attributes, scopeMeta);
      for (const r of sl.logRecords ?? []) {
        const body = r.body;
        if (body && body.stringValue === undefined && Object.keys(body).length)
          throw new HttpError(400, 'a non-string log body is not modelled by the Loki stand-in');
        const meta: Record<string, string> = { ...resourceMeta, ...scopeMeta };
        attrs(r.attributes, meta);
        if (r.severityText) meta.severity_text = r.severityText;
        if (r.severityNumber) meta.severity_number = String(r.severityNumber);
        if (r.traceId) meta.trace_id = r.traceId;
        if (r.spanId) meta.span_id = r.spanId;
        // docs: the record's time, else its observed time, else the time of ingestion.
        let ts = nanos(r.timeUnixNano);
        if (ts === 0n) ts = nanos(r.observedTimeUnixNano);
        if (ts === 0n) ts = now;
        out.push({ labels, ts, line: body?.stringValue ?? '', meta });
      }
    }
  }
  return out;
}
