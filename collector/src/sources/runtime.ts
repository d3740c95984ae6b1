/**
 * Container runtime source: the Docker-compatible Engine API on a unix
 * socket (Docker, or Podman's `podman system service`). Emits container
 * start (with image name, digest, labels, pod) and stop/die, and keeps the
 * shared {@link ContainerDirectory} current for the enricher.
 */
import { existsSync } from 'node:fs';
import type { NewEvent } from '@casefile/schema';
import type { Logger } from 'pino';
import type { Availability, Emit, Source } from '../pipeline/types';
import { containerDirectory, type ContainerDirectory, type ContainerInfo } from './container-directory';
import { containerStartEvent, containerStopEvent, type ContainerScope } from './container-events';
import { EngineClient, type EngineEvent } from './engine-client';

/** Engine event time in ns (timeNano, else time in seconds); undefined when absent. */
function eventTimeNs(ev: EngineEvent): string | undefined {
  if (typeof ev.timeNano === 'number' && ev.timeNano > 0)
    return (BigInt(Math.round(ev.timeNano / 1000)) * 1000n).toString();
  if (typeof ev.time === 'number' && ev.time > 0) return (BigInt(ev.time) * 1_000_000_000n).toString();
  return undefined;
}

function scopeOf(info: ContainerInfo | undefined, ev: EngineEvent): ContainerScope {
  const attrs = ev.Actor?.Attributes ?? {};
  return {
    ...info,
    containerId: info?.containerId ?? ev.Actor?.ID ?? ev.id ?? '',
    containerName: info?.containerName ?? attrs.name,
    imageName: info?.imageName ?? attrs.image,
    pod: info?.pod ?? attrs['io.kubernetes.pod.name'],
    namespace: info?.namespace ?? attrs['io.kubernetes.pod.namespace'],
  };
}

/**
 * Map one Engine API event to a Casefile event: `start` -> container.start,
 * `die` -> container.stop; anything else -> null.
 * @example mapEngineEvent({ Type: 'container', Action: 'die', Actor: { ID: 'abc', Attributes: { exitCode: '137' } } }, undefined, 'docker', true)
 *   // => { type: 'container.stop', containerId: 'abc', exitCode: 137, reason: 'stopped', ... }
 */
export function mapEngineEvent(
  ev: EngineEvent,
  info: ContainerInfo | undefined,
  runtime?: string,
  stopRequested = false
): NewEvent | null {
  if ((ev.Type ?? 'container') !== 'container') return null;
  const action = ev.Action ?? ev.status;
  const scope = scopeOf(info, ev);
  if (!scope.containerId) return null;
  const ctx = { timeNs: eventTimeNs(ev), runtime };
  if (action === 'start') return containerStartEvent(scope, ctx);
  // `die` is the one event every runtime sends when the container's process ends, with the exit code
  // (Docker: kill, die, stop; Podman: stop, die). `stopRequested` says whether someone stopped it.
  if (action === 'die') {
    const code = Number(ev.Actor?.Attributes?.exitCode ?? ev.Actor?.Attributes?.containerExitCode);
    return containerStopEvent(scope, {
      ...ctx,
      exitCode: Number.isFinite(code) ? code : undefined,
      reason: stopRequested ? 'stopped' : 'exited',
    });
  }
  return null;
}

export class RuntimeSource implements Source {
  readonly name = 'runtime' as const;
  private readonly dir: ContainerDirectory;
  private readonly client: EngineClient;
  private closeStream?: () => void;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  private lastEventSec?: number;
  private runtimeName?: string;
  /** Containers someone asked to stop (stop/kill seen before their die). */
  private readonly stopRequested = new Set<string>();
  private readonly seen = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private counters = { engine_events: 0, events: 0, reconnects: 0, inspect_failures: 0 };

  constructor(
    private readonly socketPath: string,
    private readonly logger: Logger
  ) {
    this.dir = containerDirectory(socketPath);
    this.client = new EngineClient(socketPath);
  }

  async available(): Promise<Availability> {
    if (!existsSync(this.socketPath))
      return { ok: false, reason: `no Engine API socket at ${this.socketPath}` };
    if (!(await this.client.ping()))
      return { ok: false, reason: `Engine API at ${this.socketPath} does not answer /_ping` };
    return { ok: true };
  }

  async start(emit: Emit): Promise<void> {
    const v = await this.client.version().catch(() => undefined);
    this.runtimeName = v?.Components?.some((c) => /podman/i.test(c.Name ?? '')) ? 'podman' : 'docker';
    this.lastEventSec = Math.floor(Date.now() / 1000);
    for (const c of await this.client.listContainers()) await this.dir.lookup(c.Id);
    this.follow(emit);
  }

  private follow(emit: Emit): void {
    if (this.stopped) return;
    this.closeStream = this.client.events(
      (ev) => {
        // A reconnect replays from the last event's second: skip what was handled.
        const key = `${ev.Actor?.ID ?? ev.id}:${ev.Action ?? ev.status}:${ev.timeNano ?? ev.time}`;
        if (this.seen.has(key)) return;
        this.seen.add(key);
        if (this.seen.size > 4096) this.seen.delete(this.seen.values().next().value!);
        this.counters.engine_events++;
        if (typeof ev.time === 'number') this.lastEventSec = ev.time;
        // One at a time, in order: a start's inspect must finish before that container's die is mapped.
        this.queue = this.queue.then(() => this.handle(ev, emit));
      },
      (err) => {
        if (this.stopped) return;
        this.counters.reconnects++;
        this.logger.warn(
          { source: 'runtime', err: err?.message },
          'Engine API event stream ended; reconnecting'
        );
        this.retry = setTimeout(() => this.follow(emit), 1000);
        this.retry.unref();
      },
      { sinceSec: this.lastEventSec }
    );
  }

  private async handle(ev: EngineEvent, emit: Emit): Promise<void> {
    const id = ev.Actor?.ID ?? ev.id;
    const action = ev.Action ?? ev.status;
    if (!id || (ev.Type ?? 'container') !== 'container') return;
    let info = this.dir.get(id);
    // Inspect at create/init already: the container's first exec can come before its start event.
    if (action === 'create' || action === 'init') void this.dir.lookup(id, true);
    if (action === 'start') {
      this.stopRequested.delete(id);
      info = (await this.dir.lookup(id, true)) ?? info;
      if (!info) this.counters.inspect_failures++;
    } else if (action === 'stop' || action === 'kill') {
      this.stopRequested.add(id);
      if (this.stopRequested.size > 4096)
        this.stopRequested.delete(this.stopRequested.values().next().value!);
    }
    const e = mapEngineEvent(ev, info, this.runtimeName, this.stopRequested.has(id));
    if (action === 'die') this.stopRequested.delete(id);
    if (e) {
      this.counters.events++;
      emit(e);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.closeStream?.();
    await this.queue;
  }

  stats(): Record<string, number> {
    return { ...this.counters };
  }
}
