/** Prometheus metrics of the server, on their own registry (served at /metrics). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'casefile_server_http_requests_total',
    help: 'HTTP requests by route and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'casefile_server_http_request_duration_seconds',
    help: 'HTTP request duration by route.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60],
    registers: [this.registry],
  });
  readonly pins = new Counter({
    name: 'casefile_server_pins_total',
    help: 'Snapshot pins by result (ok, cap_reached, loki_error, too_large, duplicate, cancelled, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly pinnedEvents = new Counter({
    name: 'casefile_server_pinned_events_total',
    help: 'Events copied from Loki into snapshots.',
    registers: [this.registry],
  });
  readonly evictions = new Counter({
    name: 'casefile_server_evictions_total',
    help: 'Snapshots evicted to stay under the cap.',
    registers: [this.registry],
  });
  readonly lokiPages = new Counter({
    name: 'casefile_server_loki_pages_total',
    help: 'Pages read from Loki (pins and live exports).',
    registers: [this.registry],
  });
  readonly unreadableEntries = new Counter({
    name: 'casefile_server_loki_unreadable_entries_total',
    help: 'Entries read from Loki that are not Casefile events (no id, or a type this build does not know), kept in snapshots and exports; by kind (pin, live_csv).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly lokiRetries = new Counter({
    name: 'casefile_server_loki_retries_total',
    help: 'Loki requests retried after a transient failure (network, 429, 5xx).',
    registers: [this.registry],
  });
  readonly exportRows = new Counter({
    name: 'casefile_server_export_rows_total',
    help: 'Rows written by exports, by kind (snapshot_csv, package, live_csv).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly exportAborts = new Counter({
    name: 'casefile_server_export_aborts_total',
    help: 'Live exports cut off mid-stream because Loki failed after the answer had started (the transfer is broken, never ended cleanly).',
    registers: [this.registry],
  });
  readonly pinnedEmits = new Counter({
    name: 'casefile_server_pinned_event_emits_total',
    help: 'snapshot.pinned and snapshot.custody events sent to Loki over OTLP, by result (ok, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly evidenceMismatches = new Counter({
    name: 'casefile_server_evidence_mismatches_total',
    help: 'Stored evidence that no longer matches what was pinned, by reason (content_hash: events changed behind the server; pin_record: snapshot row changed; custody_chain: custody log broken). Exports refuse with 409.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly snapshots = new Gauge({
    name: 'casefile_server_snapshots',
    help: 'Snapshots stored.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'casefile_server_' });
  }
}
