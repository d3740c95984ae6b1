/**
 * Pinning: read every event of a scope and window from Loki (through the one
 * LokiClient), then store snapshot + events in ONE transaction. Nothing is
 * written until Loki has answered completely, so a Loki failure mid-read
 * leaves nothing behind.
 */
import { createHash, randomUUID } from 'node:crypto';
import { eventsQuery, type EventType, type Scope } from '@casefile/schema';
import { inOrder, type LokiClient } from '../loki/loki-client';
import type { PinnedEmitter } from '../observability/pinned-emitter';
import type { ServerMetrics } from '../observability/metrics';
import type { Logger } from 'pino';
import {
  CapReachedError,
  UNREADABLE_TYPE,
  type EventRow,
  type SnapshotMeta,
  type SnapshotStore,
} from '../store/store';

export interface PinRequest {
  title: string;
  note?: string;
  scope: Scope;
  fromNs: string;
  toNs: string;
  types?: EventType[];
  search?: string;
}

export interface PinOrigin {
  /** Who pinned: the Grafana user, else the token's name. */
  by: string;
  /** Default 'api'. */
  source?: string;
  /** Alert dedupe key (webhook pins). */
  alertKey?: string;
  /**
   * Cap for this pin, from the Grafana app's settings (X-Casefile-Max-Snapshots,
   * set by the plugin route, not by the browser); defaults to the server's.
   */
  maxSnapshots?: number;
}

/** The source of pins made by the alert webhook. */
export const ALERT_SOURCE = 'grafana-alert';

/** The window holds more events than maxSnapshotEvents. */
export class SnapshotTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(
      `the window holds more than ${limit} events (maxSnapshotEvents); narrow the scope, types or time range`
    );
    this.name = 'SnapshotTooLargeError';
  }
}

export interface SnapshotServiceOptions {
  /** Snapshots kept (cap). */
  maxSnapshots: number;
  /** Alert pins' own share of the cap: they evict only each other. */
  maxAlertSnapshots: number;
  maxSnapshotEvents: number;
}

export class SnapshotService {
  constructor(
    readonly store: SnapshotStore,
    private readonly loki: LokiClient,
    private readonly opts: SnapshotServiceOptions,
    private readonly emitter: PinnedEmitter,
    private readonly metrics: ServerMetrics,
    private readonly log?: Logger
  ) {}

  /** Pin a snapshot; returns it with the ids evicted to make room. */
  async pin(req: PinRequest, origin: PinOrigin): Promise<{ snapshot: SnapshotMeta; evicted: string[] }> {
    try {
      const out = await this.pinOnce(req, origin);
      this.metrics.pins.inc({ result: 'ok' });
      this.metrics.pinnedEvents.inc(out.snapshot.eventCount);
      this.metrics.evictions.inc(out.evicted.length);
      this.emitter.emit(out.snapshot);
      return out;
    } catch (err) {
      const name = (err as Error).name;
      const result =
        name === 'CapReachedError'
          ? 'cap_reached'
          : name === 'LokiError'
            ? 'loki_error'
            : name === 'SnapshotTooLargeError'
              ? 'too_large'
              : name === 'DuplicateAlertError'
                ? 'duplicate'
                : 'error';
      this.metrics.pins.inc({ result });
      throw err;
    }
  }

  private async pinOnce(req: PinRequest, origin: PinOrigin) {
    // Alert pins have their own share and evict only each other; an analyst's pin evicts the oldest unlocked.
    const cap = origin.maxSnapshots ?? this.opts.maxSnapshots;
    const alert = origin.source === ALERT_SOURCE;
    const room = alert ? { cap, ownCap: Math.min(cap, this.opts.maxAlertSnapshots) } : { cap };
    // Refuse early when nothing could be evicted; the transaction checks again.
    const c = await this.store.counts();
    if (!alert && c.snapshots >= cap && c.locked >= c.snapshots) throw new CapReachedError(cap);
    const filter = { scope: req.scope, types: req.types, search: req.search };
    const started = performance.now();
    const lokiVersion = await this.loki.version();
    const rows: EventRow[] = [];
    const hash = createHash('sha256');
    let unreadable = 0;
    for await (const page of this.loki.readEvents(filter, { fromNs: req.fromNs, toNs: req.toNs })) {
      this.metrics.lokiPages.inc();
      if (rows.length + page.events.length + page.unreadable.length > this.opts.maxSnapshotEvents)
        throw new SnapshotTooLargeError(this.opts.maxSnapshotEvents);
      unreadable += page.unreadable.length;
      // Entries that are not events are kept whole, in order, and covered by the hash like events.
      for (const e of inOrder(page)) {
        const json = JSON.stringify(e);
        hash.update(json + '\n');
        const u = 'unreadable' in e;
        rows.push({
          id: e.id,
          type: u ? UNREADABLE_TYPE : e.type,
          timeNs: e.timeNs,
          message: e.message,
          json,
          unreadable: u,
        });
      }
    }
    if (unreadable) {
      this.metrics.unreadableEntries.inc({ kind: 'pin' }, unreadable);
      this.log?.warn(
        { unreadable, query: eventsQuery(filter) },
        'entries that are not Casefile events kept in the snapshot'
      );
    }
    const snapshot: SnapshotMeta = {
      id: randomUUID(),
      title: req.title,
      note: req.note ?? '',
      scope: req.scope,
      fromNs: req.fromNs,
      toNs: req.toNs,
      types: req.types,
      search: req.search || undefined,
      query: eventsQuery(filter),
      createdBy: origin.by,
      createdAt: new Date().toISOString(),
      eventCount: rows.length - unreadable,
      unreadableCount: unreadable,
      contentSha256: hash.digest('hex'),
      lokiVersion,
      source: origin.source ?? 'api',
      alertKey: origin.alertKey,
      locked: false,
    };
    const read = performance.now();
    const { evicted } = await this.store.createSnapshot(snapshot, rows, room);
    this.log?.info(
      {
        snapshot: snapshot.id,
        by: origin.by,
        events: rows.length,
        evicted,
        readMs: Math.round(read - started),
        storeMs: Math.round(performance.now() - read),
      },
      'snapshot pinned'
    );
    this.metrics.snapshots.set((await this.store.counts()).snapshots);
    return { snapshot, evicted };
  }
}
