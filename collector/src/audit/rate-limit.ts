/**
 * Audit storm control: a token bucket per (container or host, attack type).
 * `burst` audits pass back to back, then one per `everyMs`; the ones held back
 * are counted and reported on the next audit that passes (`suppressed`).
 */
import { LRUCache } from 'lru-cache';

interface Bucket {
  tokens: number;
  lastMs: number;
  suppressed: number;
}

/** Buckets kept (least recently used forgotten first: a full bucket again, or a container long gone). */
const MAX_BUCKETS = 10_000;

export class AuditRateLimiter {
  private readonly buckets: LRUCache<string, Bucket>;
  /** Held-back audits of forgotten buckets: never reported in an audit, only on /metrics. */
  private unreported = 0;

  constructor(
    private readonly burst = 5,
    private readonly everyMs = 10_000,
    maxBuckets = MAX_BUCKETS
  ) {
    this.buckets = new LRUCache({
      max: maxBuckets,
      dispose: (b, _key, reason) => {
        if (reason === 'evict') this.unreported += b.suppressed;
      },
    });
  }

  /** undefined when the audit must be held back; otherwise how many were suppressed before it. */
  take(key: string, nowMs: number): number | undefined {
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.burst, lastMs: nowMs, suppressed: 0 };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + (nowMs - b.lastMs) / this.everyMs);
    b.lastMs = nowMs;
    if (b.tokens < 1) {
      b.suppressed++;
      return undefined;
    }
    b.tokens--;
    const s = b.suppressed;
    b.suppressed = 0;
    return s;
  }

  /** Held back and not yet reported (gauge), and held back in buckets forgotten since (counter), for /metrics. */
  stats(): { pending: number; unreported: number } {
    let pending = 0;
    for (const b of this.buckets.values()) pending += b.suppressed;
    return { pending, unreported: this.unreported };
  }
}
