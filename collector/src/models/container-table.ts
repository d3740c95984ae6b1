/**
 * The containers the models stage has seen: when each started (drift is a
 * binary changed after that), a live pid inside it (to look at its
 * filesystem), and its volume mounts (read from /proc once per container).
 */
import { nsToMs, type CasefileEvent } from '@casefile/schema';
import { LRUCache } from 'lru-cache';
import type { ContainerInfo } from '../audit/detectors';
import { volumeMounts } from '../audit/proc-checks';

/** Containers remembered (least recently seen forgotten first; a stop forgets at once). */
const MAX_CONTAINERS = 16_384;

export class ContainerTable {
  private readonly table = new LRUCache<string, ContainerInfo>({ max: MAX_CONTAINERS });

  /** A container.start: its start time, root pid and mounts. */
  start(e: CasefileEvent): void {
    if (!e.containerId) return;
    this.table.set(e.containerId, {
      startMs: nsToMs(e.timeNs),
      rootPid: e.pid,
      mounts: e.pid ? volumeMounts(e.pid) : undefined,
    });
  }

  /** A container.stop. */
  stop(containerId: string): void {
    this.table.delete(containerId);
  }

  /** The event's container (undefined for host processes); one started before we saw it is judged from its first event. */
  of(e: CasefileEvent, nowMs: number): ContainerInfo | undefined {
    if (!e.containerId) return undefined;
    let c = this.table.get(e.containerId);
    if (!c) {
      c = { startMs: nowMs, rootPid: e.pid };
      this.table.set(e.containerId, c);
    }
    if (c.mounts === undefined && c.rootPid) c.mounts = volumeMounts(c.rootPid) ?? [];
    return c;
  }

  get size(): number {
    return this.table.size;
  }
}
