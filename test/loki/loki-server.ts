/**
 * A real Loki for tests: the pinned release from build-loki.sh (or LOKI_BIN),
 * started on free loopback ports with provisioning/loki/loki.yaml, the same
 * config docker-compose uses. No test talks to a hand-started Loki.
 *
 *   const loki = await startLoki();
 *   ... loki.url ...
 *   await loki.stop();
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, cpSync, mkdirSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '../..');
const CONFIG = join(ROOT, 'provisioning/loki/loki.yaml');
const RULES = join(ROOT, 'provisioning/loki/rules');

/** Path of the Loki binary, building and caching it on first use. */
export async function lokiBinary(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [join(ROOT, 'test/loki/build-loki.sh')], {
    maxBuffer: 1 << 20,
    timeout: 40 * 60_000,
  });
  return stdout.trim().split('\n').pop()!;
}

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
  /** Ruler evaluation interval, e.g. '5s' for alert tests. */
  rulerInterval?: string;
  /** Alertmanager URL for the ruler. */
  alertmanagerUrl?: string;
  /** Extra environment for the config's ${VAR} expansion. */
  env?: Record<string, string>;
}

export interface Loki {
  url: string;
  version: string;
  dataDir: string;
  rulesDir: string;
  httpPort: number;
  /** Stop Loki (SIGTERM, then SIGKILL) and remove its data unless dataDir was given. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export async function startLoki(opts: LokiOptions = {}): Promise<Loki> {
  const bin = await lokiBinary();
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'casefile-loki-'));
  mkdirSync(dataDir, { recursive: true });
  // The ruler reads <dir>/<tenant>/*.yaml; copy the provisioned rules so tests may add their own.
  const rulesDir = join(dataDir, 'rules');
  cpSync(RULES, rulesDir, { recursive: true });
  const httpPort = opts.httpPort ?? (await freePort());
  const grpcPort = await freePort();
  const env = {
    ...process.env,
    LOKI_LISTEN_ADDRESS: '127.0.0.1',
    LOKI_HTTP_PORT: String(httpPort),
    LOKI_GRPC_PORT: String(grpcPort),
    LOKI_DATA_DIR: dataDir,
    LOKI_RULES_DIR: rulesDir,
    LOKI_RULER_INTERVAL: opts.rulerInterval ?? '1m',
    LOKI_ALERTMANAGER_URL: opts.alertmanagerUrl ?? 'http://127.0.0.1:9',
    ...opts.env,
  };
  const log = createWriteStream(join(dataDir, 'loki.log'), { flags: 'a' });
  const child: ChildProcess = spawn(bin, [`-config.file=${CONFIG}`, '-config.expand-env=true'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  let exited: string | undefined;
  child.once(
    'exit',
    (code, sig) => (exited = `Loki exited (${code ?? sig}); see ${join(dataDir, 'loki.log')}`)
  );
  const url = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(exited);
    try {
      const r = await fetch(`${url}/ready`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Loki not ready after 60s; see ${join(dataDir, 'loki.log')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const info = (await (await fetch(`${url}/loki/api/v1/status/buildinfo`)).json()) as { version: string };
  return {
    url,
    version: info.version,
    dataDir,
    rulesDir,
    httpPort,
    async stop({ keepData = !ownDir } = {}) {
      if (!exited) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await done;
        clearTimeout(t);
      }
      log.end();
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
