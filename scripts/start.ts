/**
 * `npm start`: Casefile on this machine, without Docker: the forensics server
 * (port 8600) and a collector watching this host, both sending to the Loki at
 * LOKI_URL (default http://127.0.0.1:3100), with state under ./.state/ (CASEFILE_STATE moves it).
 * Every other setting is the components' own environment (CASEFILE_SERVER_PORT, CASEFILE_LISTEN,
 * CASEFILE_RUNTIME_SOCKET, ...), passed through.
 * Fetches nothing (`npm start` compiles first: the `prestart` script). When no Loki answers, it says so and keeps going:
 * the collector holds events in its durable queue until Loki is there.
 * Ctrl-C stops both. Grafana comes from docker-compose.yml or your own Grafana.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { COLLECTOR_NODE_OPTIONS } from '../collector/src/config/heap';
import { SERVER_NODE_OPTIONS } from '../server/src/config/heap';

const ROOT = resolve(import.meta.dirname, '..');
const STATE = resolve(process.env.CASEFILE_STATE ?? resolve(ROOT, '.state'));
const serverPort = process.env.CASEFILE_SERVER_PORT ?? '8600';
const metricsAddress = process.env.CASEFILE_LISTEN ?? '127.0.0.1:9464';
const lokiUrl = (process.env.LOKI_URL ?? 'http://127.0.0.1:3100').replace(/\/$/, '');
const token = process.env.CASEFILE_TOKEN ?? randomBytes(18).toString('base64url');

function run(name: string, script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [resolve(ROOT, script)], {
    env: { ...process.env, ...env },
    stdio: 'inherit',
  });
  child.on('exit', (code, sig) => {
    if (!stopping) {
      console.error(`casefile: ${name} exited (${code ?? sig}); stopping`);
      void stop(1);
    }
  });
  return child;
}

async function lokiVersion(): Promise<string | undefined> {
  try {
    const r = await fetch(`${lokiUrl}/loki/api/v1/status/buildinfo`, { signal: AbortSignal.timeout(3000) });
    return r.ok ? (((await r.json()) as { version?: string }).version ?? 'unknown version') : undefined;
  } catch {
    return undefined;
  }
}

let stopping = false;
const children: ChildProcess[] = [];
mkdirSync(STATE, { recursive: true });
const version = await lokiVersion();
if (version) console.log(`casefile: Loki ${version} at ${lokiUrl}`);
else
  console.warn(
    `casefile: no Loki answers at ${lokiUrl}. Start one with \`docker compose up loki\`, or set LOKI_URL to yours. ` +
      'The collector keeps events in its durable queue until Loki answers.'
  );

children.push(
  run('server', 'server/bin/casefile-server.js', {
    CASEFILE_SERVER_LOKI_URL: lokiUrl,
    CASEFILE_SERVER_DATA_DIR: resolve(STATE, 'server'),
    CASEFILE_SERVER_TOKENS: `grafana:read+pin+admin+grafana:${token}`,
    NODE_OPTIONS: `${SERVER_NODE_OPTIONS} ${process.env.NODE_OPTIONS ?? ''}`.trim(),
  }),
  run('collector', 'collector/bin/casefile-collector.js', {
    CASEFILE_OTLP_ENDPOINT: `${lokiUrl}/otlp/v1/logs`,
    CASEFILE_STATE_DIR: resolve(STATE, 'collector'),
    NODE_OPTIONS: `${COLLECTOR_NODE_OPTIONS} ${process.env.NODE_OPTIONS ?? ''}`.trim(),
  })
);

console.log(`
casefile: running. Ctrl-C stops everything.
  Loki       ${lokiUrl}   (LogQL: {service_namespace="casefile"})
  server     http://127.0.0.1:${serverPort}   token: ${token}
  collector  http://${metricsAddress}/metrics
  try        curl -H "Authorization: Bearer ${token}" http://127.0.0.1:${serverPort}/api/v1/snapshots
`);

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))
  );
  process.exit(code);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
