/**
 * procfs source: polls /proc for new and exited processes and for TCP
 * listeners in every network namespace (so listeners inside containers are
 * found). The unprivileged fallback when eBPF cannot run: it misses processes
 * that start and exit between two polls, and counts how many it may have
 * missed (`missed_pids_estimate`, from the kernel's last allocated pid).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { decodeBytes, type NewEvent } from '@casefile/schema';
import type { Logger } from 'pino';
import type { Availability, Emit, Source } from '../pipeline/types';
import { bootId, processKey, readStat } from './process-identity';
import { splitArgv } from './bpftrace/parsers';

export interface TcpListener {
  address: string;
  port: number;
  inode: number;
  v: 4 | 6;
}

const TCP_LISTEN = '0A';

/** Kernel hex address (network byte order in host-endian 32-bit words) -> text. */
export function decodeHexAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) =>
    [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)].map((b) => parseInt(b, 16))
  );
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  // v4-mapped ::ffff:a.b.c.d
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff')
    return `::ffff:${bytes.slice(12).join('.')}`;
  const full = groups.join(':');
  // Compress the longest run of zero groups.
  const runs = [...full.matchAll(/(?:^|:)0(?::0)+(?::|$)/g)].sort((a, b) => b[0].length - a[0].length);
  if (!runs.length) return full;
  const r = runs[0];
  return full.slice(0, r.index) + '::' + full.slice(r.index! + r[0].length);
}

/**
 * Listening sockets in /proc/<pid>/net/tcp or tcp6 text.
 * @example parseNetTcp('  sl local rem st ...\n   0: 00000000:1F90 00000000:0000 0A ... 0 12345 ...', 4)
 *   // => [{ address: '0.0.0.0', port: 8080, inode: 12345, v: 4 }]
 */
export function parseNetTcp(text: string, v: 4 | 6): TcpListener[] {
  const out: TcpListener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
    const [addr, port] = f[1].split(':');
    const inode = Number(f[9]);
    if (!addr || !port || !Number.isFinite(inode)) continue;
    out.push({ address: decodeHexAddress(addr), port: parseInt(port, 16), inode, v });
  }
  return out;
}

