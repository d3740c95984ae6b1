/** Start the real server for a test: free port, temp data dir, known tokens, silent logs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../test/loki/loki-server';
import { loadConfig, type ApiToken, type ServerConfig } from '../../src/config/config';
import { createLogger } from '../../src/observability/logger';
import { startServer, type RunningServer } from '../../src/server';

/** An automation token: read, pin, delete; not Grafana's, not the webhook's. */
export const TOKEN = 'test-token-0123456789';
export const TOKEN_NAME = 'automation';
/** The token of Grafana's plugin routes: its X-Grafana-User is honoured. */
export const GRAFANA_TOKEN = 'grafana-token-0123456789';
/** The alert webhook's own token. */
export const HOOK_TOKEN = 'hook-token-0123456789';
/** A read-only token. */
export const READ_TOKEN = 'read-token-0123456789';

export const TEST_TOKENS: ApiToken[] = [
  { name: TOKEN_NAME, token: TOKEN, scopes: ['read', 'pin', 'admin'] },
  { name: 'grafana', token: GRAFANA_TOKEN, scopes: ['read', 'pin', 'admin', 'grafana'] },
  { name: 'alerts', token: HOOK_TOKEN, scopes: ['webhook'] },
  { name: 'auditor', token: READ_TOKEN, scopes: ['read'] },
];

export async function startTestServer(
  overrides: Partial<ServerConfig> = {}
): Promise<RunningServer & { config: ServerConfig }> {
  const config = loadConfig({
    env: {},
    overrides: {
      port: await freePort(),
      dataDir: mkdtempSync(join(tmpdir(), 'casefile-server-')),
      tokens: TEST_TOKENS,
      logLevel: 'warn',
      ...overrides,
    },
  });
  const s = await startServer(config, createLogger(process.env.CASEFILE_TEST_LOG ?? 'silent'));
  return { ...s, config };
}

/** fetch against the server with the token (unless `token: null`). */
export async function api(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> } = {}
): Promise<{ status: number; json: any; text: string; headers: Headers; buffer: Buffer }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? TOKEN}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(base + path, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const buffer = Buffer.from(await r.arrayBuffer());
  const text = buffer.toString('utf8');
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, json, text, headers: r.headers, buffer };
}

/** The server CLI as its own process (for SIGKILL): up once /healthz answers. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Resolves when the process has exited. */
  exited: Promise<unknown>;
}

/**
 * Start `src/cli.ts` in a child with the given flags on a free port (logs at
 * warn, no OTLP, the automation token) and wait up to 60 s for /healthz.
 */
export async function startServerProcess(flags: readonly string[]): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL('../../src/cli.ts', import.meta.url).pathname,
      `--port=${port}`,
      '--otlp-url=off',
      '--log-level=warn',
      `--tokens=${TOKEN_NAME}:read+pin+admin:${TOKEN}`,
      ...flags,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] }
  );
  const exited = new Promise((r) => child.once('exit', r));
  for (const deadline = Date.now() + 60_000; ;) {
    if (
      await fetch(`${url}/healthz`).then(
        (x) => x.ok,
        () => false
      )
    )
      return { child, url, exited };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the server child did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
