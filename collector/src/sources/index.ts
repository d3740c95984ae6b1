/**
 * The collector's event sources. Adding a source is one file under sources/
 * plus one line in {@link createSources}.
 */
import type { Logger } from 'pino';
import type { CollectorConfig } from '../config';
import type { Source } from '../pipeline/types';

/**
 * One Source per name in `config.sources.enabled`, in that order. Whether each
 * can run here is asked later by the pipeline through `Source.available()`.
 */
export function createSources(config: CollectorConfig, logger: Logger): Source[] {
  void logger;
  void config;
  return [];
}
