/**
 * Scope resolution: which container (and image, pod) a pid belongs to.
 * /proc/<pid>/cgroup is read once per process (at its first event) and
 * remembered by pid + process key, so later events of that process (exit,
 * listen, connect) resolve even after it is gone; a process that exited
 * before its first event was handled inherits its parent's container.
 */
import { LRUCache } from 'lru-cache';
import type { CasefileEvent } from '@casefile/schema';
import { containerOfPid, type CgroupContainer } from '../sources/cgroup';

/** Processes remembered (a busy node has a few thousand alive; exited ones age out). */
const MAX_PIDS = 65536;
/** A gone parent is not looked up again for this long (many children of one parent arrive together). */
const GONE_PARENT_MS = 1000;

/** What is known of one pid: the process (key) it was when read, and its container (null: the host). */
interface PidEntry {
  key?: string;
  c: CgroupContainer | null;
}

export class PidScope {
  private readonly byPid = new LRUCache<number, PidEntry>({ max: MAX_PIDS });
  private readonly goneParents = new LRUCache<number, true>({ max: 4096, ttl: GONE_PARENT_MS });

  constructor(private readonly procRoot = '/proc') {}

  /**
   * The container of an event's process: null on the host, undefined when
   * unknown. /proc is read again only for a new process on a known pid (a
   * process.start, or another process key: the pid was reused).
   */
  resolve(
    e: Partial<Pick<CasefileEvent, 'pid' | 'ppid' | 'processKey' | 'type'>>
  ): CgroupContainer | null | undefined {
    if (e.pid === undefined) return undefined;
    const known = this.byPid.get(e.pid);
    if (known && e.type !== 'process.start' && (!e.processKey || !known.key || known.key === e.processKey))
      return known.c;
    let c = containerOfPid(e.pid, this.procRoot);
    if (c === undefined && e.ppid !== undefined) c = this.byPid.get(e.ppid)?.c ?? this.ofParent(e.ppid);
    if (c === undefined) return undefined;
    this.byPid.set(e.pid, { key: e.processKey, c });
    return c;
  }

  private ofParent(ppid: number): CgroupContainer | null | undefined {
    if (this.goneParents.has(ppid)) return undefined;
    const c = containerOfPid(ppid, this.procRoot);
    if (c === undefined) this.goneParents.set(ppid, true);
    return c;
  }
}
