/**
 * The collector: sources -> validation (makeEvent) -> enrich -> runtime models
 * -> redaction -> validation -> OTel LoggerProvider -> DeliveryProcessor over the
 * durable queue -> OTLP exporter (export/otlp-export.ts), plus --stdout,
 * /metrics and /healthz. A bad event is counted and logged, never fatal; a
 * throwing stage drops that one event (counted), never the collector.
 */
import { makeEvent, toLogRecord, validateEvent, type CasefileEvent, type NewEvent } from '@casefile/schema';
import type { Logger } from 'pino';
import type { CollectorConfig } from '../config';
import { createEnricher, type Enricher } from '../enrich';
import type { DiskQueue } from '../export/disk-queue';
import { createExport, type CollectorExport } from '../export/otlp-export';
import { createModelStage, createRuntimeActions, type ModelStage } from '../models';
import { CollectorMetrics } from '../observability/metrics';
import { startHttpServer, type HttpServer } from '../observability/server';
import { createRedactStage } from '../redact';
import { containerDirectory } from '../sources/container-directory';
import { createSources } from '../sources';
import { ensureStateDir } from './state-dir';
import { StdoutWriter } from './stdout-writer';
import { SyntheticSource } from './synthetic-source';
import type { Source, Stage } from './types';

const VERSION = '0.1.0';

export interface CollectorOptions {
  /** Use these sources instead of createSources(config) (tests feeding hostile events). */
  sources?: Source[];
  /** Where --stdout writes. Default process.stdout. */
  stdout?: NodeJS.WritableStream;
}

interface SourceState {
  source: Source;
  active: boolean;
  reason?: string;
}

export class Collector {
  readonly metrics: CollectorMetrics;
  readonly queue?: DiskQueue;
  /** The OTLP export (provider, processor, queue) when an endpoint is set. */
  readonly export?: CollectorExport;
  private readonly stages: Stage[];
  private readonly enricher: Enricher;
  private readonly models: ModelStage;
  private readonly chain: (e: CasefileEvent) => void;
  private readonly redact?: ReturnType<typeof createRedactStage>;
  private readonly stdout?: StdoutWriter;
  private readonly eventsBySourceType = new Map<string, number>();
  private readonly invalidBySource = new Map<string, number>();
  /**
   * The event a source handed in, while the chain runs it: made by makeEvent(), so the sink need
   * not validate it again. Stages that change it in place write only values valid by construction
   * (enrich checks a runtime's answer once); anything else reaching the sink (a replacement from
   * redaction, an audit, an event a stage held and released later) is checked there. An identity
   * check, not a WeakSet: a weak set of every event costs an insert per event and work at every GC.
   */
  private current?: CasefileEvent;
  private stageErrors = 0;
  private sources: SourceState[] = [];
  private http?: HttpServer;
  private stopping?: Promise<void>;
  private lastInvalidLog = 0;
  /** The /metrics and /healthz address once started. */
  address?: string;

  constructor(
    readonly config: CollectorConfig,
    private readonly log: Logger,
    private readonly opts: CollectorOptions = {}
  ) {
    ensureStateDir(config.stateDir);
    this.metrics = new CollectorMetrics({
      eventsBySourceType: this.eventsBySourceType,
      invalidBySource: this.invalidBySource,
      dropped: () => ({
        queue_full: this.queue?.dropped ?? 0,
        queue_corrupt: (this.queue?.corruptRecords ?? 0) + (this.export?.records.undecodable ?? 0),
        rejected: this.export?.delivery.rejected ?? 0,
        stage_error: this.stageErrors,
      }),
      queue: () => this.queue?.stats(),
      sources: () =>
        this.sources.map((s) => ({ name: s.source.name, active: s.active, stats: s.source.stats?.() ?? {} })),
      redacted: () => this.redact?.redacted ?? 0,
      redactOverBudget: () => this.redact?.overBudget ?? 0,
      models: () => this.models.stats(),
      enrich: () => this.enricher.stats(),
    });
    if (config.otlp.endpoint) {
      this.export = createExport(config, VERSION, this.metrics, log);
      this.queue = this.export.queue;
    }
    if (config.stdout) this.stdout = new StdoutWriter(opts.stdout ?? process.stdout);
    // Block stops a container through whichever runtime (Engine API or CRI) runs it.
    const actions = createRuntimeActions(containerDirectory(config.sources.runtimeSocket));
    this.models = createModelStage(config, log.child({ component: 'models' }), actions);
    this.enricher = createEnricher(config, log.child({ component: 'enrich' }));
    this.stages = [this.enricher, this.models];
    if (config.redact.enabled) {
      this.redact = createRedactStage(config.redact);
      this.stages.push(this.redact);
    } else log.warn('redaction is off (--no-redact): command lines leave the node as they are');
    this.chain = this.compose();
  }

  /** The chain after validation, composed once: each stage hands to the next, the last to the sink. */
  private compose(): (e: CasefileEvent) => void {
    let next = (e: CasefileEvent) => this.sink(e);
    for (const st of [...this.stages].reverse()) {
      const to = next;
      next = (e) => {
        try {
          st.process(e, to);
        } catch (err) {
          this.stageErrors++;
          this.log.error(
            { err, stage: st.name, id: e.id, type: e.type },
            'stage failed on an event; event dropped'
          );
        }
      };
    }
    return next;
  }

