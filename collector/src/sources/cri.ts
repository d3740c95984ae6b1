/**
 * Container runtime source for Kubernetes nodes without an Engine API: the
 * CRI v1 RuntimeService of containerd or CRI-O on its unix socket. Lists pod
 * sandboxes and containers at start, follows `GetContainerEvents`, and polls
 * `ListContainers` instead where the runtime does not implement it
 * (containerd 1.6). Emits container.start / container.stop (pod sandboxes
 * too, named POD, as Podman reports a pod's infra container) and answers the
 * shared {@link ContainerDirectory} for the containers it runs (image name,
 * digest from `imageRef`, labels, annotations, pod from io.kubernetes.* labels).
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Availability, Emit, Source } from '../pipeline/types';
import {
  containerDirectory,
  type ContainerDirectory,
  type ContainerInfo,
  type ContainerInspector,
} from './container-directory';
import { containerStartEvent, containerStopEvent } from './container-events';
import {
  CriClient,
  isNotFound,
  isUnimplemented,
  type CriContainerEvent,
  type CriContainerState,
  type CriContainerStatus,
  type CriPodSandbox,
} from './cri/client';
import { infoFromContainerStatus, infoFromSandboxStatus, runtimeOf, verboseInfo } from './cri/map';

/** Where containerd and CRI-O serve the CRI by default. */
export const DEFAULT_CRI_SOCKETS = ['/run/containerd/containerd.sock', '/var/run/crio/crio.sock'] as const;

const MAX_TRACKED = 4096;
const RECONNECT_MS = 1000;

export interface CriSourceOptions {
  /** ListContainers interval when GetContainerEvents is unimplemented. Default 1000 ms. */
  pollMs?: number;
}

/** Answers the directory for one CRI runtime: containers by ContainerStatus, pod sandboxes by PodSandboxStatus. */
class CriInspector implements ContainerInspector {
  private readonly sandboxes = new Map<string, CriPodSandbox>();

  constructor(
    private readonly client: CriClient,
    private readonly runtime: string
  ) {}

  get socketPath(): string {
    return this.client.socketPath;
  }

  rememberSandbox(s: CriPodSandbox): void {
    this.sandboxes.set(s.id, s);
    if (this.sandboxes.size > MAX_TRACKED) this.sandboxes.delete(this.sandboxes.keys().next().value!);
  }

