/**
 * uid -> user name from /etc/passwd: the host's, or a container's through
 * /proc/<pid>/root/etc/passwd. Files are re-read when they change (checked
 * at most every {@link RECHECK_MS}).
 */
import { readFileSync, statSync } from 'node:fs';
import { LRUCache } from 'lru-cache';

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

const HOST_FILES = ['/etc/passwd'];
const hostFiles = () => HOST_FILES;

interface Entry {
  users: Map<number, string>;
  mtimeMs: number;
  checkedAt: number;
}

export class UserResolver {
  /** One passwd file per scope (the host, each container seen lately). */
  private readonly files = new LRUCache<string, Entry>({ max: 1024 });

  /**
   * Name of `uid` per the passwd file of `scope` (e.g. 'host' or a container
   * id), read from the first readable of the files `paths()` names;
   * undefined when unknown. `paths` is called only when the file is (re)read,
   * so finding a container's file costs nothing on the events in between.
   */
  lookup(scope: string, paths: () => readonly string[], uid: number): string | undefined {
    return this.load(scope, paths)?.users.get(uid);
  }

  /** Name of `uid` per the host's /etc/passwd. */
  hostUser(uid: number): string | undefined {
    return this.lookup('host', hostFiles, uid);
  }

  private load(scope: string, paths: () => readonly string[]): Entry | undefined {
    const now = Date.now();
    const cached = this.files.get(scope);
    if (cached && now - cached.checkedAt < RECHECK_MS) return cached;
    for (const path of paths()) {
      try {
        const st = statSync(path);
        if (cached && cached.mtimeMs === st.mtimeMs) {
          cached.checkedAt = now;
          return cached;
        }
        const e = { users: parsePasswd(readFileSync(path, 'utf8')), mtimeMs: st.mtimeMs, checkedAt: now };
        this.files.set(scope, e);
        return e;
      } catch {
        /* next path (the process may be gone) */
      }
    }
    return cached;
  }
}
