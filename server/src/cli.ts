/**
 * `casefile-server [--config file.yaml] [--port 8600] [--loki-url ...] ...`
 * Every config key is a kebab-case flag; see src/config/config.ts for the order.
 * `--check-config` resolves the config, prints it (secrets hidden) and exits
 * (what deploy manifests are tested with). SIGINT/SIGTERM stop gracefully
 * within SHUTDOWN_TIMEOUT_MS; exit codes: 0 clean stop, 1 failed start-up or failed or overran stop, 2 bad config.
 */
import { ConfigError, loadConfig, redactedConfig } from './config/config';
import { createLogger } from './observability/logger';
import { startServer } from './server';

/** Longest graceful stop (requests in flight, the pinned-event emitter's flush, the store) before exiting anyway. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

const argv = process.argv.slice(2);
const checkOnly = argv.includes('--check-config');
let config;
try {
  config = loadConfig({ argv: argv.filter((a) => a !== '--check-config') });
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`casefile-server: ${err.message}`);
  process.exit(2);
}
if (checkOnly) {
  console.log(JSON.stringify(redactedConfig(config), null, 2));
  process.exit(0);
}
const logger = createLogger(config.logLevel);
const server = await startServer(config, logger).catch((err: Error) => {
  // The store, the port: name the cause in one line instead of a stack trace.
  logger.fatal({ err }, 'start-up failed');
  console.error(`casefile-server: start-up failed: ${err.message}`);
  process.exit(1);
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    logger.info({ signal: sig }, 'shutting down');
    setTimeout(() => {
      logger.error({ signal: sig }, `shutdown took over ${SHUTDOWN_TIMEOUT_MS} ms: exiting`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    server.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      }
    );
  });
}