  async inspect(id: string): Promise<ContainerInfo | undefined> {
    try {
      const res = await this.client.containerStatus(id);
      const labels = res.status?.labels ?? {};
      const sandboxId = verboseInfo(res.info).sandboxID;
      // The pod's metadata is needed only when kubelet's labels are missing.
      const sandbox =
        sandboxId && !labels['io.kubernetes.pod.name'] ? await this.sandbox(sandboxId) : undefined;
      return infoFromContainerStatus(res, this.runtime, sandbox);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    // Not a container: the pause process of a pod sandbox is in the sandbox's cgroup.
    try {
      return infoFromSandboxStatus(await this.client.podSandboxStatus(id), this.runtime);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async stopContainer(id: string, timeoutSec: number): Promise<void> {
    await this.client.unary(
      'StopContainer',
      { containerId: id, timeout: timeoutSec },
      (timeoutSec + 10) * 1000
    );
  }

  private async sandbox(id: string): Promise<CriPodSandbox | undefined> {
    if (!this.sandboxes.has(id)) {
      const s = (await this.client.podSandboxStatus(id).catch(() => undefined))?.status;
      if (s) this.rememberSandbox(s);
    }
    return this.sandboxes.get(id);
  }
}

export class CriSource implements Source {
  readonly name = 'runtime' as const;
  /** Opened by available() once the socket exists (so gRPC loads only on nodes with a CRI). */
  private client?: CriClient;
  private readonly dir: ContainerDirectory;
  private inspector?: CriInspector;
  private runtime = 'cri';
  private version = '';
  private mode: 'events' | 'polling' = 'events';
  private stopped = false;
  private cancelStream?: () => void;
  private timer?: NodeJS.Timeout;
  /** Last state seen per container (polling, and to tell a start from a restart of the stream). */
  private readonly states = new Map<string, CriContainerState>();
  private readonly started = new Set<string>();
  private readonly stoppedIds = new Set<string>();
  /** Pod sandbox ids: reported as containers named POD (as Podman reports a pod's infra container). */
  private readonly sandboxIds = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private readonly pollMs: number;
  private pollFailing = false;
  private counters = {
    cri_events: 0,
    cri_polls: 0,
    poll_failures: 0,
    events: 0,
    reconnects: 0,
    inspect_failures: 0,
  };

  constructor(
    readonly socketPath: string,
    private readonly logger: Logger,
    opts: CriSourceOptions = {}
  ) {
    this.dir = containerDirectory();
    this.pollMs = opts.pollMs ?? 1000;
  }

  /** `containerd 1.6.20 (CRI v1, polling)` once started; the runtime's name before. */
  describe(): string {
    return `${this.runtime}${this.version ? ` ${this.version}` : ''} (CRI v1, ${this.mode === 'events' ? 'GetContainerEvents' : `polling every ${this.pollMs} ms`})`;
  }

  async available(): Promise<Availability> {
    if (!existsSync(this.socketPath)) return { ok: false, reason: `no CRI socket at ${this.socketPath}` };
    try {
      this.client ??= await CriClient.open(this.socketPath);
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    try {
      const v = await this.client.version();
      this.runtime = runtimeOf(v.runtimeName);
      this.version = v.runtimeVersion;
      if (v.runtimeApiVersion !== 'v1')
        return { ok: false, reason: `${this.socketPath} serves CRI ${v.runtimeApiVersion}, not v1` };
      return { ok: true };
    } catch (err) {
      return {
        ok: false,
        reason: isUnimplemented(err)
          ? `${this.socketPath} does not serve the CRI v1 RuntimeService (containerd's cri plugin disabled?)`
          : `CRI at ${this.socketPath} does not answer Version: ${(err as Error).message}`,
      };
    }
  }

  /** The client available() opened: start() and what it starts run only after available() said ok. */
  private get cri(): CriClient {
    if (!this.client) throw new Error(`CRI source ${this.socketPath} started before available()`);
    return this.client;
  }

  async start(emit: Emit): Promise<void> {
    this.inspector = new CriInspector(this.cri, this.runtime);
    this.dir.addInspector(this.inspector);
    // Running before we started: known to the directory, not reported as starting now.
    for (const u of await this.listUnits()) {
      this.track(u.id, u.state);
      if (u.state === 'CONTAINER_RUNNING') this.remember(this.started, u.id);
      await this.dir.lookup(u.id);
    }
    await this.follow(emit);
  }

  /** Stream events; on Unimplemented fall back to polling for good. Resolves once the mode is known. */
  private follow(emit: Emit): Promise<void> {
    return new Promise<void>((ready) => {
      if (this.stopped) return ready();
      // The stream answers nothing until an event comes; an Unimplemented comes at once.
      const settle = setTimeout(ready, 300);
      this.cancelStream = this.cri.containerEvents(
        (ev) => {
          this.counters.cri_events++;
          this.queue = this.queue.then(() => this.onEvent(ev, emit));
        },
        (err) => {
          clearTimeout(settle);
          if (this.stopped) return ready();
          if (isUnimplemented(err)) {
            this.mode = 'polling';
            this.logger.info(
              { socket: this.socketPath, runtime: this.runtime, pollMs: this.pollMs },
              `${this.runtime} ${this.version} does not implement GetContainerEvents; polling ListContainers`
            );
            this.schedulePoll(emit, 0);
            return ready();
          }
          this.counters.reconnects++;
          this.logger.warn(
            { socket: this.socketPath, err: err?.message },
            'CRI event stream ended; resyncing and reconnecting'
          );
          // Whatever happened while the stream was down is found by one poll.
          this.queue = this.queue.then(() => this.poll(emit));
          this.timer = setTimeout(() => void this.follow(emit), RECONNECT_MS);
          this.timer.unref();
          ready();
        }
      );
    });
  }

  private schedulePoll(emit: Emit, delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.queue = this.queue.then(() => this.poll(emit)).finally(() => this.schedulePoll(emit, this.pollMs));
    }, delayMs);
    this.timer.unref();
  }

  private async onEvent(ev: CriContainerEvent, emit: Emit): Promise<void> {
    // Sandbox events carry the sandbox as their container.
    if (ev.podSandboxStatus && ev.podSandboxStatus.id === ev.containerId) {
      this.inspector?.rememberSandbox(ev.podSandboxStatus);
      this.remember(this.sandboxIds, ev.containerId);
      if (ev.containerEventType === 'CONTAINER_STARTED_EVENT')
        await this.reportStart(ev.containerId, emit, ev.podSandboxStatus.createdAt);
      else if (ev.containerEventType === 'CONTAINER_STOPPED_EVENT')
        await this.reportStop(ev.containerId, emit);
      return;
    }
    const status = ev.containersStatuses?.find((s) => s.id === ev.containerId);
    if (status) this.track(status.id, status.state);
    if (ev.containerEventType === 'CONTAINER_STARTED_EVENT')
      await this.reportStart(ev.containerId, emit, status?.startedAt);
    else if (ev.containerEventType === 'CONTAINER_STOPPED_EVENT')
      await this.reportStop(ev.containerId, emit, status);
    else if (ev.containerEventType === 'CONTAINER_CREATED_EVENT') void this.dir.lookup(ev.containerId, true);
  }

  /**
   * Containers and pod sandboxes as one list of states (a ready sandbox is
   * running, a not-ready one exited), with the time each started when known.
   */
  private async listUnits(): Promise<Array<{ id: string; state: CriContainerState; startedAt?: string }>> {
    const sandboxes = await this.cri.listPodSandbox();
    for (const sb of sandboxes) {
      this.inspector?.rememberSandbox(sb);
      this.remember(this.sandboxIds, sb.id);
    }
    return [
      ...sandboxes.map((sb) => ({
        id: sb.id,
        state: (sb.state === 'SANDBOX_READY' ? 'CONTAINER_RUNNING' : 'CONTAINER_EXITED') as CriContainerState,
        startedAt: sb.createdAt,
      })),
      ...(await this.cri.listContainers()).map((c) => ({ id: c.id, state: c.state })),
    ];
  }

  /** One listing, diffed against the last: new running -> start, running -> exited -> stop. */
  private async poll(emit: Emit): Promise<void> {
    let list: Awaited<ReturnType<CriSource['listUnits']>>;
    try {
      list = await this.listUnits();
    } catch (err) {
      this.counters.poll_failures++;
      // Once per outage, not once a second while the runtime is down.
      if (!this.pollFailing)
        this.logger.warn({ socket: this.socketPath, err: (err as Error).message }, 'CRI listing failed');
      this.pollFailing = true;
      return;
    }
    if (this.pollFailing) this.logger.info({ socket: this.socketPath }, 'CRI listing works again');
    this.pollFailing = false;
    this.counters.cri_polls++;
    const present = new Set<string>();
    for (const c of list) {
      present.add(c.id);
      const before = this.states.get(c.id);
      this.track(c.id, c.state);
      if (before === c.state) continue;
      if (c.state === 'CONTAINER_CREATED') void this.dir.lookup(c.id, true);
      if (c.state === 'CONTAINER_RUNNING') await this.reportStart(c.id, emit, c.startedAt);
      if (c.state === 'CONTAINER_EXITED') {
        // Started and exited between two polls: both happened.
        if (before !== 'CONTAINER_RUNNING') await this.reportStart(c.id, emit, c.startedAt);
        await this.reportStop(c.id, emit);
      }
    }
    for (const [id, state] of this.states) {
      if (present.has(id)) continue;
      this.states.delete(id);
      // Removed while running (between two polls): it stopped, exit code unknown.
      if (state === 'CONTAINER_RUNNING') await this.reportStop(id, emit);
    }
  }

  private async reportStart(id: string, emit: Emit, startedAt?: string): Promise<void> {
    if (this.started.has(id)) return;
    this.remember(this.started, id);
    this.stoppedIds.delete(id);
    const info = (await this.dir.lookup(id, true)) ?? this.dir.get(id);
    if (!info) this.counters.inspect_failures++;
    const at = startedAt ?? (this.sandboxIds.has(id) ? undefined : (await this.statusOf(id))?.startedAt);
    this.counters.events++;
    emit(
      containerStartEvent(info ?? { containerId: id }, { timeNs: nsOrUndefined(at), runtime: this.runtime })
    );
  }

  private async reportStop(id: string, emit: Emit, known?: CriContainerStatus): Promise<void> {
    if (this.stoppedIds.has(id)) return;
    this.remember(this.stoppedIds, id);
    this.started.delete(id);
    const info = this.dir.get(id) ?? { containerId: id, runtime: this.runtime };
    this.counters.events++;
    // A sandbox has no exit code: it is stopped (StopPodSandbox) when its pod goes.
    if (this.sandboxIds.has(id)) {
      emit(containerStopEvent(info, { runtime: this.runtime, reason: 'stopped' }));
      return;
    }
    const status = known ?? (await this.statusOf(id));
    emit(
      containerStopEvent(info, {
        timeNs: nsOrUndefined(status?.finishedAt),
        runtime: this.runtime,
        exitCode: status ? status.exitCode : undefined,
        reason: !status ? 'removed' : status.reason === 'OOMKilled' ? 'oom-killed' : 'exited',
      })
    );
  }

  private async statusOf(id: string): Promise<CriContainerStatus | undefined> {
    return (await this.cri.containerStatus(id).catch(() => undefined))?.status ?? undefined;
  }

  private track(id: string, state: CriContainerState): void {
    this.states.delete(id);
    this.states.set(id, state);
    if (this.states.size > MAX_TRACKED) this.states.delete(this.states.keys().next().value!);
  }

  private remember(set: Set<string>, id: string): void {
    if (set.size >= MAX_TRACKED) set.delete(set.values().next().value!);
    set.add(id);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.cancelStream?.();
    await this.queue;
    this.client?.close();
  }

  stats(): Record<string, number> {
    return { ...this.counters };
  }
}

/** A CRI timestamp (ns as a decimal string) or undefined for 0 / absent. */
function nsOrUndefined(ns: string | undefined): string | undefined {
  return ns && /^[1-9]\d*$/.test(ns) ? ns : undefined;
}
