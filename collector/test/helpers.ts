/**
 * Shared pieces of the collector's tests: a config for a test run, a collector
 * child process (the real CLI), and reading events back from Loki.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { msToNs, type CasefileEvent } from '@casefile/schema';
import { readEvents } from '../../test/loki/read';
import { loadConfig, type CollectorConfig } from '../src/config';

export const BIN = resolve(import.meta.dirname, '../bin/casefile-collector.js');

/** A config as the CLI would build it from these flags, with a fresh state dir and a free listen port. */
export function testConfig(argv: string[] = []): CollectorConfig {
  const stateDir = mkdtempSync(join(tmpdir(), 'casefile-collector-'));
  return loadConfig({
    argv: ['--state-dir', stateDir, '--listen', '127.0.0.1:0', '--sources', 'none', ...argv],
    env: {},
  }).config;
}

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  everyMs = 250
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Every event of `host` in Loki from the last hour. */
export async function readHost(lokiUrl: string, host: string): Promise<CasefileEvent[]> {
  return readEvents(
    lokiUrl,
    { scope: { host } },
    { fromNs: msToNs(Date.now() - 3_600_000), toNs: msToNs(Date.now() + 60_000) }
  );
}

/** How often each id occurs. */
export function idCounts(events: CasefileEvent[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) m.set(e.id, (m.get(e.id) ?? 0) + 1);
  return m;
}

export interface CollectorProcess {
  child: ChildProcess;
  /** host:port of /metrics and /healthz, once logged. */
  address: Promise<string>;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** One metric's value (sum over label sets matching `labels`), from /metrics. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

/** Run the real CLI as a child process. */
export function spawnCollector(args: string[], env: Record<string, string> = {}): CollectorProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d) => (out += d));
  let resolveAddr!: (a: string) => void;
  const address = new Promise<string>((r) => (resolveAddr = r));
  child.stderr!.setEncoding('utf8').on('data', (d) => {
    err += d;
    const m = /"address":"([^"]+)","msg":"serving/.exec(err);
    if (m) resolveAddr(m[1]);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal }))
  );
  return {
    child,
    address,
    stdout: () => out,
    stderr: () => err,
    exited,
    async metric(name, labels = {}) {
      const text = await (await fetch(`http://${await address}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`)))
          sum += Number(m[3]);
      }
      return sum;
    },
  };
}
