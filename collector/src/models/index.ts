/**
 * Runtime models and audits, as one pipeline stage. The pipeline wires it as
 *   createModelStage(config, logger, createRuntimeActions(engineClient))
 */
import type { Logger } from 'pino';
import type { RuntimeActions } from './actions';
import { ModelStage, type ModelStageConfig, type ModelStageOptions } from './model-stage';

export { createRuntimeActions, type RuntimeActions, type ContainerStopper } from './actions';
export {
  ModelStage,
  type ModelStageConfig,
  type ModelStageOptions,
  type ModelStageStats,
} from './model-stage';

/** Build the runtime-models stage (see {@link ModelStage}). */
export function createModelStage(
  config: ModelStageConfig,
  logger: Logger,
  actions: RuntimeActions,
  opts?: ModelStageOptions
): ModelStage {
  return new ModelStage(config, logger, actions, opts);
}