/** Real uid from /proc/<pid>/status text. */
export function parseStatusUid(text: string): number | undefined {
  const m = /^Uid:\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

interface ProcInfo {
  key: string;
  pid: number;
  comm: string;
  executable?: string;
}

export class ProcfsSource implements Source {
  readonly name = 'procfs' as const;
  private timer?: NodeJS.Timeout;
  private procs = new Map<number, ProcInfo>();
  /** Listeners by `<netns inode>:<socket inode>`. */
  private listeners = new Map<string, { l: TcpListener; pid?: number; key?: string }>();
  private lastPid?: number;
  private counters = { polls: 0, events: 0, missed_pids_estimate: 0, poll_errors: 0, poll_ms_last: 0 };

  /**
   * @param intervalMs poll interval (config sources.procfsIntervalMs, default 1000)
   * @param fallbackOnlyWhen when it resolves true (eBPF is active), this source reports itself unavailable
   */
  constructor(
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly fallbackOnlyWhen: () => Promise<boolean> = async () => false,
    private readonly procRoot = '/proc'
  ) {}

  async available(): Promise<Availability> {
    try {
      readFileSync(`${this.procRoot}/loadavg`, 'utf8');
    } catch {
      return { ok: false, reason: `${this.procRoot} is not readable` };
    }
    if (await this.fallbackOnlyWhen())
      return { ok: false, reason: 'eBPF is active; procfs is the fallback when it is not' };
    return { ok: true };
  }

  async start(emit: Emit): Promise<void> {
    this.poll(emit, true);
    this.timer = setInterval(() => this.poll(emit, false), this.intervalMs);
    this.timer.unref();
  }

  /** One poll. The first one only records what already runs (processes) but reports existing listeners. */
  poll(emit: Emit, baseline: boolean): void {
    const t0 = Date.now();
    try {
      this.pollProcesses(emit, baseline);
      this.pollListeners(emit);
    } catch (err) {
      this.counters.poll_errors++;
      this.logger.warn({ source: 'procfs', err }, 'procfs poll failed');
    }
    this.counters.polls++;
    this.counters.poll_ms_last = Date.now() - t0;
  }

  private read(path: string, enc: 'utf8' | 'latin1' = 'utf8'): string | undefined {
    try {
      return readFileSync(`${this.procRoot}/${path}`, enc);
    } catch {
      return undefined;
    }
  }

  private pids(): number[] {
    return readdirSync(this.procRoot)
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  }

  private pollProcesses(emit: Emit, baseline: boolean): void {
    const boot = bootId();
    const lastPid = Number(this.read('loadavg')?.trim().split(/\s+/)[4]);
    const seen = new Set<number>();
    let fresh = 0;
    for (const pid of this.pids()) {
      seen.add(pid);
      const stat = readStat(pid, this.procRoot);
      if (!stat) continue;
      const key = processKey(boot, pid, stat.startTicks);
      const known = this.procs.get(pid);
      if (known?.key === key) continue;
      if (known) this.exited(known, emit);
      const info: ProcInfo = { key, pid, comm: stat.comm };
      this.procs.set(pid, info);
      if (baseline) continue;
      fresh++;
      this.started(info, stat.ppid, emit);
    }
    for (const [pid, info] of this.procs) {
      if (!seen.has(pid)) {
        this.procs.delete(pid);
        this.exited(info, emit);
      }
    }
    if (!baseline && Number.isFinite(lastPid) && this.lastPid !== undefined) {
      const pidMax = Number(this.read('sys/kernel/pid_max')) || 4194304;
      const allocated = (lastPid - this.lastPid + pidMax) % pidMax;
      // Threads take pids too, so this is an upper bound on missed processes.
      this.counters.missed_pids_estimate += Math.max(0, allocated - fresh);
    }
    if (Number.isFinite(lastPid)) this.lastPid = lastPid;
  }

  private started(info: ProcInfo, ppid: number, emit: Emit): void {
    const raw: Record<string, string> = {};
    let executable: string | undefined;
    try {
      executable = readlinkSync(`${this.procRoot}/${info.pid}/exe`);
    } catch {
      executable = undefined; // kernel thread, or gone
    }
    if (!executable) return;
    info.executable = executable;
    const cmdline = (() => {
      try {
        return readFileSync(`${this.procRoot}/${info.pid}/cmdline`);
      } catch {
        return Buffer.alloc(0);
      }
    })();
    const parts = splitArgv(cmdline);
    const args = parts.map((a) => decodeBytes('args', a, {}));
    const body = cmdline[cmdline.length - 1] === 0 ? cmdline.subarray(0, -1) : cmdline;
    const commandLine = decodeBytes(
      'commandLine',
      Uint8Array.from(body, (b) => (b === 0 ? 0x20 : b)),
      raw
    );
    const pstat = readStat(ppid, this.procRoot);
    const e: NewEvent = {
      type: 'process.start',
      message: `process started: ${commandLine || executable}`,
      source: 'procfs',
      pid: info.pid,
      ppid,
      processKey: info.key,
      ...(pstat ? { parentProcessKey: processKey(bootId(), ppid, pstat.startTicks) } : {}),
      executable,
      processName: decodeBytes('processName', Buffer.from(info.comm, 'latin1'), raw),
      commandLine,
      args,
      uid: parseStatusUid(this.read(`${info.pid}/status`) ?? ''),
      ...(Object.keys(raw).length ? { rawBase64: JSON.stringify(raw) } : {}),
    };
    this.counters.events++;
    emit(e);
  }

  private exited(info: ProcInfo, emit: Emit): void {
    if (!info.executable) return;
    this.counters.events++;
    emit({
      type: 'process.exit',
      message: `process exited: ${info.comm} pid ${info.pid}`,
      source: 'procfs',
      pid: info.pid,
      processKey: info.key,
      processName: decodeBytes('processName', Buffer.from(info.comm, 'latin1'), {}),
      executable: info.executable,
    });
  }

  private pollListeners(emit: Emit): void {
    // One pid per network namespace: /proc/<pid>/net/* shows that namespace's sockets.
    const byNs = new Map<string, number>();
    for (const pid of this.procs.keys()) {
      try {
        const ns = readlinkSync(`${this.procRoot}/${pid}/ns/net`);
        if (!byNs.has(ns)) byNs.set(ns, pid);
      } catch {
        /* gone or not ours to read */
      }
    }
    const current = new Map<string, TcpListener>();
    for (const [ns, pid] of byNs) {
      for (const v of [4, 6] as const) {
        const text = this.read(`${pid}/net/${v === 4 ? 'tcp' : 'tcp6'}`);
        if (text) for (const l of parseNetTcp(text, v)) current.set(`${ns}:${l.inode}`, l);
      }
    }
    const fresh = [...current].filter(([k]) => !this.listeners.has(k));
    const owners = fresh.length
      ? this.socketOwners(new Set(fresh.map(([, l]) => l.inode)))
      : new Map<number, number>();
    for (const [k, l] of fresh) {
      const pid = owners.get(l.inode);
      const key = pid !== undefined ? this.procs.get(pid)?.key : undefined;
      this.listeners.set(k, { l, pid, key });
      this.counters.events++;
      emit(this.listenEvent('port.listen', l, pid, key));
    }
    for (const [k, v] of this.listeners) {
      if (current.has(k)) continue;
      this.listeners.delete(k);
      this.counters.events++;
      emit(this.listenEvent('port.close', v.l, v.pid, v.key));
    }
  }

  private listenEvent(
    type: 'port.listen' | 'port.close',
    l: TcpListener,
    pid?: number,
    key?: string
  ): NewEvent {
    const hp = l.v === 6 ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;
    const info = pid !== undefined ? this.procs.get(pid) : undefined;
    return {
      type,
      message: `${type === 'port.listen' ? 'listening on' : 'stopped listening on'} tcp ${hp}${pid !== undefined ? ` (pid ${pid})` : ''}`,
      source: 'procfs',
      listenAddress: l.address,
      listenPort: l.port,
      transport: 'tcp',
      networkType: l.v === 6 ? 'ipv6' : 'ipv4',
      ...(pid !== undefined ? { pid } : {}),
      ...(key ? { processKey: key } : {}),
      ...(info?.executable ? { executable: info.executable } : {}),
    };
  }

  /** socket inode -> owning pid, by scanning /proc/<pid>/fd (only when new listeners appear). */
  private socketOwners(inodes: Set<number>): Map<number, number> {
    const out = new Map<number, number>();
    for (const pid of this.procs.keys()) {
      let fds: string[];
      try {
        fds = readdirSync(`${this.procRoot}/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let link: string;
        try {
          link = readlinkSync(`${this.procRoot}/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(Number(m[1])) && !out.has(Number(m[1]))) out.set(Number(m[1]), pid);
      }
      if (out.size === inodes.size) break;
    }
    return out;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }

  stats(): Record<string, number> {
    return { ...this.counters };
  }
}
