/**
 * `casefile-collector`: resolve the config, start the collector, stop it
 * gracefully on SIGTERM/SIGINT (a second signal exits at once).
 * Exit codes: 0 after a clean stop, 1 on a start-up failure, 2 on a bad command line.
 */
import { ConfigError, loadConfig, usage } from './config';
import { createLogger } from './observability/logger';
import { Collector } from './pipeline/collector';

async function main(): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`casefile-collector: ${err.message}\n\n${usage()}`);
    process.exit(2);
  }
  if (loaded.help) {
    process.stdout.write(usage());
    return;
  }
  const log = createLogger(loaded.config.logLevel);
  for (const w of loaded.warnings) log.warn(w);
  const collector = new Collector(loaded.config, log);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) {
      log.warn({ signal: sig }, 'second signal: exiting without draining (the queue keeps what is left)');
      process.exit(130);
    }
    log.info({ signal: sig }, 'stopping');
    collector.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      }
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await collector.start();
  } catch (err) {
    log.fatal({ err }, 'start-up failed');
    await collector.stop().catch(() => undefined);
    process.exit(1);
  }
}

await main();
