/**
 * Pinning: read every event of a scope and window from Loki (through the one
 * LokiClient), handing each page to the store's PinWriter as it arrives, then
 * commit the snapshot in ONE transaction. Nothing is visible until that
 * commit, and a pin that fails or is cancelled before it is discarded, so a
 * Loki failure mid-read leaves nothing behind.
 */
import { randomUUID } from 'node:crypto';
import { eventsQuery, nsToIso, type EventType, type Scope } from '@casefile/schema';
import type { CustodyActor, CustodyEntry } from '../custody/custody-entry';
import { nowNs, type CustodyRecorder } from '../custody/custody-recorder';
import type { LokiClient } from '../loki/loki-client';
import type { PinnedEmitter } from '../observability/pinned-emitter';
import type { ServerMetrics } from '../observability/metrics';
import type { Logger } from 'pino';
import { CapReachedError, type SnapshotMeta, type SnapshotStore } from '../store/store';
import { PinContent } from './pin-content';

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
  /** Who pinned: the token, and the Grafana user Grafana's token named. */
  actor: CustodyActor;
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

/** How a background pin job steers a pin (server/src/jobs/pin-jobs.ts). */
export interface PinControl {
  /** Aborted: the pin stops before storing anything and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called after each Loki page with the entries read so far. */
  onRead?: (entries: number) => void;
  /** Called once everything is read, just before the one store transaction (no cancelling past here). */
  onStoring?: () => void;
  /** The id the snapshot gets, so a job can tell after a restart whether its pin was stored. */
  snapshotId?: string;
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
  /** Where the events were read from, for the pin record. */
  lokiUrl: string;
  lokiTenant?: string;
}

/** Loki's URL as a record names it: without credentials, query or fragment. */
export function publicUrl(u: string): string {
  try {
    const x = new URL(u);
    x.username = '';
    x.password = '';
    x.search = '';
    x.hash = '';
    return x.toString().replace(/\/$/, '');
  } catch {
    return '(unparseable URL)';
  }
}

export class SnapshotService {
  constructor(
    readonly store: SnapshotStore,
    private readonly loki: LokiClient,
    private readonly opts: SnapshotServiceOptions,
    private readonly emitter: PinnedEmitter,
    private readonly metrics: ServerMetrics,
    private readonly custody: CustodyRecorder,
    private readonly log?: Logger
  ) {}

  /** Lock or unlock, with its custody entry in the same transaction. */
  async setLocked(id: string, locked: boolean, actor: CustodyActor): Promise<SnapshotMeta | undefined> {
    const t = this.custody.session();
    const s = await this.store.setLocked(id, locked, {
      seal: t.seal,
      draft: (m) => this.custody.draft(locked ? 'lock' : 'unlock', m, actor),
    });
    t.committed();
    return s;
  }

  /**
   * Delete, leaving a tombstone in the custody log (title, content hash,
   * counts, who, whether it was locked) and freeing its alert key, so a
   * replayed alert pins again. Returns the tombstone, or undefined when there
   * is no such snapshot.
   */
  async delete(id: string, actor: CustodyActor): Promise<CustodyEntry | undefined> {
    const t = this.custody.session();
    const gone = await this.store.deleteSnapshot(id, {
      seal: t.seal,
      draft: (m) =>
        this.custody.draft('delete', m, actor, {
          locked: m.locked,
          source: m.source,
          unreadableCount: m.unreadableCount,
          alertKey: m.alertKey ?? null,
        }),
    });
    const [tombstone] = t.committed();
    this.metrics.snapshots.set((await this.store.counts()).snapshots);
    return gone ? tombstone : undefined;
  }

  /** Pin a snapshot; returns it with the ids evicted to make room. */
  async pin(
    req: PinRequest,
    origin: PinOrigin,
    control: PinControl = {}
  ): Promise<{ snapshot: SnapshotMeta; evicted: string[] }> {
    try {
      const out = await this.pinOnce(req, origin, control);
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
                : control.signal?.aborted
                  ? 'cancelled'
                  : 'error';
      this.metrics.pins.inc({ result });
      throw err;
    }
  }

