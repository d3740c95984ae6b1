/**
 * The side effects behind policy actions: prevent kills the offending process,
 * block stops its container through the runtime's Engine API.
 */

/** What the models stage needs to act; the collector passes {@link createRuntimeActions}'s result. */
export interface RuntimeActions {
  /** SIGKILL a host pid; throws when it cannot (gone, no permission). Synchronous so prevent is immediate. */
  killProcess(pid: number): void;
  /** Stop a container (Engine API `POST /containers/{id}/stop`). */
  stopContainer(containerId: string): Promise<void>;
}

/** Anything with the runtime source's Engine API client's `stopContainer`. */
export interface ContainerStopper {
  stopContainer(id: string, timeoutSec?: number): Promise<unknown>;
}

/** Grace before the runtime kills a blocked container (SIGTERM, then SIGKILL): an attack gets no 10 s. */
const BLOCK_GRACE_SEC = 1;

/**
 * Real actions: `process.kill` for prevent and the Engine API client for block.
 * Without a client (no runtime socket) block fails with a clear reason.
 */
export function createRuntimeActions(engine?: ContainerStopper): RuntimeActions {
  return {
    killProcess(pid) {
      if (!Number.isInteger(pid) || pid <= 1) throw new Error(`refusing to kill pid ${pid}`);
      process.kill(pid, 'SIGKILL');
    },
    async stopContainer(id) {
      if (!engine) throw new Error('no container runtime API configured (--runtime-socket)');
      await engine.stopContainer(id, BLOCK_GRACE_SEC);
    },
  };
}
