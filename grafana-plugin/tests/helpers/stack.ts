/**
 * Everything a browser test needs, real except Grafana itself: the pinned Loki
 * (test/loki), the Casefile server as its own process (server/bin), the plugin's
 * built dist/ (rebuilt when older than its sources), and the host standing in for
 * Grafana with the app configured as an admin would configure it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, startLoki, type Loki } from '../../../test/loki/loki-server';
import { loadProvisioning } from '../../../test/provisioning/grafana-provisioning';
import { startHost, type Host } from '../host/server';

export const PLUGIN_ROOT = resolve(import.meta.dirname, '../..');
export const REPO_ROOT = resolve(PLUGIN_ROOT, '..');
/** Screenshots and downloads; git-ignored. */
export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const SERVER_TOKEN = 'e2e-token-' + Math.random().toString(36).slice(2);
const WEBHOOK_TOKEN = 'e2e-webhook-' + Math.random().toString(36).slice(2);

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name === 'dist') continue;
    max = Math.max(max, newestMtime(join(path, name)));
  }
  return max;
}

/** Build the plugin (npm -w @casefile/grafana-plugin run build) when dist/ is missing or older than its sources. */
export function ensurePluginBuilt(): void {
  const built = join(PLUGIN_ROOT, 'dist/module.js');
  const sources = ['src', 'timeline-ui/src', '.config', 'package.json', '../schema/src'].map((p) =>
    join(PLUGIN_ROOT, p)
  );
  const srcTime = Math.max(...sources.map(newestMtime));
  if (existsSync(built) && statSync(built).mtimeMs >= srcTime) return;
  const r = spawnSync('npm', ['-w', '@casefile/grafana-plugin', 'run', 'build'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  if (r.status !== 0) throw new Error(`plugin build failed:\n${r.stdout}\n${r.stderr}`);
}

export interface CasefileServer {
  url: string;
  token: string;
  stop(): Promise<void>;
}

/** Start `node server/bin/casefile-server.js` on a free port with a temp data dir; waits for /healthz. */
export async function startCasefileServer(lokiUrl: string): Promise<CasefileServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'casefile-e2e-server-'));
  const child: ChildProcess = spawn(process.execPath, [join(REPO_ROOT, 'server/bin/casefile-server.js')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      CASEFILE_SERVER_HOST: '127.0.0.1',
      CASEFILE_SERVER_PORT: String(port),
      CASEFILE_SERVER_DATA_DIR: dataDir,
      CASEFILE_SERVER_LOKI_URL: lokiUrl,
      CASEFILE_SERVER_TOKENS: `grafana:${SERVER_TOKEN}`,
      CASEFILE_SERVER_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(join(dataDir, 'server.log'));
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`casefile-server exited with ${child.exitCode}; see ${dataDir}/server.log`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false
    );
    if (ok) break;
    if (Date.now() > until) throw new Error('casefile-server did not become healthy in 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    token: SERVER_TOKEN,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Stack {
  loki: Loki;
  server: CasefileServer;
  host: Host;
  stop(): Promise<void>;
}

/**
 * Loki + server + host. The host is provisioned as docker-compose's Grafana would be: the
 * environment compose gives Grafana (with this stack's Loki URL, server URL and token as the
 * shell variables compose reads), then provisioning/grafana expanded by Grafana's rules, and
 * the grafana.ini switches (send_user_header, allow_loading_unsigned_plugins) from compose.
 * Provisioning that Grafana would reject or expand to empty fails the stack.
 */
export async function startStack(opts: { snapshotCap?: number } = {}): Promise<Stack> {
  ensurePluginBuilt();
  const loki = await startLoki();
  const server = await startCasefileServer(loki.url).catch(async (e) => {
    await loki.stop();
    throw e;
  });
  const provisioned = loadProvisioning({
    hostEnv: {
      CASEFILE_LOKI_URL: loki.url,
      CASEFILE_SERVER_URL: server.url,
      CASEFILE_TOKEN: server.token,
      // The auto-pin contact point's token: the browser tests send no alert webhook, but Grafana would refuse it empty.
      CASEFILE_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
    },
  });
  const app = provisioned.apps.find((a) => a.type === 'casefile-forensics-app');
  const datasource = provisioned.datasources.find((d) => d.uid === app?.jsonData.lokiUid);
  if (provisioned.problems.length || !app || !datasource) {
    await server.stop();
    await loki.stop();
    throw new Error(
      'provisioning as Grafana would load it is broken:\n' +
        provisioned.problems.map((p) => `${p.file} ${p.where}: ${p.message}`).join('\n')
    );
  }
  const host = await startHost({
    datasource,
    app: {
      jsonData: { ...app.jsonData, ...(opts.snapshotCap ? { snapshotCap: opts.snapshotCap } : {}) },
      secureJsonData: app.secureJsonData,
    },
    grafana: provisioned.grafana,
  }).catch(async (e) => {
    await server.stop();
    await loki.stop();
    throw e;
  });
  return {
    loki,
    server,
    host,
    async stop() {
      await host.close();
      await server.stop();
      await loki.stop();
    },
  };
}
