/** Creating the collector's state directory. */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p` that fails with the path instead of hanging: Node 20's recursive
 * `mkdirSync` spins forever where the parent exists but refuses new entries
 * with ENOENT (e.g. `--state-dir /proc/nope`), so each missing level is made
 * on its own and the first refusal is thrown. Made once, before the queue and
 * the models open their folders inside it.
 */
export function ensureStateDir(dir: string): void {
  const missing: string[] = [];
  for (let p = resolve(dir); !existsSync(p); p = dirname(p)) {
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing) mkdirSync(p);
}
