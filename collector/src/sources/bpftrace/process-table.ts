/**
 * The eBPF source's process table: every process's identity (executable,
 * command line, container, creator) as the kernel reported it at its fork and
 * its exec, kept for a while after it exits so that children of a gone parent
 * still resolve. Lineage comes from here, never from /proc after the fact:
 *
 * - a fork record (probes/process.bt, in the forker's context) names the
 *   creator of a new pid; the child inherits the creator's identity until it
 *   execs. The creator is the true parent even when the kernel has already
 *   reparented the child to a subreaper (the container's init, conmon, pid 1)
 *   by the time it execs, and even for processes that never exec (subshells).
 * - an exec record replaces the identity of its process key (an exec in place
 *   keeps the key) and says how the process entered its container.
 *
 * Processes that were running before the collector started are seeded once
 * from /proc ({@link ProcessTable.seed}).
 */
import { USER_HZ } from '../process-identity';

/** What the table knows of one process (one process key). */
export interface ProcessIdentity {
  key: string;
  pid: number;
  /** Key of the process that created this one (fork), else the parent the kernel named at exec. */
  parentKey?: string;
  executable: string;
  commandLine: string;
  args: string[];
  /** Container id (undefined on the host). */
  containerId?: string;
  /** Set on a container's entry process: its init, or what the runtime exec'd. */
  entry?: ProcessEntry;
  /** A process of the container runtime itself (runc, crun, conmon, a shim). */
  runtime: boolean;
  /** False while it runs the image it was forked with (it has not exec'd since). */
  execd: boolean;
  /** Wall-clock ms of its exit, while it is kept after that. */
  exitedMs?: number;
}

export type ProcessEntry = 'container_init' | 'runtime_exec';

/** A fork seen in the forker's context: the new pid's creator, until the child's key is known. */
interface PendingFork {
  creatorKey: string;
  /** Fork time, CLOCK_BOOTTIME ns (comparable with a start_boottime). */
  bootNs: number;
  /** The creator as it was at the fork (it may exec something else before the child does). */
  creator?: ProcessIdentity;
}

export interface ProcessTableOptions {
  /** How long an exited process stays resolvable (default 10 min). */
  retainMs?: number;
  /** Hard cap on identities kept (default 65,536); exited ones go first. */
  maxEntries?: number;
}

/** Executables of container runtimes and their helpers (basename). */
const RUNTIME_EXES = /^(runc|crun|youki|runsc|conmon|containerd-shim.*|docker-init|runc:\[\d:[A-Z]+\])$/;
/** A runtime subcommand that starts a process in an existing container (runc/crun `exec`; conmon `-e`, `--exec`, `--exec-attach`). */
const EXEC_SUBCOMMAND = /^(exec|-e|--exec|--exec-attach)$/;
/** How far up a runtime's own chain the subcommand is looked for (runc init, runc exec, conmon). */
const RUNTIME_CHAIN = 6;
/** The executable of a forked process whose creator is not known. */
const UNKNOWN = '?';
/** Ancestors an event carries at most. */
export const MAX_ANCESTRY = 16;
/** A fork and the start time of the process it made differ by microseconds; allow for the clock offset estimate. */
const FORK_MATCH_NS = 2e9;

function basename(p: string | undefined): string {
  if (!p) return '';
  return p.slice(p.lastIndexOf('/') + 1).replace(/ \(deleted\)$/, '');
}

/**
 * Whether an executable and argv belong to a container runtime: runc and its
 * re-exec'd `runc init` (run from a memfd or /proc/self/exe), crun, conmon,
 * containerd shims.
 *
 * @example isRuntimeProcess('/usr/bin/runc', ['runc', 'exec']) // => true
 * @example isRuntimeProcess('/dev/fd/5', ['runc', 'init']) // => true
 * @example isRuntimeProcess('/bin/sh', ['sh']) // => false
 */
export function isRuntimeProcess(executable: string, args: readonly string[]): boolean {
  return RUNTIME_EXES.test(basename(executable)) || RUNTIME_EXES.test(basename(args[0]));
}

export class ProcessTable {
  private readonly byKey = new Map<string, ProcessIdentity>();
  private readonly pending = new Map<number, PendingFork>();
  /** Exited keys in exit order, for expiry. */
  private readonly exited: { key: string; ms: number }[] = [];
  /** Each container's living init (container id -> process key). */
  private readonly inits = new Map<string, string>();
  private readonly retainMs: number;
  private readonly maxEntries: number;

