/**
 * Scope resolution: which container (and image, pod) a pid belongs to.
 * /proc/<pid>/cgroup is read once per process (at its start event) and
 * remembered by pid + process key, so later events of that process (exit,
 * listen, connect) resolve even after it is gone; a process that exited
 * before its start event was handled inherits its parent's container.
 */
import type { CasefileEvent } from '@casefile/schema';
import { containerOfPid, type CgroupContainer } from '../sources/cgroup';

const MAX_PIDS = 65536;

export class PidScope {
  private readonly byPid = new Map<number, { key?: string; c: CgroupContainer | null }>();
  /** Parents found gone, and when: not looked up again for a second (many children share one). */
  private readonly goneParents = new Map<number, number>();

  constructor(private readonly procRoot = '/proc') {}

  /** The container of an event's process: null on the host, undefined when unknown. */
  resolve(
    e: Pick<CasefileEvent, 'pid' | 'ppid' | 'processKey' | 'type'>
  ): CgroupContainer | null | undefined {
    if (e.pid === undefined) return undefined;
    const known = this.byPid.get(e.pid);
    if (known && e.type !== 'process.start' && (!e.processKey || !known.key || known.key === e.processKey))
      return known.c;
    let c = containerOfPid(e.pid, this.procRoot);
    if (c === undefined && e.ppid !== undefined) c = this.byPid.get(e.ppid)?.c ?? this.ofParent(e.ppid);
    if (c === undefined) return undefined;
    this.byPid.delete(e.pid);
    this.byPid.set(e.pid, { key: e.processKey, c });
    if (this.byPid.size > MAX_PIDS) this.byPid.delete(this.byPid.keys().next().value!);
    return c;
  }

  private ofParent(ppid: number): CgroupContainer | null | undefined {
    const now = Date.now();
    if (now - (this.goneParents.get(ppid) ?? -Infinity) < 1000) return undefined;
    const c = containerOfPid(ppid, this.procRoot);
    if (c === undefined) {
      this.goneParents.set(ppid, now);
      if (this.goneParents.size > 4096) this.goneParents.clear();
    }
    return c;
  }
}
