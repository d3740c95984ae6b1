/**
 * The state reporter: emits `model.state` (the whole model document) when a
 * model is created, loaded, reset or extended, when its learning period ends,
 * at most every STATE_MIN_GAP_MS while it learns, and at least every
 * `intervalMs` otherwise, so Grafana always has a recent copy.
 */
import { makeEvent, type CasefileEvent } from '@casefile/schema';
import type { RuntimeModel } from './model';

/** A learning model's state is re-emitted at most this often (its whole document each time). */
export const STATE_MIN_GAP_MS = 5_000;
/** How often every model's state is looked at. */
const CHECK_EVERY_MS = 1_000;

export class StateReporter {
  /** Model id -> why its model.state is due. */
  private readonly due = new Map<string, string>();
  private readonly last = new Map<string, { ms: number; state: string }>();
  /** Models that learned something since their last model.state. */
  private readonly changed = new Set<string>();
  private nextCheckMs = 0;
  private emitted = 0;

  /** @param intervalMs model.state is re-emitted at least this often per model. */
  constructor(private readonly intervalMs: number) {}

  /** A model.state is due for `id` (created, reset, extended...). */
  markDue(id: string, reason: string): void {
    this.due.set(id, reason);
  }

  /** The model learned a behaviour: its state goes out within STATE_MIN_GAP_MS. */
  learned(id: string): void {
    this.changed.add(id);
  }

  /** Called for every event: looks at every model at most once a second, then emits what is due. */
  report(models: ReadonlyMap<string, RuntimeModel>, nowMs: number, emit: (e: CasefileEvent) => void): void {
    if (nowMs >= this.nextCheckMs) this.check(models, nowMs);
    if (this.due.size > 0) this.flush(models, nowMs, emit);
  }

  /** model.state events emitted, for /metrics. */
  stats(): { emitted: number } {
    return { emitted: this.emitted };
  }

  /** Mark models whose state changed (learning -> active), that learned, or whose interval passed. */
  private check(models: ReadonlyMap<string, RuntimeModel>, nowMs: number): void {
    this.nextCheckMs = nowMs + CHECK_EVERY_MS;
    for (const m of models.values()) {
      const last = this.last.get(m.id);
      const st = m.state(nowMs);
      if (!last) this.due.set(m.id, this.due.get(m.id) ?? 'loaded');
      else if (last.state !== st) this.due.set(m.id, st === 'active' ? 'learning period ended' : 'learning');
      else if (this.changed.has(m.id) && nowMs - last.ms >= STATE_MIN_GAP_MS) this.due.set(m.id, 'learned');
      else if (nowMs - last.ms >= this.intervalMs) this.due.set(m.id, 'interval');
    }
  }

  private flush(
    models: ReadonlyMap<string, RuntimeModel>,
    nowMs: number,
    emit: (e: CasefileEvent) => void
  ): void {
    for (const [id, reason] of this.due) {
      const m = models.get(id);
      if (!m) continue;
      const doc = m.toDocument(nowMs);
      this.last.set(id, { ms: nowMs, state: doc.state });
      this.changed.delete(id);
      this.emitted++;
      emit(
        makeEvent({
          type: 'model.state',
          message: `Model ${id} is ${doc.state} with ${m.size()} behaviours (${reason})`,
          modelId: id,
          modelState: doc.state,
          model: JSON.stringify(doc),
          reason,
        })
      );
    }
    this.due.clear();
  }
}