  private async pinOnce(req: PinRequest, origin: PinOrigin, control: PinControl) {
    // Alert pins have their own share and evict only each other; an analyst's pin evicts the oldest unlocked.
    const cap = origin.maxSnapshots ?? this.opts.maxSnapshots;
    const alert = origin.source === ALERT_SOURCE;
    const room = alert ? { cap, ownCap: Math.min(cap, this.opts.maxAlertSnapshots) } : { cap };
    // Refuse early when nothing could be evicted; the transaction checks again.
    const c = await this.store.counts();
    if (!alert && c.snapshots >= cap && c.locked >= c.snapshots) throw new CapReachedError(cap);
    const started = performance.now();
    const lokiVersion = await this.loki.version();
    const id = control.snapshotId ?? randomUUID();
    // Each page goes to the store as it arrives: a pin's memory is one page, whatever its window.
    const writer = await this.store.beginPin(id);
    try {
      const filter = { scope: req.scope, types: req.types, search: req.search };
      const content = new PinContent();
      for await (const page of this.loki.readEvents(filter, { fromNs: req.fromNs, toNs: req.toNs })) {
        control.signal?.throwIfAborted();
        this.metrics.lokiPages.inc();
        if (content.entries + page.events.length + page.unreadable.length > this.opts.maxSnapshotEvents)
          throw new SnapshotTooLargeError(this.opts.maxSnapshotEvents);
        await writer.add(content.rows(page));
        control.onRead?.(content.entries);
      }
      control.signal?.throwIfAborted();
      const { entries: read, unreadable, byType } = content;
      if (unreadable) {
        this.metrics.unreadableEntries.inc({ kind: 'pin' }, unreadable);
        this.log?.warn(
          { unreadable, query: eventsQuery(filter) },
          'entries that are not Casefile events kept in the snapshot'
        );
      }
      const pinnedNs = nowNs();
      const snapshot: SnapshotMeta = {
        id,
        title: req.title,
        note: req.note ?? '',
        scope: req.scope,
        fromNs: req.fromNs,
        toNs: req.toNs,
        types: req.types,
        search: req.search || undefined,
        query: eventsQuery(filter),
        createdBy: origin.actor.grafanaUser ?? origin.actor.token,
        // Milliseconds, as before (the API's and the app's format); the pin record has the ns.
        createdAt: new Date(Number(BigInt(pinnedNs) / 1_000_000n)).toISOString(),
        eventCount: read - unreadable,
        unreadableCount: unreadable,
        contentSha256: content.digest(),
        lokiVersion,
        source: origin.source ?? 'api',
        alertKey: origin.alertKey,
        locked: false,
      };
      const record = {
        format: 'casefile-pin-record/1',
        snapshot: {
          id: snapshot.id,
          title: snapshot.title,
          note: snapshot.note,
          source: snapshot.source,
          alertKey: snapshot.alertKey ?? null,
        },
        pinnedBy: origin.actor,
        pinnedAt: snapshot.createdAt,
        pinnedAtNs: pinnedNs,
        server: this.custody.server,
        loki: {
          url: publicUrl(this.opts.lokiUrl),
          tenant: this.opts.lokiTenant ?? null,
          version: lokiVersion,
        },
        query: snapshot.query,
        scope: snapshot.scope,
        filter: { types: snapshot.types ?? null, search: snapshot.search ?? null },
        window: {
          from: nsToIso(snapshot.fromNs),
          to: nsToIso(snapshot.toNs),
          fromNs: snapshot.fromNs,
          toNs: snapshot.toNs,
          fromInclusive: true,
          toInclusive: false,
        },
        counts: { events: snapshot.eventCount, unreadable, byType },
        collectors: content.collectors(),
        contentSha256: snapshot.contentSha256,
        contentHash:
          'SHA-256 over each entry (event or unreadable entry) as RFC 8785 canonical JSON followed by "\\n", in (timeNs numerically, id) order: events.jsonl byte for byte',
      };
      control.onStoring?.();
      const t = this.custody.session();
      const readDone = performance.now();
      const { evicted } = await writer.commit(snapshot, room, {
        seal: t.seal,
        pin: {
          ...this.custody.draft(alert ? 'auto-pin' : 'pin', snapshot, origin.actor, { record }),
          timeNs: pinnedNs,
        },
        evict: (m) =>
          this.custody.draft('evict', m, origin.actor, { evictedFor: snapshot.id, locked: m.locked }),
      });
      t.committed();
      this.log?.info(
        {
          snapshot: snapshot.id,
          by: snapshot.createdBy,
          events: read,
          evicted,
          readMs: Math.round(readDone - started),
          storeMs: Math.round(performance.now() - readDone),
        },
        'snapshot pinned'
      );
      this.metrics.snapshots.set((await this.store.counts()).snapshots);
      return { snapshot, evicted };
    } catch (err) {
      await writer
        .discard()
        .catch((e) => this.log?.error({ err: e, snapshot: id }, 'discarding a failed pin'));
      throw err;
    }
  }
}
