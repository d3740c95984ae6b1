/**
 * `casefile-collector`: resolve the config, start the collector, stop it
 * gracefully on SIGTERM/SIGINT (a second signal, a second or more later, exits at once).
 * Exit codes: 0 after a clean stop, 1 on a start-up failure or a stop that
 * overran shutdownTimeoutMs, 2 on a bad command line. `--check-config` resolves
 * the config and exits (what deploy manifests are tested with).
 */
import { ConfigError, loadConfig, usage, type CollectorConfig } from './config';
import { createLogger } from './observability/logger';
import { Collector } from './pipeline/collector';

/** Time a stop may take beyond the queue's drain (sources, HTTP) before the process exits anyway. */
const STOP_MARGIN_MS = 5000;
/** Signals this close together are one request to stop; a later one exits without draining. */
const SAME_STOP_MS = 1000;

/** The resolved config for --check-config, with OTLP header values (credentials) hidden. */
function checkedConfig(c: CollectorConfig): CollectorConfig {
  const headers = Object.fromEntries(Object.keys(c.otlp.headers).map((k) => [k, '[redacted]']));
  return { ...c, otlp: { ...c.otlp, headers } };
}

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
  if (loaded.checkConfig) {
    for (const w of loaded.warnings) process.stderr.write(`casefile-collector: ${w}\n`);
    process.stdout.write(JSON.stringify(checkedConfig(loaded.config), null, 2) + '\n');
    process.exit(loaded.warnings.length ? 1 : 0);
  }
  const log = createLogger(loaded.config.logLevel);
  for (const w of loaded.warnings) log.warn(w);
  /** A start-up failure: the full error in the log, its cause in one line on stderr. */
  const failed: (err: unknown) => never = (err) => {
    log.fatal({ err }, 'start-up failed');
    process.stderr.write(`casefile-collector: start-up failed: ${(err as Error).message}\n`);
    process.exit(1);
  };
  let collector: Collector;
  try {
    // Opens the state directory (queue, models) and reads the policy file.
    collector = new Collector(loaded.config, log);
  } catch (err) {
    failed(err);
  }
  let firstSignalAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    // Ctrl-C under `npm start` reaches the collector twice (the terminal's SIGINT, then the
    // parent's SIGTERM): a second signal within a second is the same request to stop.
    if (firstSignalAt && Date.now() - firstSignalAt < SAME_STOP_MS) return;
    if (firstSignalAt) {
      log.warn({ signal: sig }, 'second signal: exiting without draining (the queue keeps what is left)');
      process.exit(130);
    }
    firstSignalAt = Date.now();
    log.info({ signal: sig }, 'stopping');
    // The queue drain is bounded by shutdownTimeoutMs; this bounds everything else (a source that hangs).
    setTimeout(() => {
      log.error({ signal: sig }, 'stop took too long: exiting (the queue keeps what is left)');
      process.exit(1);
    }, loaded.config.shutdownTimeoutMs + STOP_MARGIN_MS).unref();
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
    await collector.stop().catch(() => undefined);
    failed(err);
  }
}

await main();
