/**
 * The stock OTLP/HTTP log exporter in the protocol the standard variables
 * choose: `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL`, then `OTEL_EXPORTER_OTLP_PROTOCOL`.
 * `http/json` (the default: what Casefile has always sent) or `http/protobuf`;
 * `grpc` is refused with a clear error, since Loki takes OTLP over HTTP only.
 * The protobuf exporter is imported only when chosen (about 1.5 MB of idle
 * RSS that a JSON producer never needs), by import() of the package itself:
 * a bundle hoists static imports of npm packages to its top.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import type { OTLPExporterNodeConfigBase } from '@opentelemetry/otlp-exporter-base';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';

/** Named in the error when it cannot load (the import below spells it out, for its types). */
const PROTOBUF_PACKAGE = '@opentelemetry/exporter-logs-otlp-proto';

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
  const config: OTLPExporterNodeConfigBase = {
    url: o.url,
    headers: o.headers,
    timeoutMillis: o.timeoutMs,
    compression: o.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
  };
  return o.protocol === 'http/protobuf'
    ? new LoadingLogExporter(
        import('@opentelemetry/exporter-logs-otlp-proto').then((m) => new m.OTLPLogExporter(config))
      )
    : new JsonLogExporter(config);
}

/**
 * An exporter still being imported: what is exported meanwhile waits for it
 * (a throw then is a failed export); once loaded, every call goes straight
 * through. If the package cannot load, every export fails, retryably, with
 * the package named (the delivery queue keeps the records).
 */
class LoadingLogExporter implements LogRecordExporter {
  private exporter?: LogRecordExporter;
  private failure?: Error;
  private readonly loaded: Promise<void>;

  constructor(loading: Promise<LogRecordExporter>) {
    this.loaded = loading.then(
      (e) => void (this.exporter = e),
      (err: Error) =>
        void (this.failure = new Error(
          `OTLP protocol http/protobuf needs ${PROTOBUF_PACKAGE}, which cannot be loaded: ${err.message}`,
          { cause: err }
        ))
    );
  }

  export(logs: ReadableLogRecord[], done: (r: ExportResult) => void): void {
    if (this.exporter) return this.exporter.export(logs, done);
    if (this.failure) return done({ code: ExportResultCode.FAILED, error: this.failure });
    void this.loaded.then(() => {
      try {
        this.export(logs, done);
      } catch (err) {
        done({ code: ExportResultCode.FAILED, error: err as Error });
      }
    });
  }

  async shutdown(): Promise<void> {
    await this.loaded;
    await this.exporter?.shutdown();
  }

  async forceFlush(): Promise<void> {
    await this.loaded;
    await this.exporter?.forceFlush();
  }
}
