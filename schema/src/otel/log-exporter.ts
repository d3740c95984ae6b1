/**
 * The stock OTLP/HTTP log exporter in the protocol the standard variables
 * choose: `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL`, then `OTEL_EXPORTER_OTLP_PROTOCOL`.
 * `http/json` (the default: what Casefile has always sent) or `http/protobuf`;
 * `grpc` is refused with a clear error, since Loki takes OTLP over HTTP only.
 */
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtobufLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';

export const OTLP_PROTOCOLS = ['http/json', 'http/protobuf'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/**
 * The protocol named by the standard variables of `env`, or `http/json`.
 * Throws on any other value, naming the variable.
 *
 * @example otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }) // => 'http/protobuf'
 */
export function otlpProtocol(env: NodeJS.ProcessEnv = process.env): OtlpProtocol {
  for (const name of ['OTEL_EXPORTER_OTLP_LOGS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const v = env[name]?.trim();
    if (!v) continue;
    if ((OTLP_PROTOCOLS as readonly string[]).includes(v)) return v as OtlpProtocol;
    throw new Error(
      `${name}=${v} is not supported: use ${OTLP_PROTOCOLS.join(' or ')} (Loki takes OTLP over HTTP)`
    );
  }
  return 'http/json';
}

export interface LogExporterOptions {
  /** The OTLP logs URL, e.g. http://127.0.0.1:3100/otlp/v1/logs. */
  url: string;
  protocol?: OtlpProtocol;
  headers?: Record<string, string>;
  /** Per request. Default 10 s (the SDK's). */
  timeoutMs?: number;
  compression?: 'gzip' | 'none';
}

/** A stock `OTLPLogExporter` (JSON or protobuf) for `url`. */
export function createLogExporter(o: LogExporterOptions): LogRecordExporter {
  const config = {
    url: o.url,
    headers: o.headers,
    timeoutMillis: o.timeoutMs,
    compression: o.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
  };
  return o.protocol === 'http/protobuf' ? new ProtobufLogExporter(config) : new JsonLogExporter(config);
}
