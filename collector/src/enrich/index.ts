/**
 * Enrichment: every event gets its scope (host; container id, name, image
 * name and digest, pod and namespace) and uid -> user name, then exec events
 * on the host are classified as host activity (an extra host.activity event).
 */
import { readlinkSync, statSync } from 'node:fs';
import { makeEvent, type CasefileEvent } from '@casefile/schema';
import type { Logger } from 'pino';
import type { CollectorConfig } from '../config';
import type { Stage } from '../pipeline/types';
import {
  containerDirectory,
  type ContainerDirectory,
  type ContainerInfo,
} from '../sources/container-directory';
import { hostActivityFor } from './classify';
import { PidScope } from './scope';
import { UserResolver } from './users';

export interface EnricherOptions {
  host: { name: string; id?: string };
  /** Engine API socket the container directory asks too (config sources.runtimeSocket). */
  runtimeSocket?: string;
  /** Emit host.activity events for classified host execs. Default true. */
  classify?: boolean;
  procRoot?: string;
}

/** The runtime's names for a container, on an event that lacks them (fields already set are kept). */
function applyInfo(out: CasefileEvent, info: ContainerInfo): void {
  if (info.containerName) out.containerName ??= info.containerName;
  if (info.imageName) out.imageName ??= info.imageName;
  if (info.imageDigest) out.imageDigest ??= info.imageDigest;
  if (info.pod) out.pod ??= info.pod;
  if (info.namespace) out.namespace ??= info.namespace;
  if (info.podUid) out.podUid ??= info.podUid;
}

function statOr(path: string): { dev: number; ino: number } | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function readlinkOr(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** The enrichment Stage for a collector config. */
export function createEnricher(config: CollectorConfig, logger: Logger): Stage {
  return new Enricher({ host: config.host, runtimeSocket: config.sources.runtimeSocket }, logger);
}

/**
 * How long events of a container the runtime is being asked about wait for its answer: the
 * entrypoint's first events come before the runtime's own, and without the wait they would carry
 * the container id but no name, image or pod (scoping by name would miss them).
 */
export const HOLD_MS = 2000;

export class Enricher implements Stage {
  readonly name = 'enrich';
  private readonly scope: PidScope;
  private readonly users = new UserResolver();
  private readonly dir: ContainerDirectory;
  private readonly procRoot: string;
  private counters = { enriched: 0, container_lookups: 0, host_activity: 0 };
  private hostMntNs?: string;
  /** Events of containers being looked up, in arrival order, released when the runtime answers. */
  private readonly held = new Map<string, Array<{ e: CasefileEvent; emit: (e: CasefileEvent) => void }>>();

  constructor(
    private readonly opts: EnricherOptions,
    private readonly logger: Logger
  ) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.scope = new PidScope(this.procRoot);
    this.dir = containerDirectory(opts.runtimeSocket);
  }

  process(e: CasefileEvent, emit: (e: CasefileEvent) => void): void {
    const out = this.enrich(e);
    const waiting = out.containerId ? this.held.get(out.containerId) : undefined;
    if (waiting) {
      waiting.push({ e: out, emit });
      return;
    }
    this.finish(out, emit);
  }

  private finish(out: CasefileEvent, emit: (e: CasefileEvent) => void): void {
    emit(out);
    if (this.opts.classify !== false) {
      const act = hostActivityFor(out);
      if (act) {
        this.counters.host_activity++;
        emit(makeEvent(act));
      }
    }
  }

  /** A copy of `e` with scope and user filled in (fields already set are kept). */
  enrich(e: CasefileEvent): CasefileEvent {
    const out: CasefileEvent = { ...e };
    out.host ??= this.opts.host.name;
    if (this.opts.host.id) out.hostId ??= this.opts.host.id;
    if (!out.containerId) {
      const c = this.scope.resolve(out);
      if (c) {
        out.containerId = c.containerId;
        out.containerRuntime ??= c.runtime;
        if (c.podUid) out.podUid ??= c.podUid;
      }
    }
    let initPid: number | undefined;
    if (out.containerId) {
      const info = this.dir.get(out.containerId);
      if (info) {
        initPid = info.pid;
        applyInfo(out, info);
      } else if (this.dir.canLookup() && !this.held.has(out.containerId)) {
        // Held (process) until the runtime answers, so this event too gets the name, image and pod.
        this.counters.container_lookups++;
        this.hold(out.containerId);
      }
    }
    if (out.uid !== undefined && !out.user) {
      const user =
        out.containerId && !this.inHostMountNs(out.pid)
          ? this.users.lookup(
              out.containerId,
              this.containerRoots([initPid, out.pid]).map((r) => `${r}/etc/passwd`),
              out.uid
            )
          : this.users.lookup('host', ['/etc/passwd'], out.uid);
      if (user) out.user = user;
    }
    this.counters.enriched++;
    return out;
  }

  private hold(id: string): void {
    this.held.set(id, []);
    const timer = setTimeout(() => this.release(id), HOLD_MS);
    timer.unref?.();
    void this.dir
      .lookup(id)
      .catch(() => undefined)
      .then(() => {
        clearTimeout(timer);
        this.release(id);
      });
  }

  /** Emit a container's held events, with what the runtime said (or as they were, if it said nothing). */
  private release(id: string): void {
    const list = this.held.get(id);
    if (!list) return;
    this.held.delete(id);
    const info = this.dir.get(id);
    for (const { e, emit } of list) {
      if (info) applyInfo(e, info);
      // Released from a timer or a promise: a throw here would have no stage wrapper to catch it.
      try {
        this.finish(e, emit);
      } catch (err) {
        this.logger.error({ err, id: e.id, type: e.type }, 'a held event failed downstream; dropped');
      }
    }
  }

  /** Nothing held is lost on shutdown. */
  async stop(): Promise<void> {
    for (const id of [...this.held.keys()]) this.release(id);
  }

  private mntNs(pid: number | string): string | undefined {
    return readlinkOr(`${this.procRoot}/${pid}/ns/mnt`);
  }

  /**
   * Whether a live process sees the host's files: the runtime's own helpers
   * (runc init) sit in the container's cgroup before they enter its mount
   * namespace, and their uids are the host's.
   */
  private inHostMountNs(pid: number | undefined): boolean {
    this.hostMntNs ??= this.mntNs(1) ?? this.mntNs('self') ?? '';
    return pid !== undefined && this.mntNs(pid) === this.hostMntNs;
  }

  /**
   * /proc/<pid>/root of those pids that live in a mount namespace other than
   * the host's and whose /etc/passwd is not the host's file: a runtime helper
   * in a fresh mount namespace still sees the host's files until it pivots
   * into the container's root.
   */
  private containerRoots(pids: Array<number | undefined>): string[] {
    const host = statOr('/etc/passwd');
    return pids
      .filter((p): p is number => p !== undefined && this.mntNs(p) !== undefined && !this.inHostMountNs(p))
      .map((p) => `${this.procRoot}/${p}/root`)
      .filter((r) => {
        const st = statOr(`${r}/etc/passwd`);
        return st !== undefined && !(host && st.dev === host.dev && st.ino === host.ino);
      });
  }

  stats(): Record<string, number> {
    return { ...this.counters };
  }
}
