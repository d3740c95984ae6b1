/**
 * Seed the process table with the processes running when the collector
 * starts (their forks and execs happened before the probes attached): one
 * pass over /proc. Everything after comes from the kernel's records.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { containerOfPid } from '../cgroup';
import { processKey, readStat } from '../process-identity';
import type { ProcessTable } from './process-table';

function readOr<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** Add every live process under `procRoot` to `table`; returns how many were added. */
export function seedFromProc(table: ProcessTable, boot: string, procRoot = '/proc'): number {
  const pids = (readOr(() => readdirSync(procRoot)) ?? []).filter((d) => /^\d+$/.test(d)).map(Number);
  const stats = new Map(pids.map((p) => [p, readStat(p, procRoot)]));
  let n = 0;
  for (const [pid, st] of stats) {
    if (!st) continue;
    const argv = readOr(() => readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8'));
    if (argv === undefined || argv === '') continue; // kernel threads
    const args = argv.replace(/\0$/, '').split('\0');
    const parent = stats.get(st.ppid) ?? readStat(st.ppid, procRoot);
    table.seed({
      key: processKey(boot, pid, st.startTicks),
      pid,
      parentKey: parent ? processKey(boot, st.ppid, parent.startTicks) : undefined,
      executable: readOr(() => readlinkSync(`${procRoot}/${pid}/exe`)) ?? args[0],
      commandLine: args.join(' '),
      args,
      containerId: containerOfPid(pid, procRoot)?.containerId,
    });
    n++;
  }
  table.markSeededEntries();
  return n;
}
