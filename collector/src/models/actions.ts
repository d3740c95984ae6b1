/**
 * The side effects behind policy actions: prevent kills the offending process,
 * block stops its container through the runtime's Engine API.
 */
import { makeEvent, type CasefileEvent, type NewEvent } from '@casefile/schema';
import type { Logger } from 'pino';
import { scopeFields } from './event-scope';

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

/** Actions taken and failed, for /metrics. */
export interface ActionStats {
  /** prevent: the kill was done; block: the runtime confirmed the stop. */
  ok: Record<'prevent' | 'block', number>;
  failed: Record<'prevent' | 'block', number>;
}

/**
 * Takes the action an audit calls for and says what was done in a
 * runtime.action event. Prevent kills at once; block asks the runtime, so a
 * failure is known later: its runtime.action waits in {@link drain}.
 */
export class ActionTaker {
  private readonly counts: ActionStats = { ok: { prevent: 0, block: 0 }, failed: { prevent: 0, block: 0 } };
  private deferred: NewEvent[] = [];

  constructor(
    private readonly actions: RuntimeActions,
    private readonly logger: Logger
  ) {}

  /** Act on `audit` (raised for `e`) and return the runtime.action event. */
  act(action: 'prevent' | 'block', audit: CasefileEvent, e: CasefileEvent): CasefileEvent {
    let reason: string;
    if (action === 'prevent') {
      try {
        this.actions.killProcess(e.pid!);
        reason = `killed pid ${e.pid}`;
        this.counts.ok.prevent++;
      } catch (err) {
        this.counts.failed.prevent++;
        reason = `could not kill pid ${e.pid}: ${(err as Error).message}`;
      }
    } else {
      const id = e.containerId!;
      reason = `stopping container ${id.slice(0, 12)} through the runtime API`;
      this.actions.stopContainer(id).then(
        () => void this.counts.ok.block++,
        (err: Error) => {
          this.counts.failed.block++;
          this.logger.error({ err, containerId: id }, 'block: cannot stop container');
          this.deferred.push({
            ...scopeFields(e),
            type: 'runtime.action',
            message: `Block failed for ${id.slice(0, 12)}: ${err.message}`,
            action,
            auditId: audit.id,
            ruleId: audit.ruleId,
            reason: `stop failed: ${err.message}`,
          });
        }
      );
    }
    return makeEvent({
      ...scopeFields(e),
      type: 'runtime.action',
      message: `${action === 'prevent' ? 'Prevent' : 'Block'} (${audit.ruleId} ${audit.attackType}): ${reason}`,
      action,
      auditId: audit.id,
      ruleId: audit.ruleId,
      pid: e.pid,
      processKey: e.processKey,
      executable: e.executable,
      reason,
    });
  }

  /** Whether failed blocks wait to be reported. */
  get pending(): boolean {
    return this.deferred.length > 0;
  }

  /** Emit the runtime.action events of blocks that failed since the last call. */
  drain(emit: (e: CasefileEvent) => void): void {
    if (this.deferred.length === 0) return;
    const d = this.deferred;
    this.deferred = [];
    for (const ev of d) emit(makeEvent(ev));
  }

  stats(): ActionStats {
    return { ok: { ...this.counts.ok }, failed: { ...this.counts.failed } };
  }
}
