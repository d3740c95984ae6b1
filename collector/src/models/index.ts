/**
 * Runtime models and audits as one pipeline stage. Minimal first version:
 * passes every event through; learning and audits follow.
 */
import type { Logger } from 'pino';
import type { Stage } from '../pipeline/types';

/** The part of the collector's config this stage reads. */
export interface ModelStageConfig {
  stateDir: string;
  models: { learningPeriodMs: number; policyFile?: string };
}

/** Side effects for prevent (kill a process) and block (stop a container). */
export interface RuntimeActions {
  killProcess(pid: number): Promise<void>;
  stopContainer(containerId: string): Promise<void>;
}

/** Build the runtime-models stage. */
export function createModelStage(_config: ModelStageConfig, _logger: Logger, _actions: RuntimeActions): Stage {
  return {
    name: 'models',
    process(e, emit) {
      emit(e);
    },
  };
}
