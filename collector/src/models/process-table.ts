/**
 * The process table of the models stage: per process (its process key, or its
 * pid when the source has no key), the executable it runs, whether it is the
 * container runtime's own, and whether /proc already showed it gone.
 *
 * A process key (boot id, pid, start time) is never reused, so a process seen
 * gone stays gone: /proc is read at most once per gone process, not once per
 * event. A live process is read again at each exec (a new program).
 */
import type { CasefileEvent } from '@casefile/schema';
import { LRUCache } from 'lru-cache';
import type { ExeProbe } from '../audit/detectors';
import { exeChangedMs } from '../audit/proc-checks';

/** What the table holds for one process. */
export interface ProcessFacts {
  /** The executable of its latest exec ('' when the event had none). */
  executable: string;
  /** runc/crun init: the runtime setting a container up, never modelled or audited. */
  runtime: boolean;
  /** /proc/<pid>/exe was gone: no /proc check for this process again. */
  gone: boolean;
}

/** Counters of the table, for /metrics. */
export interface ProcessTableStats {
  /** Processes remembered now. */
  size: number;
  /** /proc/<pid>/exe reads that found the process alive. */
  procReadsLive: number;
  /** /proc/<pid>/exe reads that found it gone (each process at most once). */
  procReadsGone: number;
}

/** Processes remembered (least recently seen forgotten first). */
const MAX_TRACKED_PROCESSES = 65_536;

export class ProcessTable {
  private readonly table: LRUCache<string, ProcessFacts>;
  private procReadsLive = 0;
  private procReadsGone = 0;
  /** The process of the latest exec: its probe follows at once, without a second lookup. */
  private latestKey?: string;
  private latestFacts?: ProcessFacts;
  /**
   * The /proc probe for the exec detector: the executable's change time, or
   * undefined when the process is gone (remembered, so never read again).
   */
  readonly probe: ExeProbe = (e) => this.exeChanged(e);

  constructor(max = MAX_TRACKED_PROCESSES) {
    this.table = new LRUCache({ max });
  }

  /** The key a process is remembered by. */
  static key(e: CasefileEvent): string {
    return e.processKey ?? String(e.pid);
  }

  /** Record an exec: the process now runs `e.executable`; `runtime` marks the runtime's own. */
  exec(e: CasefileEvent, runtime: boolean): void {
    const key = ProcessTable.key(e);
    let p = this.table.get(key);
    if (p) {
      p.executable = e.executable ?? '';
      p.runtime ||= runtime;
    } else this.table.set(key, (p = { executable: e.executable ?? '', runtime, gone: false }));
    this.latestKey = key;
    this.latestFacts = p;
  }

  /** Forget a process that exited. */
  exit(e: CasefileEvent): void {
    const key = ProcessTable.key(e);
    this.table.delete(key);
    if (this.latestKey === key) this.latestKey = this.latestFacts = undefined;
  }

  /** What is known of the event's process, if anything. */
  get(e: CasefileEvent): ProcessFacts | undefined {
    return this.table.get(ProcessTable.key(e));
  }

  stats(): ProcessTableStats {
    return { size: this.table.size, procReadsLive: this.procReadsLive, procReadsGone: this.procReadsGone };
  }

  private exeChanged(e: CasefileEvent): number | undefined {
    if (!e.pid) return undefined;
    // Without a process key the pid may be reused: nothing is remembered about it.
    const key = e.processKey;
    const p = !key ? undefined : key === this.latestKey ? this.latestFacts : this.table.get(key);
    if (p?.gone) return undefined;
    const ms = exeChangedMs(e.pid);
    if (ms !== undefined) this.procReadsLive++;
    else {
      this.procReadsGone++;
      if (p) p.gone = true;
    }
    return ms;
  }
}
