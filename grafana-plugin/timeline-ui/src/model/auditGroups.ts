import { compareEvents, nsToMs, type CasefileEvent } from '@casefile/schema';

/** Audits within this long of each other, of one process, answer one action. */
export const AUDIT_GROUP_MS = 5000;

/** The process an audit is about: its key, else pid in its container or host. */
function actor(e: CasefileEvent): string | undefined {
  if (e.processKey) return e.processKey;
  if (e.pid === undefined) return undefined;
  return `${e.containerId ?? e.host ?? ''}:${e.pid}`;
}

/**
 * Runtime audits grouped by the action that raised them: one process, within
 * {@link AUDIT_GROUP_MS} of the group's previous audit (a dropped miner is an
 * unexpected process, drift, a miner and an outbound connect). Only groups of two
 * or more are returned, keyed by each member's event id; members in time order.
 */
export function auditGroups(events: readonly CasefileEvent[]): Map<string, CasefileEvent[]> {
  const out = new Map<string, CasefileEvent[]>();
  const byActor = new Map<string, CasefileEvent[][]>();
  for (const e of events) {
    if (e.type !== 'runtime.audit') continue;
    const who = actor(e);
    if (!who) continue;
    const gs = byActor.get(who) ?? [];
    const g = gs[gs.length - 1];
    const last = g?.[g.length - 1];
    if (g && last && nsToMs(e.timeNs) - nsToMs(last.timeNs) <= AUDIT_GROUP_MS) g.push(e);
    else gs.push([e]);
    byActor.set(who, gs);
  }
  for (const gs of byActor.values())
    for (const g of gs) {
      if (g.length < 2) continue;
      g.sort(compareEvents);
      for (const e of g) out.set(e.id, g);
    }
  return out;
}