  constructor(opts: ProcessTableOptions = {}) {
    this.retainMs = opts.retainMs ?? 600_000;
    this.maxEntries = opts.maxEntries ?? 65_536;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** A fork seen in the forker's context: `childPid` was created by `creatorKey` at `bootNs`. */
  fork(childPid: number, creatorKey: string, bootNs: number): void {
    if (this.pending.size >= this.maxEntries) this.pending.delete(this.pending.keys().next().value!);
    this.pending.delete(childPid);
    const c = this.get(creatorKey);
    this.pending.set(childPid, { creatorKey, bootNs, creator: c && { ...c } });
  }

  /**
   * The identity of `key` (pid + start time), creating it from a pending fork
   * when the process has not exec'd yet (it runs its creator's image).
   */
  get(key: string | undefined): ProcessIdentity | undefined {
    if (!key) return undefined;
    const known = this.byKey.get(key);
    if (known) {
      // Made from a fork whose creator was not known yet (records of different CPUs arrive out of order): inherit now.
      if (!known.execd && known.executable === UNKNOWN)
        this.inherit(known, this.byKey.get(known.parentKey ?? ''));
      return known;
    }
    const k = parseKey(key);
    const f = k && this.takeFork(k.pid, k.startNs);
    if (!f) return undefined;
    const id: ProcessIdentity = {
      key,
      pid: k.pid,
      parentKey: f.creatorKey,
      executable: UNKNOWN,
      commandLine: '',
      args: [],
      runtime: false,
      execd: false,
    };
    this.inherit(id, f.creator ?? this.get(f.creatorKey));
    this.put(id);
    return id;
  }

  /** A forked process runs its creator's image. */
  private inherit(id: ProcessIdentity, creator: ProcessIdentity | undefined): void {
    if (!creator || creator.executable === UNKNOWN) return;
    id.executable = creator.executable;
    id.commandLine = creator.commandLine;
    id.args = creator.args;
    id.containerId ??= creator.containerId;
    id.runtime = creator.runtime;
  }

  /** Seed one process that was running before the collector started (from /proc). */
  seed(id: Omit<ProcessIdentity, 'runtime' | 'entry' | 'execd'>): void {
    if (this.byKey.has(id.key)) return;
    this.put({
      ...id,
      ...bounded(id.commandLine, id.args),
      runtime: isRuntimeProcess(id.executable, id.args),
      execd: true,
    });
  }

  /**
   * An exec: `key` now runs `executable`. Its creator is the one its fork
   * named, else the parent the kernel named at exec (`kernelParentKey`).
   * Returns the updated identity; its parent as it was when it made this
   * process (on a first exec after the fork, the image it was forked from);
   * and `entered` when this exec made it its container's entry (an exec in
   * place of an entry process keeps the entry but enters nothing new).
   */
  exec(
    key: string,
    pid: number,
    kernelParentKey: string | undefined,
    executable: string,
    args: string[],
    commandLine: string,
    containerId: string | undefined
  ): { self: ProcessIdentity; parent?: ProcessIdentity; entered: boolean } {
    const before = this.get(key);
    const parentKey = before?.parentKey ?? kernelParentKey;
    const current = this.get(parentKey);
    const parent =
      before && !before.execd
        ? {
            ...before,
            key: parentKey!,
            pid: current?.pid ?? parseKey(parentKey!)?.pid ?? 0,
            parentKey: current?.parentKey,
            entry: current?.entry,
          }
        : current;
    const runtime = isRuntimeProcess(executable, args);
    const self: ProcessIdentity = {
      key,
      pid,
      parentKey,
      executable,
      ...bounded(commandLine, args),
      containerId,
      runtime,
      entry: runtime ? undefined : (before?.entry ?? this.entryOf(containerId, parent, kernelParentKey)),
      execd: true,
    };
    this.put(self);
    if (self.entry === 'container_init' && !before?.entry) this.inits.set(containerId!, key);
    return { self, parent, entered: !!self.entry && !before?.entry };
  }

  /**
   * How a process whose parent is `parent` entered container `containerId`,
   * if it is that container's entry: its creator, or the parent the kernel
   * named at exec (runc's last child is made with CLONE_PARENT, so that is
   * `runc exec|create` itself), is the runtime. An unknown parent (a lost
   * record) says nothing: better no mark than a wrong one.
   */
  private entryOf(
    containerId: string | undefined,
    parent: ProcessIdentity | undefined,
    kernelParentKey: string | undefined
  ): ProcessEntry | undefined {
    if (!containerId) return undefined;
    if (parent && parent.containerId === containerId && !parent.runtime && parent.executable !== UNKNOWN)
      return undefined;
    const commands = [parent?.key, kernelParentKey].map((k) => this.runtimeCommandOf(k)).filter((c) => !!c);
    if (commands.some((c) => c.args.some((a) => EXEC_SUBCOMMAND.test(a)))) return 'runtime_exec';
    if (!commands.length) return undefined;
    // A container has one init: while it lives, the runtime starts anything else through its exec
    // (the runtime's argv may have been cut before its subcommand).
    const init = this.byKey.get(this.inits.get(containerId) ?? '');
    return init && init.exitedMs === undefined ? 'runtime_exec' : 'container_init';
  }

  /** After seeding: mark the entries of containers that were running before the collector started. */
  markSeededEntries(): void {
    for (const id of this.byKey.values()) {
      if (!id.containerId || id.entry || id.runtime) continue;
      const parent = this.get(id.parentKey);
      if (!parent || (parent.containerId === id.containerId && !parent.runtime)) continue;
      id.entry = this.entryOf(id.containerId, parent, undefined);
      if (id.entry === 'container_init') this.inits.set(id.containerId, id.key);
    }
  }

  /**
   * The runtime process above `key` that says which subcommand started a
   * container process (`runc ... exec ...`, `conmon ... --exec`): the runtime's
   * chain is runc's nsexec children <- runc init <- runc exec|create <- conmon.
   */
  runtimeCommandOf(key: string | undefined): ProcessIdentity | undefined {
    let first: ProcessIdentity | undefined;
    let p = this.get(key);
    // Unknown links (a fork whose creator's records are still on their way) are walked through.
    for (
      let i = 0;
      p && (p.runtime || p.executable === UNKNOWN) && i < RUNTIME_CHAIN;
      i++, p = this.get(p.parentKey)
    ) {
      if (!p.runtime) continue;
      if (p.args.some((a) => EXEC_SUBCOMMAND.test(a))) return p;
      if (!first && p.args[1] !== 'init') first = p;
    }
    return first;
  }

  /** The process exited; it stays resolvable for the retention period. */
  exit(key: string | undefined, nowMs: number): void {
    // A process that never exec'd (a subshell) is made resolvable now: its children may exec after it is gone.
    const id = this.get(key);
    if (!id || id.exitedMs !== undefined) return;
    id.exitedMs = nowMs;
    if (id.containerId && this.inits.get(id.containerId) === id.key) this.inits.delete(id.containerId);
    this.exited.push({ key: id.key, ms: nowMs });
    this.expire(nowMs);
  }

  /**
   * Keys of `key`'s ancestors, nearest first: up to its container's entry
   * process (not beyond: the runtime and the host are not the container's
   * story), or for a host process up to the oldest known, at most
   * {@link MAX_ANCESTRY}.
   */
  ancestry(key: string | undefined): string[] {
    const out: string[] = [];
    let id = this.get(key);
    while (id && !id.entry && out.length < MAX_ANCESTRY) {
      const parent = this.get(id.parentKey);
      if (!parent || parent.runtime || parent.containerId !== id.containerId) break;
      out.push(parent.key);
      id = parent;
    }
    return out;
  }

  /** The first ancestor of a runtime process that is not the runtime: who asked for an exec. */
  operatorOf(runtimeKey: string | undefined): ProcessIdentity | undefined {
    let id = this.get(runtimeKey);
    for (let i = 0; id?.runtime && i < MAX_ANCESTRY; i++) id = this.get(id.parentKey);
    return id && !id.runtime ? id : undefined;
  }

  private takeFork(pid: number, startNs: number): PendingFork | undefined {
    const f = this.pending.get(pid);
    if (!f || Math.abs(f.bootNs - startNs) > FORK_MATCH_NS) return undefined;
    this.pending.delete(pid);
    return f;
  }

  private put(id: ProcessIdentity): void {
    this.byKey.set(id.key, id);
    if (this.byKey.size <= this.maxEntries) return;
    // Over the cap: exited processes go first, then the oldest.
    const victim = this.exited.shift()?.key ?? this.byKey.keys().next().value!;
    this.byKey.delete(victim);
  }

  private expire(nowMs: number): void {
    while (this.exited.length && nowMs - this.exited[0].ms >= this.retainMs) {
      const { key } = this.exited.shift()!;
      const id = this.byKey.get(key);
      if (id?.exitedMs !== undefined) this.byKey.delete(key);
    }
  }
}

/** A command line kept for children to name their parent: enough to read (events cut theirs anyway), not a 1 MB argv per process. */
function bounded(commandLine: string, args: string[]): { commandLine: string; args: string[] } {
  return {
    commandLine: commandLine.length > 4096 ? commandLine.slice(0, 4096) : commandLine,
    args:
      args.length > 64 || args.some((a) => a.length > 256)
        ? args.slice(0, 64).map((a) => a.slice(0, 256))
        : args,
  };
}

/** `<boot>:<pid>:<ticks>` -> pid and start time in ns (to the tick). */
function parseKey(key: string): { pid: number; startNs: number } | undefined {
  const parts = key.split(':');
  const pid = Number(parts[parts.length - 2]);
  const ticks = Number(parts[parts.length - 1]);
  return Number.isFinite(pid) && Number.isFinite(ticks)
    ? { pid, startNs: (ticks * 1e9) / USER_HZ }
    : undefined;
}
