import type { CasefileEvent, EventType } from '@casefile/schema';

/**
 * Keep the events whose type is not hidden. Runs on every toggle, over up to
 * 100k events, so it is one pass with no allocation beyond the result; with
 * nothing hidden it returns the input itself.
 */
export function filterByType(
  events: readonly CasefileEvent[],
  hidden: ReadonlySet<EventType>
): readonly CasefileEvent[] {
  if (hidden.size === 0) return events;
  const out: CasefileEvent[] = [];
  for (const e of events) if (!hidden.has(e.type)) out.push(e);
  return out;
}

/**
 * The hidden set after toggling one type: a new Set (React state must not be
 * mutated in place).
 *
 * @example toggleHidden(new Set(['process.start']), 'process.start') // => Set {}
 */
export function toggleHidden(hidden: ReadonlySet<EventType>, t: EventType): Set<EventType> {
  const next = new Set(hidden);
  if (next.has(t)) next.delete(t);
  else next.add(t);
  return next;
}
