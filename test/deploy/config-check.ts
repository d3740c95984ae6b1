/**
 * The real CLIs' `--check-config`, fed the command line and environment a
 * container gets (from a manifest or the compose file): a flag or variable
 * renamed in code fails here, not on a user's node.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '../..');
const BINS = {
  collector: resolve(ROOT, 'collector/bin/casefile-collector.js'),
  server: resolve(ROOT, 'server/bin/casefile-server.js'),
};

export interface CheckResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The resolved config the CLI printed (secrets hidden), when it exited 0 or 1. */
  config?: Record<string, unknown>;
}

let built: Promise<unknown> | undefined;
/** `npm run build` once per test process: the bins run dist/. */
export function ensureBuilt(): Promise<unknown> {
  built ??= promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: ROOT });
  return built;
}

/**
 * Run `<component> --check-config ...args` with exactly `env` (plus PATH), as a
 * container would start it, and return what it said.
 */
export async function checkConfig(
  component: keyof typeof BINS,
  args: readonly string[],
  env: Record<string, string>
): Promise<CheckResult> {
  await ensureBuilt();
  const r = await promisify(execFile)(process.execPath, [BINS[component], '--check-config', ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  }).then(
    (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    })
  );
  let config: Record<string, unknown> | undefined;
  try {
    config = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    config = undefined;
  }
  return { ...r, config };
}
