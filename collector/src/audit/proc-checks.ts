/**
 * Checks that need the live process from /proc: its executable's times (drift),
 * its stdio (reverse shells), its environment (LD_PRELOAD) and its mounts.
 * Synchronous and cheap (a stat or readlink each); a process that is already
 * gone answers `undefined` and the caller falls back to what the event says.
 */
import { closeSync, openSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';

/** Change time (ms: the later of ctime and mtime) of a file, or undefined. Never throws: a throw costs more than the stat. */
function changedMs(path: string): number | undefined {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    return st ? Math.max(st.ctimeMs, st.mtimeMs) : undefined;
  } catch {
    return undefined; // EACCES and the like
  }
}

/**
 * Change time of the file a process runs (/proc/<pid>/exe), or undefined when
 * the process is gone. One syscall: it is also the liveness check.
 */
export function exeChangedMs(pid: number): number | undefined {
  return changedMs(`/proc/${pid}/exe`);
}

/** Change time of `exe` as seen from inside `rootPid`'s root (the container's filesystem). */
export function rootExeChangedMs(rootPid: number, exe: string): number | undefined {
  return exe.startsWith('/') ? changedMs(`/proc/${rootPid}/root${exe}`) : undefined;
}

/** Whether a process still exists. */
export function procAlive(pid: number | undefined): boolean {
  return !!pid && statSync(`/proc/${pid}`, { throwIfNoEntry: false }) !== undefined;
}

/** Where /proc/<pid>/exe points (`/memfd:x (deleted)`, `/tmp/a (deleted)`), or undefined. */
export function exeLink(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/**
 * Whether stdin or stdout of the process is a TCP socket (a shell talking to
 * the network). UNIX socketpairs are common stdio (Node's child_process uses
 * them), so the socket's inode must be in the process's /proc/net/tcp{,6}.
 */
export function stdioIsTcpSocket(pid: number): boolean {
  const inodes: string[] = [];
  for (const fd of [0, 1]) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.push(m[1]);
    } catch {
      return false;
    }
  }
  if (inodes.length === 0) return false;
  for (const table of ['tcp', 'tcp6']) {
    try {
      // Columns: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
      for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n')) {
        const inode = line.trim().split(/\s+/)[9];
        if (inode && inodes.includes(inode)) return true;
      }
    } catch {
      /* no such table */
    }
  }
  return false;
}

/** One buffer for every environ read (this runs at each exec of a live container process). */
const ENV_CHUNK = Buffer.allocUnsafe(64 * 1024);
const LD_PRELOAD_VAR = Buffer.from('\0LD_PRELOAD=');

/**
 * Whether the process's environment sets LD_PRELOAD. Read in chunks into one
 * buffer (readFileSync costs an fstat, growing reads and a buffer per call:
 * about twice the time); a chunk starts with the end of the previous one, so a
 * variable cut by a chunk's end is still found.
 */
export function hasLdPreload(pid: number): boolean {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/environ`, 'r');
  } catch {
    return false;
  }
  try {
    ENV_CHUNK[0] = 0; // as if a variable ended before the first one
    let kept = 1;
    for (;;) {
      const want = ENV_CHUNK.length - kept;
      const n = readSync(fd, ENV_CHUNK, kept, want, null);
      const end = kept + n;
      if (ENV_CHUNK.subarray(0, end).indexOf(LD_PRELOAD_VAR) >= 0) return true;
      // procfs fills an environ read up to the environment's end: a short read is the end (a read at
      // the end costs as much as a full one, reading the other process's memory).
      if (n < want) return false;
      const from = Math.max(0, end - (LD_PRELOAD_VAR.length - 1));
      ENV_CHUNK.copy(ENV_CHUNK, 0, from, end);
      kept = end - from;
    }
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Mount points of a process's mount namespace that are bind mounts from the host (volumes). */
export function volumeMounts(pid: number): string[] | undefined {
  try {
    const out: string[] = [];
    for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
      // mountinfo: id parent major:minor root mountpoint ...; a bind mount has a root other than "/".
      const f = line.split(' ');
      if (
        f.length > 5 &&
        f[3] !== '/' &&
        !f[4].startsWith('/proc') &&
        !f[4].startsWith('/sys') &&
        !f[4].startsWith('/dev') &&
        !f[4].startsWith('/etc/')
      ) {
        out.push(f[4]);
      }
    }
    return out;
  } catch {
    return undefined;
  }
}
