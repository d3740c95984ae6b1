/**
 * `casefile-server [--config file.yaml] [--port 8600] [--loki-url ...] ...`
 * Every config key is a kebab-case flag; see src/config/config.ts for the order.
 */
import { ConfigError, loadConfig } from './config/config';
import { createLogger } from './observability/logger';
import { startServer } from './server';

let config;
try {
  config = loadConfig({ argv: process.argv.slice(2) });
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`casefile-server: ${err.message}`);
  process.exit(2);
}
const logger = createLogger(config.logLevel);
const server = await startServer(config, logger);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    logger.info({ signal: sig }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      }
    );
  });
}
