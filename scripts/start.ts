/**
 * `npm start`: Casefile on this machine, without Docker. Starts the pinned Loki
 * (provisioning/loki/loki.yaml, port 3100), the forensics server (port 8600)
 * and a collector watching this host, with state under ./.state/. Ctrl-C stops
 * all three. Grafana itself comes from docker-compose.yml or your own Grafana
 * (load grafana-plugin/dist and provisioning/grafana).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { startLoki } from '../test/loki/loki-server';

const ROOT = resolve(import.meta.dirname, '..');
const STATE = resolve(ROOT, '.state');
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

let stopping = false;
const children: ChildProcess[] = [];
mkdirSync(STATE, { recursive: true });
console.log('casefile: starting Loki (the first run builds it, a few minutes)…');
const loki = await startLoki({
  httpPort: Number(process.env.LOKI_PORT ?? 3100),
  dataDir: resolve(STATE, 'loki'),
});
console.log(`casefile: Loki ${loki.version} on ${loki.url}`);

children.push(
  run('server', 'server/bin/casefile-server.js', {
    CASEFILE_SERVER_LOKI_URL: loki.url,
    CASEFILE_SERVER_DATA_DIR: resolve(STATE, 'server'),
    CASEFILE_SERVER_TOKENS: `grafana:${token}`,
  }),
  run('collector', 'collector/bin/casefile-collector.js', {
    CASEFILE_OTLP_ENDPOINT: `${loki.url}/otlp/v1/logs`,
    CASEFILE_STATE_DIR: resolve(STATE, 'collector'),
  })
);

console.log(`
casefile: running. Ctrl-C stops everything.
  Loki       ${loki.url}   (LogQL: {service_namespace="casefile"})
  server     http://127.0.0.1:8600   token: ${token}
  collector  http://127.0.0.1:9464/metrics
  try        curl -H "Authorization: Bearer ${token}" http://127.0.0.1:8600/api/v1/snapshots
`);

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))
  );
  await loki.stop({ keepData: true });
  process.exit(code);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