  /** The emit function handed to one source. */
  emitter(source: string): (e: NewEvent | CasefileEvent) => void {
    // The counter's key per event type, made once: a key built per event costs a string and its hash.
    const keys = new Map<string, string>();
    return (raw) => {
      let e: CasefileEvent;
      try {
        e = makeEvent(raw as NewEvent);
      } catch (err) {
        this.invalid(source, err, raw);
        return;
      }
      let k = keys.get(e.type);
      if (k === undefined) keys.set(e.type, (k = `${source}\u0000${e.type}`));
      this.eventsBySourceType.set(k, (this.eventsBySourceType.get(k) ?? 0) + 1);
      this.current = e;
      try {
        this.chain(e);
      } finally {
        this.current = undefined;
      }
    };
  }

  private invalid(source: string, err: unknown, raw: unknown): void {
    this.invalidBySource.set(source, (this.invalidBySource.get(source) ?? 0) + 1);
    // At most one log line per second: a broken source must not flood stderr.
    const now = Date.now();
    if (now - this.lastInvalidLog < 1000) return;
    this.lastInvalidLog = now;
    const r = raw as { type?: unknown; id?: unknown } | undefined;
    this.log.warn(
      {
        source,
        error: (err as Error).message,
        type: r?.type,
        id: r?.id,
        invalidTotal: this.invalidBySource.get(source),
      },
      'invalid event dropped'
    );
  }

  /** After the stages: events they created or replaced are checked too, then printed and/or queued. */
  private sink(e: CasefileEvent): void {
    try {
      if (e !== this.current) validateEvent(e);
    } catch (err) {
      this.invalid('pipeline', err, e);
      return;
    }
    this.stdout?.write(JSON.stringify(e));
    this.export?.logger.emit(toLogRecord(e));
  }

  /** Start the HTTP endpoints, the exporter and every available source. */
  async start(): Promise<void> {
    const { config, log } = this;
    if (this.queue)
      log.info(
        {
          dir: this.queue.dir,
          queued: this.queue.depth,
          recoveredTornBytes: this.queue.recoveredTornBytes,
          corruptBytes: this.queue.corruptBytes,
          corruptRecords: this.queue.corruptRecords,
        },
        'durable queue open'
      );
    this.http = await startHttpServer(config.listen, this.metrics.registry, () => this.health(), log);
    this.address = this.http.address;
    log.info(
      {
        endpoint: config.otlp.endpoint ?? null,
        stdout: config.stdout,
        redact: config.redact.enabled,
        host: config.host.name,
      },
      'export'
    );
    const sources: Source[] = this.opts.sources ?? createSources(config, log.child({ component: 'sources' }));
    if (config.synthetic) sources.push(new SyntheticSource(config.synthetic));
    for (const name of config.sources.enabled) {
      if (!this.opts.sources && !sources.some((s) => s.name === name))
        log.warn({ source: name }, 'source is enabled but not built in');
    }
    for (const source of sources) {
      const st: SourceState = { source, active: false };
      this.sources.push(st);
      try {
        const a = await source.available();
        if (!a.ok) {
          st.reason = a.reason;
          continue;
        }
        await source.start(this.emitter(source.name));
        st.active = true;
      } catch (err) {
        st.reason = `failed to start: ${(err as Error).message}`;
      }
    }
    const inactive = this.sources.filter((s) => !s.active);
    log[inactive.length ? 'warn' : 'info'](
      {
        active: this.sources.filter((s) => s.active).map((s) => s.source.name),
        inactive: Object.fromEntries(inactive.map((s) => [s.source.name, s.reason])),
      },
      'sources'
    );
  }

  /** Status for /healthz. */
  health(): { status: string; [k: string]: unknown } {
    // A started source can still be blind (its log file not there yet): degraded, with the reason.
    const state = (s: SourceState) => {
      const blind = s.active ? s.source.blind?.() : undefined;
      if (s.active && !blind) return 'active';
      // Not active and no reason yet: its start() has not answered (bpftrace attaching, a socket probed).
      return blind || s.reason ? `inactive: ${blind ?? s.reason}` : 'starting';
    };
    const blind = this.sources.some((s) => s.active && s.source.blind?.());
    return {
      status: this.stopping ? 'stopping' : this.export?.delivery.lastError || blind ? 'degraded' : 'ok',
      sources: Object.fromEntries(this.sources.map((s) => [s.source.name, state(s)])),
      queue: this.queue
        ? { depth: this.queue.depth, bytes: this.queue.bytes, dropped: this.queue.dropped }
        : null,
      export: this.export
        ? {
            endpoint: this.config.otlp.endpoint,
            protocol: this.config.otlp.protocol,
            lastSuccess: this.export.delivery.lastSuccessMs
              ? new Date(this.export.delivery.lastSuccessMs).toISOString()
              : null,
            lastError: this.export.delivery.lastError ?? null,
          }
        : null,
    };
  }

  /**
   * Graceful stop: sources, stages, stdout, then drain the queue for up to
   * shutdownTimeoutMs and close it (what is left is delivered next start). Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const s of this.sources)
        await s.source
          .stop()
          .catch((err) => this.log.warn({ err, source: s.source.name }, 'source stop failed'));
      for (const st of this.stages)
        await st.stop?.().catch((err) => this.log.warn({ err, stage: st.name }, 'stage stop failed'));
      await this.stdout?.close();
      // Drains for up to shutdownTimeoutMs, then closes the queue (the rest stays on disk).
      await this.export?.provider.shutdown();
      await this.http?.close();
      this.log.info({ queued: this.queue?.depth ?? 0 }, 'stopped');
    })();
    return this.stopping;
  }
}
