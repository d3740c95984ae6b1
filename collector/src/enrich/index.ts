/**
 * Enrichment: every event gets its scope (host; container id, name, image
 * name and digest, pod and namespace) and uid -> user name, then exec events
 * on the host are classified as host activity (an extra host.activity event).
 */
import { readlinkSync, statSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
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

/** The scope fields the runtime's answer about a container gives an event. */
type ContainerFields = Pick<
  CasefileEvent,
  'containerName' | 'imageName' | 'imageDigest' | 'pod' | 'namespace' | 'podUid'
>;
const CONTAINER_FIELDS = ['containerName', 'imageName', 'imageDigest', 'pod', 'namespace', 'podUid'] as const;

/**
 * Sources whose events leave them with their scope decided, so the enricher does not resolve it
 * again: the eBPF source takes it from the kernel record's cgroup id (exact at the event, even for
 * a process gone since) and reads /proc only for an id it cannot place; the synthetic source stands
 * for its parsed records (host processes).
 */
const SCOPED_SOURCES = new Set(['ebpf', 'synthetic']);

/** A container the runtimes did not know is not asked about (nor its events held) again for this long. */
export const UNKNOWN_CONTAINER_MS = 10_000;

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
export function createEnricher(config: CollectorConfig, logger: Logger): Enricher {
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
  private counters = {
    enriched: 0,
    container_lookups: 0,
    host_activity: 0,
    held: 0,
    held_released_named: 0,
    held_released_unnamed: 0,
  };
  private hostMntNs?: string;
  /** Events of containers being looked up, in arrival order, released when the runtime answers. */
  private readonly held = new Map<string, Array<{ e: CasefileEvent; emit: (e: CasefileEvent) => void }>>();
  /** Containers no runtime knew, lately: their events pass without a hold. */
  private readonly unknown = new LRUCache<string, true>({ max: 4096, ttl: UNKNOWN_CONTAINER_MS });
  /** The event fields of each runtime answer (the directory replaces an answer it updates), checked once. */
  private readonly fieldsOf = new WeakMap<ContainerInfo, ContainerFields>();
  /** Processes seen outside the host's mount namespace (one never returns to it), by process key or pid. */
  private readonly inContainerMnt = new LRUCache<string, true>({ max: 65536 });

  constructor(
    private readonly opts: EnricherOptions,
    private readonly logger: Logger
  ) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.scope = new PidScope(this.procRoot);
    this.dir = containerDirectory(opts.runtimeSocket);
  }

  process(e: CasefileEvent, emit: (e: CasefileEvent) => void): void {
    this.enrich(e);
    const waiting = e.containerId ? this.held.get(e.containerId) : undefined;
    if (waiting) {
      this.counters.held++;
      waiting.push({ e, emit });
      return;
    }
    this.finish(e, emit);
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

  /**
   * Fill in scope and user on `e` itself (fields already set are kept): the
   * event is the pipeline's own from makeEvent() on, so no copy is made.
   */
  enrich(e: CasefileEvent): void {
    e.host ??= this.opts.host.name;
    if (this.opts.host.id) e.hostId ??= this.opts.host.id;
    if (!e.containerId && !SCOPED_SOURCES.has(e.source!)) {
      const c = this.scope.resolve(e);
      if (c) {
        e.containerId = c.containerId;
        e.containerRuntime ??= c.runtime;
        if (c.podUid) e.podUid ??= c.podUid;
      }
    }
    let initPid: number | undefined;
    if (e.containerId) {
      const info = this.dir.get(e.containerId);
      if (info) {
        initPid = info.pid;
        this.applyInfo(e, info);
      } else if (!this.held.has(e.containerId) && !this.unknown.has(e.containerId) && this.dir.canLookup()) {
        // Held (process) until the runtime answers, so this event too gets the name, image and pod.
        this.counters.container_lookups++;
        this.hold(e.containerId);
      }
    }
    if (e.uid !== undefined && !e.user) {
      const cid = e.containerId;
      const user =
        cid && this.inContainerMntNs(e)
          ? this.users.lookup(
              cid,
              () => this.containerRoots([initPid, e.pid]).map((r) => `${r}/etc/passwd`),
              e.uid
            )
          : this.users.hostUser(e.uid);
      if (user) e.user = user;
    }
    this.counters.enriched++;
  }

  /** The runtime's names for a container, on an event that lacks them (fields already set are kept). */
  private applyInfo(e: CasefileEvent, info: ContainerInfo): void {
    let f = this.fieldsOf.get(info);
    if (!f) this.fieldsOf.set(info, (f = this.checkedFields(info)));
    for (const k of CONTAINER_FIELDS) if (f[k]) e[k] ??= f[k];
  }

  /**
   * The answer's fields as the contract wants them (cut, U+FFFD escaped), so
   * the events that carry them need no second validation; a field that
   * cannot be made valid is left out, and said so.
   */
  private checkedFields(info: ContainerInfo): ContainerFields {
    const out: ContainerFields = {};
    for (const k of CONTAINER_FIELDS) {
      if (!info[k]) continue;
      try {
        out[k] = makeEvent({
          type: 'container.start',
          message: k,
          containerId: info.containerId,
          [k]: info[k],
        })[k];
      } catch (err) {
        this.logger.warn(
          { err, containerId: info.containerId, field: k },
          'the runtime gave an invalid value; left out'
        );
      }
    }
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
    if (!info) this.unknown.set(id, true);
    this.counters[info ? 'held_released_named' : 'held_released_unnamed'] += list.length;
    for (const { e, emit } of list) {
      if (info) this.applyInfo(e, info);
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
   * Whether an event's process is in a mount namespace other than the host's
   * (or gone): /proc is asked until it has left the host's, then never again
   * for that process.
   */
  private inContainerMntNs(e: CasefileEvent): boolean {
    const k = e.processKey ?? `pid:${e.pid}`;
    if (this.inContainerMnt.has(k)) return true;
    if (this.inHostMountNs(e.pid)) return false;
    this.inContainerMnt.set(k, true);
    return true;
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

  /** Counters: events enriched, runtime lookups, host.activity events, events held and how they were released. */
  stats(): Record<string, number> {
    return { ...this.counters };
  }
}
