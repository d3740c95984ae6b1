/**
 * Structured logs: JSON lines (pino) on stderr, so stdout stays free for
 * `--stdout` events.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

/** A logger at `level` (default info) writing to stderr. */
export function createLogger(level = 'info'): Logger {
  return pino(
    { name: 'casefile-collector', level, base: { pid: process.pid } },
    pino.destination({ fd: 2, sync: true })
  );
}
