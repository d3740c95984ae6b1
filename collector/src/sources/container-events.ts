/**
 * container.start / container.stop as every runtime source emits them (the
 * Engine API's and the CRI's), from what the directory knows of the container.
 */
import type { NewEvent } from '@casefile/schema';
import type { ContainerInfo } from './container-directory';

/** What a runtime source knows of a container when it reports it (a ContainerInfo, or less). */
export type ContainerScope = Pick<ContainerInfo, 'containerId'> & Partial<Omit<ContainerInfo, 'containerId'>>;

export interface ContainerEventContext {
  /** When it happened (ns since the epoch), when the runtime says. */
  timeNs?: string;
  /** docker | podman | containerd | cri-o */
  runtime?: string;
}

function strip<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;
}

function common(c: ContainerScope, ctx: ContainerEventContext) {
  return {
    source: 'runtime',
    timeNs: ctx.timeNs,
    containerRuntime: ctx.runtime ?? c.runtime,
    containerId: c.containerId,
    containerName: c.containerName,
    imageName: c.imageName,
    imageDigest: c.imageDigest,
    pod: c.pod,
    namespace: c.namespace,
    podUid: c.podUid,
  };
}

const displayName = (c: ContainerScope) => c.containerName ?? c.containerId.slice(0, 12);

/**
 * @example containerStartEvent({ containerId: 'abc', containerName: 'web', imageName: 'nginx:1', labels: {} }, {}).message
 *   // => 'container started: web (nginx:1)'
 */
export function containerStartEvent(c: ContainerScope, ctx: ContainerEventContext): NewEvent {
  return strip({
    ...common(c, ctx),
    type: 'container.start',
    message: `container started: ${displayName(c)} (${c.imageName ?? 'unknown image'})`,
    labels: JSON.stringify(c.labels ?? {}),
    pid: c.pid,
  }) as NewEvent;
}

/** `reason`: stopped (someone asked), exited (its process ended), or the runtime's word (oom-killed). */
export function containerStopEvent(
  c: ContainerScope,
  ctx: ContainerEventContext & { exitCode?: number; reason: string }
): NewEvent {
  const code = ctx.exitCode !== undefined && Number.isFinite(ctx.exitCode) ? ctx.exitCode : undefined;
  return strip({
    ...common(c, ctx),
    type: 'container.stop',
    message: `container stopped: ${displayName(c)}${code !== undefined ? ` (exit ${code})` : ''}`,
    exitCode: code,
    reason: ctx.reason,
  }) as NewEvent;
}
