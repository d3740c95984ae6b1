/**
 * The Loki stand-in's entry point, with Loki's own flags so one command line
 * serves both: `node --import tsx test/loki/standin/main.ts -config.file=provisioning/loki/loki.yaml -config.expand-env=true`.
 * Test-only: it keeps everything in memory plus a write-ahead file, and is
 * never a store for users.
 */
import { loadConfig } from './config';
import { createStandin } from './server';

const flags = new Map(
  process.argv.slice(2).map((a) => {
    const m = /^-{1,2}([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}`);
    return [m[1], m[2] ?? 'true'] as const;
  })
);
for (const k of flags.keys())
  if (k !== 'config.file' && k !== 'config.expand-env')
    throw new Error(`flag -${k} is not modelled by the Loki stand-in`);
const file = flags.get('config.file');
if (!file) throw new Error('-config.file is required');
if (flags.get('config.expand-env') !== 'true')
  throw new Error('the stand-in reads loki.yaml with -config.expand-env=true only');

const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} loki-standin: ${msg}\n`);
const cfg = loadConfig(file);
const standin = createStandin(cfg, log);
standin.server.listen(cfg.httpPort, cfg.listenAddress, () =>
  log(`listening on ${cfg.listenAddress}:${cfg.httpPort}, data in ${cfg.dataDir}`)
);
standin.server.on('error', (e) => {
  log(`cannot listen: ${e.message}`);
  process.exit(1);
});
const stop = () => void standin.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
