/**
 * Audit storm control: a token bucket per (container or host, attack type).
 * `burst` audits pass back to back, then one per `everyMs`; the ones held back
 * are counted and reported on the next audit that passes (`suppressed`).
 */
/** Buckets kept before quiet ones are pruned. */
const MAX_BUCKETS = 10_000;

export class AuditRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; lastMs: number; suppressed: number }>();

  constructor(
    private readonly burst = 5,
    private readonly everyMs = 10_000
  ) {}

  /** undefined when the audit must be held back; otherwise how many were suppressed before it. */
  take(key: string, nowMs: number): number | undefined {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.prune(nowMs);
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

  /** Forget buckets that are full again and owe no suppressed count (containers long gone, quiet types). */
  private prune(nowMs: number): void {
    for (const [k, b] of this.buckets) {
      if (b.suppressed === 0 && b.tokens + (nowMs - b.lastMs) / this.everyMs >= this.burst)
        this.buckets.delete(k);
    }
  }

  /** Total held back and not yet reported, for /metrics. */
  pending(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.suppressed;
    return n;
  }
}
