/**
 * What a pin learns from its rows as Loki's pages arrive: each page's store
 * rows (canonical JSON, the stream labels), and over the whole pin the content
 * hash, counts by type and the collectors whose events it holds. Only these
 * totals outlive a page, so a pin's memory does not grow with its window.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../evidence/canonical';
import { inOrder, type ReadPage } from '../loki/loki-client';
import { UNREADABLE_TYPE, type EventRow } from '../store/store';

/** A collector whose events a snapshot holds: its host, host id and the stream labels naming it. */
export interface CollectorRecord {
  host: string | null;
  hostId: string | null;
  serviceName: string | null;
  serviceInstanceId: string | null;
  events: number;
}

export class PinContent {
  /** Entries so far: events and unreadable entries. */
  entries = 0;
  unreadable = 0;
  readonly byType: Record<string, number> = {};
  private readonly hash = createHash('sha256');
  private readonly collectorsByKey = new Map<string, CollectorRecord>();

  /** The store rows of a page, in (time, id) order; every entry counted and hashed. */
  rows(page: ReadPage): EventRow[] {
    const rows: EventRow[] = [];
    // Entries that are not events are kept whole, in order, and covered by the hash like events.
    for (const e of inOrder(page)) {
      // Canonical form (RFC 8785): the hash does not depend on Loki's label order.
      const json = canonicalJson(e);
      this.hash.update(json + '\n');
      const u = 'unreadable' in e;
      const stream = u ? e.stream : page.streams.get(e);
      const type = u ? UNREADABLE_TYPE : e.type;
      this.byType[type] = (this.byType[type] ?? 0) + 1;
      const c = {
        host: (u ? stream?.host_name : e.host) ?? null,
        hostId: (u ? stream?.host_id : e.hostId) ?? null,
        serviceName: stream?.service_name ?? null,
        serviceInstanceId: stream?.service_instance_id ?? null,
        events: 0,
      };
      const ck = canonicalJson(c);
      const known = this.collectorsByKey.get(ck) ?? this.collectorsByKey.set(ck, c).get(ck)!;
      known.events++;
      rows.push({
        id: e.id,
        type,
        timeNs: e.timeNs,
        message: e.message,
        json,
        unreadable: u,
        stream: stream ? canonicalJson(stream) : undefined,
      });
    }
    this.entries += rows.length;
    this.unreadable += page.unreadable.length;
    return rows;
  }

  /** SHA-256 (hex) over every entry's canonical JSON and "\n"; call once, after the last page. */
  digest(): string {
    return this.hash.digest('hex');
  }

  /** The collectors, in the order of their canonical JSON. */
  collectors(): CollectorRecord[] {
    return [...this.collectorsByKey.values()].sort((a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : 1));
  }
}
