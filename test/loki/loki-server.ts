/**
 * Loki for tests: the Loki stand-in (test/loki/standin, started on free
 * loopback ports with provisioning/loki/loki.yaml, the file docker-compose
 * gives the real Loki), or, when LOKI_URL is set, that real Loki behind a
 * local proxy (so outage tests can still "stop" and "restart" it).
 *
 *   const loki = await startLoki();
 *   ... loki.url ... loki.backend ...
 *   await loki.stop();
 *
 * Nothing here fetches or builds Loki (AGPL; MACHINE.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const CONFIG = join(ROOT, 'provisioning/loki/loki.yaml');
const RULES = join(ROOT, 'provisioning/loki/rules');
const STANDIN = join(ROOT, 'test/loki/standin/main.ts');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export interface LokiOptions {
  /** Keep data across stop/start (outage tests); a fresh temp dir by default. */
  dataDir?: string;
  /** Fixed HTTP port (so a restarted Loki comes back at the same URL). */
  httpPort?: number;
  /** Ruler evaluation interval, e.g. '1s' for alert tests. */
  rulerInterval?: string;
  /** Alertmanager URL for the ruler. */
  alertmanagerUrl?: string;
  /** Extra environment for the config's ${VAR} expansion. */
  env?: Record<string, string>;
}

export interface Loki {
  url: string;
  version: string;
  /** `the Loki stand-in`, or `Loki <version> at <url>`: what figures and test lines name. */
  backend: string;
  /** True for the stand-in: its timings are not Loki's speed. */
  standin: boolean;
  dataDir: string;
  rulesDir: string;
  httpPort: number;
  /** Stop Loki (SIGTERM, then SIGKILL; `signal: 'SIGKILL'` for a crash) and remove its data unless dataDir was given. */
  stop(opts?: { keepData?: boolean; signal?: NodeJS.Signals }): Promise<void>;
}

/** The real Loki given by LOKI_URL (and LOKI_TENANT for X-Scope-OrgID), if any. */
export function externalLoki(): { url: string; tenant?: string } | undefined {
  const url = process.env.LOKI_URL?.replace(/\/$/, '');
  return url ? { url, tenant: process.env.LOKI_TENANT || undefined } : undefined;
}

async function waitReady(url: string, failed: () => string | undefined, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    try {
      const r = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready after 60 s at ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startLoki(opts: LokiOptions = {}): Promise<Loki> {
  const ext = externalLoki();
  return ext ? proxyLoki(ext, opts) : startStandin(opts);
}

async function startStandin(opts: LokiOptions): Promise<Loki> {
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'casefile-loki-'));
  mkdirSync(dataDir, { recursive: true });
  // The ruler reads <dir>/<tenant>/*.yaml; copy the provisioned rules so tests may add their own.
  const rulesDir = join(dataDir, 'rules');
  cpSync(RULES, rulesDir, { recursive: true });
  const httpPort = opts.httpPort ?? (await freePort());
  const env = {
    ...process.env,
    LOKI_LISTEN_ADDRESS: '127.0.0.1',
    LOKI_HTTP_PORT: String(httpPort),
    LOKI_DATA_DIR: dataDir,
    LOKI_RULES_DIR: rulesDir,
    LOKI_RULER_INTERVAL: opts.rulerInterval ?? '1m',
    LOKI_ALERTMANAGER_URL: opts.alertmanagerUrl ?? 'http://127.0.0.1:9',
    ...opts.env,
  };
  const logFile = join(dataDir, 'loki.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--max-old-space-size=8192',
      '--import',
      'tsx',
      STANDIN,
      `-config.file=${CONFIG}`,
      '-config.expand-env=true',
    ],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  let exited: string | undefined;
  child.once('exit', (code, sig) => (exited = `the Loki stand-in exited (${code ?? sig}); see ${logFile}`));
  const url = `http://127.0.0.1:${httpPort}`;
  try {
    await waitReady(url, () => exited, 'the Loki stand-in');
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const info = (await (await fetch(`${url}/loki/api/v1/status/buildinfo`)).json()) as { version: string };
  return {
    url,
    version: info.version,
    backend: 'the Loki stand-in',
    standin: true,
    dataDir,
    rulesDir,
    httpPort,
    async stop({ keepData = !ownDir, signal = 'SIGTERM' } = {}) {
      if (!exited) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill(signal);
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await done;
        clearTimeout(t);
      }
      log.end();
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A real Loki behind a local HTTP proxy that adds the tenant header: stopping the
 * proxy is an outage as clients see it; data stays in the real Loki.
 */
async function proxyLoki(ext: { url: string; tenant?: string }, opts: LokiOptions): Promise<Loki> {
  const target = new URL(ext.url);
  const httpPort = opts.httpPort ?? (await freePort());
  const server: Server = createHttpServer((req, res) => {
    const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: target.host };
    if (ext.tenant) headers['x-scope-orgid'] = ext.tenant;
    const up = httpRequest(
      {
        host: target.hostname,
        port: target.port || 80,
        path: `${target.pathname.replace(/\/$/, '')}${req.url}`,
        method: req.method,
        headers,
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      }
    );
    up.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502).end(`LOKI_URL ${ext.url} unreachable: ${e.message}`);
      else res.destroy();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(httpPort, '127.0.0.1', r));
  const url = `http://127.0.0.1:${httpPort}`;
  await waitReady(url, () => undefined, `LOKI_URL ${ext.url}`);
  const info = (await (await fetch(`${url}/loki/api/v1/status/buildinfo`)).json()) as { version: string };
  return {
    url,
    version: info.version,
    backend: `Loki ${info.version} at ${ext.url}`,
    standin: false,
    dataDir: opts.dataDir ?? '',
    rulesDir: '',
    httpPort,
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
