/**
 * Sends a `snapshot.pinned` event per pin and a `snapshot.custody` event per
 * custody-log entry to Loki over OTLP (schema's toLogRecord + a producer
 * resource, service casefile-server), so pins show on the timeline and can be
 * audited in Loki itself. Delivery is schema's DeliveryProcessor over a
 * memory queue (retried while Loki is away, up to the queue's bound); its
 * outcomes are counted, never thrown: the pin is already committed.
 */
import { hostname } from 'node:os';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { makeEvent, toLogRecord } from '@casefile/schema';
import {
  createLogExporter,
  DeliveryProcessor,
  MemoryQueue,
  otlpProtocol,
  producerResource,
} from '@casefile/schema/otel';
import type { CustodyEntry } from '../custody/custody-entry';
import type { SnapshotMeta } from '../store/store';
import type { ServerMetrics } from './metrics';

export interface PinnedEmitterOptions {
  /** OTLP logs URL, e.g. http://127.0.0.1:3100/otlp/v1/logs; "off" disables. */
  url: string;
  tenant?: string;
  headers?: Record<string, string>;
  /** Encoding; default from OTEL_EXPORTER_OTLP_(LOGS_)PROTOCOL, else http/json. */
  protocol?: 'http/json' | 'http/protobuf';
}

/** Pins waiting while Loki is away, at most: beyond this they are counted as errors. */
const MAX_QUEUED = 10_000;

export class PinnedEmitter {
  private readonly provider?: LoggerProvider;

  constructor(opts: PinnedEmitterOptions, metrics: ServerMetrics) {
    if (opts.url === 'off') return;
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.tenant) headers['X-Scope-OrgID'] = opts.tenant;
    const delivery = new DeliveryProcessor({
      exporter: createLogExporter({ url: opts.url, headers, protocol: opts.protocol ?? otlpProtocol() }),
      queue: new MemoryQueue(MAX_QUEUED),
      lingerMs: 500,
      hooks: {
        onExport: (e) => {
          if (e.ok) metrics.pinnedEmits.inc({ result: 'ok' }, e.records.length);
        },
        onRejected: () => metrics.pinnedEmits.inc({ result: 'error' }),
        onDropped: (n) => metrics.pinnedEmits.inc({ result: 'error' }, n),
      },
    });
    this.provider = new LoggerProvider({
      resource: producerResource({ serviceName: 'casefile-server', host: hostname() }),
      processors: [delivery],
    });
  }

  emit(s: SnapshotMeta): void {
    if (!this.provider) return;
    const e = makeEvent({
      type: 'snapshot.pinned',
      message: `snapshot pinned by ${s.createdBy}: ${s.title} (${s.eventCount} events)`,
      snapshotId: s.id,
      snapshotTitle: s.title,
      eventCount: s.eventCount,
      loginUser: s.createdBy,
      ...s.scope,
    });
    this.provider.getLogger('casefile-server').emit(toLogRecord(e));
  }

  /** One custody entry as a `snapshot.custody` event (the entry itself stays in the store: this is for search). */
  emitCustody(c: CustodyEntry): void {
    if (!this.provider) return;
    const who = c.actor.grafanaUser ?? c.actor.token;
    const e = makeEvent({
      type: 'snapshot.custody',
      timeNs: c.timeNs,
      message: `custody ${c.action} of snapshot ${c.snapshotId} by ${who} (token ${c.actor.token}): ${c.title} (${c.eventCount} events)`,
      snapshotId: c.snapshotId,
      snapshotTitle: c.title,
      eventCount: c.eventCount,
      contentSha256: c.contentSha256,
      custodyAction: c.action,
      custodySeq: c.seq,
      custodyHash: c.hash,
      tokenName: c.actor.token,
      loginUser: c.actor.grafanaUser ?? undefined,
    });
    this.provider.getLogger('casefile-server').emit(toLogRecord(e));
  }

  /** Deliver what is queued (bounded: 5 s while Loki answers), then stop. */
  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}
