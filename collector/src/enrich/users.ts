/**
 * uid -> user name from /etc/passwd: the host's, or a container's through
 * /proc/<pid>/root/etc/passwd. Files are re-read when they change (checked
 * at most every {@link RECHECK_MS}).
 */
import { readFileSync, statSync } from 'node:fs';

/** How often a cached passwd file's mtime is re-checked. */
export const RECHECK_MS = 5000;

/**
 * uid -> name from passwd text; later duplicates do not override earlier ones.
 * @example parsePasswd('root:x:0:0:root:/root:/bin/sh\n').get(0) // => 'root'
 */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    const uid = Number(f[2]);
    if (f.length < 3 || !f[0] || !/^\d+$/.test(f[2]) || out.has(uid) || f[0].includes('\uFFFD')) continue;
    out.set(uid, f[0]);
  }
  return out;
}

interface Entry {
  users: Map<number, string>;
  mtimeMs: number;
  checkedAt: number;
}

export class UserResolver {
  private readonly files = new Map<string, Entry>();

  /**
   * Name of `uid` per the passwd file of `scope` (e.g. 'host' or a container
   * id), read from the first readable of `paths`; undefined when unknown.
   */
  lookup(scope: string, paths: string[], uid: number): string | undefined {
    return this.load(scope, paths)?.users.get(uid);
  }

  private load(scope: string, paths: string[]): Entry | undefined {
    const now = Date.now();
    const cached = this.files.get(scope);
    if (cached && now - cached.checkedAt < RECHECK_MS) return cached;
    for (const path of paths) {
      try {
        const st = statSync(path);
        if (cached && cached.mtimeMs === st.mtimeMs) {
          cached.checkedAt = now;
          return cached;
        }
        const e = { users: parsePasswd(readFileSync(path, 'utf8')), mtimeMs: st.mtimeMs, checkedAt: now };
        this.files.delete(scope);
        this.files.set(scope, e);
        if (this.files.size > 1024) this.files.delete(this.files.keys().next().value!);
        return e;
      } catch {
        /* next path (the process may be gone) */
      }
    }
    return cached;
  }
}
