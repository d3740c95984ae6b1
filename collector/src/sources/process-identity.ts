/**
 * Stable process identity that survives pid reuse:
 * `<boot id>:<pid>:<start time in clock ticks>` (the start time of
 * /proc/<pid>/stat field 22), so eBPF and procfs agree on the same key.
 */
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second as /proc reports them (USER_HZ; 100 on Linux). */
export const USER_HZ = 100;
const NS_PER_TICK = 1_000_000_000 / USER_HZ;

let cachedBootId: string | undefined;

/** This boot's id (/proc/sys/kernel/random/boot_id), read once. */
export function bootId(): string {
  cachedBootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return cachedBootId;
}

/** @example processKey('b1', 42, 1234) // => 'b1:42:1234' */
export function processKey(boot: string, pid: number, startTicks: number): string {
  return `${boot}:${pid}:${startTicks}`;
}

/** A task's start_boottime in ns (what eBPF sees) -> clock ticks (what /proc/<pid>/stat shows). */
export function nsToTicks(startBoottimeNs: number): number {
  return Math.floor(startBoottimeNs / NS_PER_TICK);
}

/**
 * Parse /proc/<pid>/stat: the comm is in parentheses and may itself contain
 * spaces and parentheses, so fields are counted from the LAST ')'.
 * @example parseStat('42 (a) b) S 1 ... 22nd field ...') // => { ppid: 1, startTicks: ... }
 */
export function parseStat(
  stat: string
): { comm: string; state: string; ppid: number; startTicks: number } | null {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = stat.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19]; field 4 (ppid) rest[1].
  const ppid = Number(rest[1]);
  const startTicks = Number(rest[19]);
  if (!Number.isFinite(ppid) || !Number.isFinite(startTicks)) return null;
  return { comm: stat.slice(open + 1, close), state: rest[0], ppid, startTicks };
}

/** Read and parse /proc/<pid>/stat; null when the process is gone. */
export function readStat(pid: number, procRoot = '/proc'): ReturnType<typeof parseStat> {
  try {
    return parseStat(readFileSync(`${procRoot}/${pid}/stat`, 'latin1'));
  } catch {
    return null;
  }
}
