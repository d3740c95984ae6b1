/**
 * Sends a `snapshot.pinned` event per pin and a `snapshot.custody` event per
 * custody-log entry to Loki over OTLP (schema's toLogRecord +
 * resourceAttributes, service casefile-server), so pins show on the timeline
 * and can be audited in Loki itself. Failures are counted, never thrown:
 * the pin is already committed.
 */
import { hostname } from 'node:os';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { makeEvent, resourceAttributes, toLogRecord } from '@casefile/schema';
import type { CustodyEntry } from '../custody/custody-entry';
import type { SnapshotMeta } from '../store/store';
import type { ServerMetrics } from './metrics';

export interface PinnedEmitterOptions {
  /** OTLP logs URL, e.g. http://127.0.0.1:3100/otlp/v1/logs; "off" disables. */
  url: string;
  tenant?: string;
  headers?: Record<string, string>;
}

export class PinnedEmitter {
  private readonly provider?: LoggerProvider;

  constructor(opts: PinnedEmitterOptions, metrics: ServerMetrics) {
    if (opts.url === 'off') return;
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.tenant) headers['X-Scope-OrgID'] = opts.tenant;
    const exporter = new OTLPLogExporter({ url: opts.url, headers });
    // Count each batch's outcome (the SDK reports it only to its callback).
    const exportBatch = exporter.export.bind(exporter);
    exporter.export = (records, done) =>
      exportBatch(records, (r) => {
        // ExportResultCode.SUCCESS is 0.
        metrics.pinnedEmits.inc({ result: r.code === 0 ? 'ok' : 'error' }, records.length);
        done(r);
      });
    this.provider = new LoggerProvider({
      resource: resourceFromAttributes(
        resourceAttributes({ serviceName: 'casefile-server', host: hostname() })
      ),
      processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 500 })],
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

  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}
