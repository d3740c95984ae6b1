/**
 * Enrichment: every event gets its scope (host, container, image, pod) and
 * uid -> user name before it reaches the models and the queue.
 */
import type { Logger } from 'pino';
import type { CollectorConfig } from '../config';
import type { Stage } from '../pipeline/types';

/** The enrichment Stage. Pass-through until the scope resolvers land. */
export function createEnricher(config: CollectorConfig, logger: Logger): Stage {
  void logger;
  const host = config.host;
  void host;
  return {
    name: 'enrich',
    process(e, emit) {
      emit(e);
    },
  };
}
