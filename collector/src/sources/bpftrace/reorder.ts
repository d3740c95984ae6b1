/**
 * bpftrace prints each CPU's records in order, but reads the per-CPU buffers
 * in turns, so records of different CPUs can reach us out of order: a child's
 * exec before the fork that made it, a process's exit before its last
 * connect. Lineage needs kernel order, so lines are held briefly and released
 * sorted by their kernel timestamp (`"t":`, bpftrace's nsecs).
 *
 * A line is released once a line at least `horizonNs` newer has arrived, or
 * once it has waited `holdMs` (a quiet system): at most `holdMs` of latency.
 */
const T_FIELD = /"t\\?":(\d+)/;

export class ReorderBuffer {
  private items: { t: number; line: string; atMs: number }[] = [];
  private maxT = 0;

  constructor(
    private readonly release: (line: string) => void,
    private readonly horizonNs = 50e6,
    private readonly holdMs = 50
  ) {}

  /** Add one output line; lines without a timestamp (attached, lost, ready) go through at once. */
  push(line: string, nowMs: number): void {
    const m = T_FIELD.exec(line);
    if (!m) return this.release(line);
    const t = Number(m[1]);
    this.maxT = Math.max(this.maxT, t);
    this.items.push({ t, line, atMs: nowMs });
  }

  /** Release, in kernel order, what is old enough (call after each chunk and from a timer). */
  flush(nowMs: number, all = false): void {
    if (this.items.length === 0) return;
    this.items.sort((a, b) => a.t - b.t);
    let n = 0;
    while (
      n < this.items.length &&
      (all || this.items[n].t <= this.maxT - this.horizonNs || nowMs - this.items[n].atMs >= this.holdMs)
    )
      n++;
    // Everything older than a line released by its wait goes too, or order would break.
    for (let i = this.items.length - 1; i >= n; i--) if (nowMs - this.items[i].atMs >= this.holdMs) n = i + 1;
    const out = this.items.splice(0, n);
    for (const it of out) this.release(it.line);
  }

  get size(): number {
    return this.items.length;
  }
}
