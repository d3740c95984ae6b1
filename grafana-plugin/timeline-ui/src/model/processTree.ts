import type { CasefileEvent } from '@casefile/schema';

/** One process in an event's tree: its key, and its start event when loaded. */
export interface ProcessNode {
  key: string;
  /** From the key (`<boot id>:<pid>:<start ticks>`) when the start event is not loaded. */
  pid?: number;
  start?: CasefileEvent;
  /** How it entered its container: `container_init`, `runtime_exec`, or `container_entry` (named last by the ancestry). */
  entry?: string;
}

/** An event's process, its ancestors (the container's entry last) and its children. */
export interface ProcessTree {
  self?: ProcessNode;
  /** Nearest first. */
  ancestors: ProcessNode[];
  children: ProcessNode[];
}

/** A pid read from a process key. */
function pidOfKey(key: string): number | undefined {
  const p = Number(key.split(':')[1]);
  return Number.isInteger(p) ? p : undefined;
}

/** Start events (process.start, container.exec) by process key. */
export function startsByKey(events: readonly CasefileEvent[]): Map<string, CasefileEvent> {
  const out = new Map<string, CasefileEvent>();
  for (const e of events)
    if ((e.type === 'process.start' || e.type === 'container.exec') && e.processKey && !out.has(e.processKey))
      out.set(e.processKey, e);
  return out;
}

/**
 * The process tree around an event, from the process keys the collector puts on
 * events: the ancestors from the event's own `processAncestry` (nearest first, up to
 * the container's entry process), else by walking `parentProcessKey` through the
 * loaded start events; the children are the loaded start events whose parent is
 * the event's process.
 *
 */
export function processTree(
  e: CasefileEvent,
  events: readonly CasefileEvent[],
  starts = startsByKey(events)
): ProcessTree {
  const node = (key: string): ProcessNode => {
    const start = starts.get(key);
    return { key, pid: start?.pid ?? pidOfKey(key), start, entry: start?.processEntry };
  };
  if (!e.processKey) return { ancestors: [], children: [] };
  const self = node(e.processKey);
  const seen = new Set([e.processKey]);
  const ancestors: ProcessNode[] = [];
  const fromEvent = e.processAncestry ?? self.start?.processAncestry;
  if (fromEvent?.length) {
    for (const k of fromEvent) if (!seen.has(k)) (seen.add(k), ancestors.push(node(k)));
  }
  // Walk parents past what the ancestry named (or when it named none).
  let parent =
    ancestors.length > 0
      ? ancestors[ancestors.length - 1].start?.parentProcessKey
      : (e.parentProcessKey ?? self.start?.parentProcessKey);
  while (parent && !seen.has(parent) && ancestors.length < 64) {
    const last = ancestors[ancestors.length - 1];
    if (last?.entry) break;
    seen.add(parent);
    const n = node(parent);
    ancestors.push(n);
    parent = n.start?.parentProcessKey;
  }
  // The last ancestor the collector named is the container's entry process (init or an exec'd one).
  const top = ancestors[ancestors.length - 1];
  if (top && !top.entry && fromEvent?.length && e.containerId && top.key === fromEvent[fromEvent.length - 1])
    top.entry = 'container_entry';
  const children: ProcessNode[] = [];
  for (const s of starts.values())
    if (s.parentProcessKey === e.processKey) children.push(node(s.processKey!));
  return { self, ancestors, children };
}
