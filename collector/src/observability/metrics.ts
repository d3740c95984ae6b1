/**
 * The collector's Prometheus metrics. Hot-path counts (events by source and
 * type) are plain numbers read at scrape time, so counting costs nothing at
 * 50k events/s; the rest are prom-client instruments.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueStats } from '../export/disk-queue';
import { registerModelMetrics } from '../models/model-metrics';
import type { ModelStageStats } from '../models';

/** Numbers the pipeline and exporter keep, read when /metrics is scraped. */
export interface MetricSources {
  /** `${source}\u0000${type}` -> count */
  eventsBySourceType: Map<string, number>;
  invalidBySource: Map<string, number>;
  dropped: () => Record<string, number>;
  /** Undefined when there is no queue (no OTLP endpoint). */
  queue: () => QueueStats | undefined;
  sources: () => Array<{ name: string; active: boolean; stats: Record<string, number> }>;
  redacted: () => number;
  /** Events whose redaction ran out of budget (the rest of them masked whole). */
  redactOverBudget?: () => number;
  /** The runtime-models stage's counters (casefile_models_*). */
  models?: () => ModelStageStats | undefined;
  /** The enricher's counters (casefile_enrich_total by `count`). */
  enrich?: () => Record<string, number>;
}

export class CollectorMetrics {
  readonly registry = new Registry();
  readonly exportRequests: Counter<'result'>;
  readonly exportRecords: Counter<'result'>;
  readonly exportDuration: Histogram;
  readonly deliveryLag: Histogram;

  constructor(src: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'casefile_collector_' });
    registerModelMetrics(this.registry, () => src.models?.());
    new Counter({
      name: 'casefile_events_total',
      help: 'Valid events accepted from each source, by event type',
      labelNames: ['source', 'type'],
      registers,
      collect() {
        this.reset();
        for (const [k, n] of src.eventsBySourceType) {
          const [source, type] = k.split('\u0000');
          this.inc({ source, type }, n);
        }
      },
    });
    new Counter({
      name: 'casefile_events_invalid_total',
      help: 'Events rejected by schema validation (logged, not exported), by source',
      labelNames: ['source'],
      registers,
      collect() {
        this.reset();
        for (const [source, n] of src.invalidBySource) this.inc({ source }, n);
      },
    });
    new Counter({
      name: 'casefile_events_dropped_total',
      help: 'Events lost: queue_full (queue bound or full disk), queue_corrupt (damaged on disk), rejected (Loki refused them for good), stage_error',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(src.dropped())) this.inc({ reason }, n);
      },
    });
    new Counter({
      name: 'casefile_enrich_total',
      help: 'Enrichment: events enriched, runtime lookups, host.activity events made, events held for a lookup and released with the runtime names (held_released_named) or without (held_released_unnamed)',
      labelNames: ['count'],
      registers,
      collect() {
        this.reset();
        for (const [count, n] of Object.entries(src.enrich?.() ?? {})) this.inc({ count }, n);
      },
    });
    new Counter({
      name: 'casefile_events_redacted_total',
      help: 'Events that had a secret masked',
      registers,
      collect() {
        this.reset();
        this.inc(src.redacted());
      },
    });
    new Counter({
      name: 'casefile_events_redact_over_budget_total',
      help: 'Events whose redaction ran out of its per-event budget (what was left was masked whole)',
      registers,
      collect() {
        this.reset();
        this.inc(src.redactOverBudget?.() ?? 0);
      },
    });
    new Gauge({
      name: 'casefile_queue_depth',
      help: 'Events in the durable queue not yet delivered',
      registers,
      collect() {
        this.set(src.queue()?.depth ?? 0);
      },
    });
    new Gauge({
      name: 'casefile_queue_bytes',
      help: 'Bytes held by the durable queue: on disk, and in memory while the disk refuses writes',
      registers,
      collect() {
        this.set(src.queue()?.bytes ?? 0);
      },
    });
    new Counter({
      name: 'casefile_queue_appended_total',
      help: 'Events written to the durable queue since start',
      registers,
      collect() {
        this.reset();
        this.inc(src.queue()?.appended ?? 0);
      },
    });
    new Counter({
      name: 'casefile_queue_dropped_full_total',
      help: 'Events the durable queue dropped because it was full: cause=bound (oldest segment past queue.maxBytes), cause=disk (disk refused writes and memory held its share)',
      labelNames: ['cause'],
      registers,
      collect() {
        this.reset();
        const q = src.queue();
        this.inc({ cause: 'bound' }, q?.droppedBound ?? 0);
        this.inc({ cause: 'disk' }, q?.droppedDiskFull ?? 0);
      },
    });
    new Counter({
      name: 'casefile_queue_corrupt_bytes_total',
      help: 'Bytes of damaged queue frames skipped (the reader resynchronised at the next valid frame)',
      registers,
      collect() {
        this.reset();
        this.inc(src.queue()?.corruptBytes ?? 0);
      },
    });
    new Counter({
      name: 'casefile_queue_corrupt_records_total',
      help: 'Events lost in damaged queue frames (frame starts found in the skipped bytes, at least one per stretch)',
      registers,
      collect() {
        this.reset();
        this.inc(src.queue()?.corruptRecords ?? 0);
      },
    });
    new Gauge({
      name: 'casefile_queue_writable',
      help: '0 while the disk refuses queue writes (events wait in memory, then are dropped and counted)',
      registers,
      collect() {
        this.set(src.queue()?.writable === false ? 0 : 1);
      },
    });
    new Gauge({
      name: 'casefile_source_active',
      help: '1 when the source is running, 0 when it is configured but unavailable',
      labelNames: ['source'],
      registers,
      collect() {
        this.reset();
        for (const s of src.sources()) this.set({ source: s.name }, s.active ? 1 : 0);
      },
    });
    new Gauge({
      name: 'casefile_source_stat',
      help: "Each source's own counters (e.g. bpftrace lost events, procfs missed polls)",
      labelNames: ['source', 'stat'],
      registers,
      collect() {
        this.reset();
        for (const s of src.sources())
          for (const [stat, v] of Object.entries(s.stats)) this.set({ source: s.name, stat }, v);
      },
    });
    this.exportRequests = new Counter({
      name: 'casefile_export_requests_total',
      help: 'OTLP export requests by result (ok, error); their sum is the total',
      labelNames: ['result'],
      registers,
    });
    this.exportRecords = new Counter({
      name: 'casefile_export_records_total',
      help: 'Events in OTLP export requests by result (ok, error)',
      labelNames: ['result'],
      registers,
    });
    this.exportDuration = new Histogram({
      name: 'casefile_export_duration_seconds',
      help: 'Duration of one OTLP export request',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.deliveryLag = new Histogram({
      name: 'casefile_event_delivery_seconds',
      help: 'Event time to its delivery to the OTLP endpoint (acknowledged)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
      registers,
    });
    for (const r of ['ok', 'error']) {
      this.exportRequests.inc({ result: r }, 0);
      this.exportRecords.inc({ result: r }, 0);
    }
  }
}
