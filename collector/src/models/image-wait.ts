/**
 * Waiting for the image: the enricher learns a new container's image a moment
 * after its first events, so those events wait here (they have already passed
 * through) until an event of the container carries the image, or for at most
 * IMAGE_WAIT_MS; then they are evaluated, so they count for the image's model.
 * A container whose image never came (no runtime API) is imageless: its
 * events are evaluated at once from then on.
 */
import type { CasefileEvent } from '@casefile/schema';
import { LRUCache } from 'lru-cache';
import { scopeFields } from './event-scope';

/** How long a new container's events wait for the image (then its model falls back to the container id). */
export const IMAGE_WAIT_MS = 5_000;
/** Events kept per waiting container; later ones are not evaluated (they still passed through). */
const MAX_WAITING_PER_CONTAINER = 1_000;
/** Imageless containers remembered (least recently seen forgotten first). */
const MAX_IMAGELESS = 4_096;

/** Counters of the wait, for /metrics. */
export interface ImageWaitStats {
  /** Containers waiting now. */
  waiting: number;
  /** Events that waited. */
  held: number;
  /** Waiting events evaluated with the image. */
  released: number;
  /** Waiting events evaluated without it (the wait ran out, or the stage stopped). */
  expired: number;
  /** Events past a container's limit: passed through but never evaluated. */
  dropped: number;
}

export class ImageWait {
  private readonly waiting = new Map<string, { sinceMs: number; events: CasefileEvent[] }>();
  private readonly imageless = new LRUCache<string, true>({ max: MAX_IMAGELESS });
  private readonly counts = { held: 0, released: 0, expired: 0, dropped: 0 };

  /** Whether `e` must wait for its container's image; if so it now waits. */
  hold(e: CasefileEvent, nowMs: number): boolean {
    const id = e.containerId;
    if (!id || e.imageDigest || e.imageName || !isEvaluated(e) || this.imageless.has(id)) return false;
    let w = this.waiting.get(id);
    if (!w) this.waiting.set(id, (w = { sinceMs: nowMs, events: [] }));
    if (w.events.length < MAX_WAITING_PER_CONTAINER) {
      w.events.push(e);
      this.counts.held++;
    } else this.counts.dropped++;
    return true;
  }

  /**
   * The events that waited for the container `informed` belongs to, with the
   * scope it carries (image, name, pod...), when it carries one; undefined otherwise.
   */
  release(informed: CasefileEvent): CasefileEvent[] | undefined {
    const id = informed.containerId;
    if (this.waiting.size === 0 || !id) return undefined;
    if (!(informed.imageDigest || informed.imageName || informed.type === 'container.start'))
      return undefined;
    const w = this.waiting.get(id);
    if (!w) return undefined;
    this.waiting.delete(id);
    this.counts.released += w.events.length;
    const scope = scopeFields(informed);
    const known = pick(scope, ['imageName', 'imageDigest', 'containerName', 'namespace', 'pod', 'podUid']);
    return w.events.map((e) => ({ ...scope, ...e, ...known }));
  }

  /** The events of containers that waited IMAGE_WAIT_MS (all of them when `all`), as they are; those containers are imageless from now. */
  expire(nowMs: number, all = false): CasefileEvent[] {
    const out: CasefileEvent[] = [];
    for (const [id, w] of this.waiting) {
      if (!all && nowMs - w.sinceMs < IMAGE_WAIT_MS) continue;
      this.waiting.delete(id);
      this.imageless.set(id, true);
      this.counts.expired += w.events.length;
      out.push(...w.events);
    }
    return out;
  }

  /** A container stopped: a later one with the same id starts waiting afresh. */
  forget(containerId: string): void {
    this.imageless.delete(containerId);
  }

  stats(): ImageWaitStats {
    return { waiting: this.waiting.size, ...this.counts };
  }
}

/** Events the models stage evaluates (the rest only pass through). */
function isEvaluated(e: CasefileEvent): boolean {
  return (
    e.type === 'process.start' ||
    e.type === 'port.listen' ||
    e.type === 'network.connect' ||
    e.type === 'process.syscall'
  );
}

function pick(o: Partial<CasefileEvent>, keys: (keyof CasefileEvent)[]): Partial<CasefileEvent> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out as Partial<CasefileEvent>;
}
