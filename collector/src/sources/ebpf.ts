/**
 * eBPF source: bpftrace as a child process (`-f json`) running the probe
 * fragments in bpftrace/probes/, one record per event (format: bpftrace/record.ts),
 * mapped by the parser registry (bpftrace/parsers.ts). Needs root, BTF and
 * tracefs; kprobes are not assumed, only tracepoints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Availability, Emit, Source } from '../pipeline/types';
import { PidScope } from '../enrich/scope';
import { UserResolver } from '../enrich/users';
import { CgroupIndex } from './cgroup';
import { bootId, nsToTicks, readStat } from './process-identity';
import { parseBpftraceLine, toRecord } from './bpftrace/record';
import { probeParser, type ProbeContext } from './bpftrace/parsers';
import { ProcessTable } from './bpftrace/process-table';
import { seedFromProc } from './bpftrace/seed-processes';
import { ReorderBuffer } from './bpftrace/reorder';
import './bpftrace/syscall-parsers'; // runtime-audit syscall probes (probes/syscalls.bt)

/** Directory of the built-in probe fragments (*.bt), concatenated in name order. */
export const PROBES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'bpftrace', 'probes');

/** The bpftrace program: every *.bt under `dirs`, in name order. */
export function assembleProgram(dirs: string[] = [PROBES_DIR]): string {
  return dirs
    .flatMap((d) =>
      readdirSync(d)
        .filter((f) => f.endsWith('.bt'))
        .sort()
        .map((f) => readFileSync(join(d, f), 'utf8'))
    )
    .join('\n');
}

/** CLOCK_BOOTTIME - CLOCK_MONOTONIC in ns (time spent suspended), from /proc/uptime (10 ms resolution). */
function bootOffsetNs(): number {
  const uptimeNs = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1e9;
  return Math.max(0, uptimeNs - Number(process.hrtime.bigint()));
}

/** pid, start time and argv length of an exec record, as printed (`\"pid\":N`). */
const EXEC_HEAD =
  /^\{"type": ?"printf", ?"data": ?"\{\\"kind\\":\\"exec\\".*?\\"pid\\":(\d+),.*?\\"st\\":(\d+),.*?\\"len\\":(\d+)/;

/** /proc/<pid>/cmdline of the process started at `ticks`, or null (gone, or the pid reused). */
function readArgv(pid: number, ticks: number): Uint8Array | null {
  try {
    const buf = readFileSync(`/proc/${pid}/cmdline`);
    return readStat(pid)?.startTicks === ticks ? buf : null;
  } catch {
    return null;
  }
}

/** Inode of a process's mount namespace (/proc/<pid>/ns/mnt -> mnt:[N]). */
function mountNsInode(pid: number | 'self'): number | undefined {
  try {
    return Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/mnt`))?.[1]) || undefined;
  } catch {
    return undefined;
  }
}

export interface EbpfOptions {
  /** bpftrace binary. Default `bpftrace` (from PATH). */
  bpftrace?: string;
  /** Extra probe fragment directories (e.g. the runtime-models probes). */
  probeDirs?: string[];
  /** Per-CPU perf ring pages (BPFTRACE_PERF_RB_PAGES). Default 1024 (4 MiB per CPU): bursts of execs lose nothing. */
  perfRingPages?: number;
  /** Bytes of argv copied in the kernel (BPFTRACE_STRLEN, max ~128 under the BPF stack limit). Longer argv is completed from /proc. */
  strlen?: number;
}

function findOnPath(bin: string): string | null {
  if (bin.includes('/')) return existsSync(bin) ? bin : null;
  for (const d of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    try {
      accessSync(join(d, bin), constants.X_OK);
      return join(d, bin);
    } catch {
      /* next */
    }
  }
  return null;
}

/** Mount tracefs where the tracepoints live, if it is not mounted (MACHINE.md). */
function ensureTracefs(): boolean {
  if (existsSync('/sys/kernel/tracing/events')) return true;
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], { stdio: 'ignore' });
  } catch {
    return false;
  }
  return existsSync('/sys/kernel/tracing/events');
}

export class EbpfSource implements Source {
  readonly name = 'ebpf' as const;
  private child?: ChildProcess;
  private stopping = false;
  /** Lineage: every process's identity from its fork and exec records (bpftrace/process-table.ts). */
  readonly processes = new ProcessTable();
  /** argv read as an exec line arrived, by pid (see readArgvEarly). */
  private readonly earlyArgv = new LRUCache<number, { ticks: number; argv: Uint8Array }>({ max: 1024 });
  private counters = {
    lines: 0,
    events: 0,
    malformed: 0,
    lost_events: 0,
    unknown_kind: 0,
    map_errors: 0,
    probes_attached: 0,
  };

  constructor(
    private readonly logger: Logger,
    private readonly opts: EbpfOptions = {}
  ) {}

  async available(): Promise<Availability> {
    if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root (bpftrace loads BPF programs)' };
    if (!findOnPath(this.opts.bpftrace ?? 'bpftrace'))
      return { ok: false, reason: `bpftrace not found (${this.opts.bpftrace ?? 'bpftrace'})` };
    if (!existsSync('/sys/kernel/btf/vmlinux'))
      return { ok: false, reason: 'kernel has no BTF (/sys/kernel/btf/vmlinux)' };
    if (!ensureTracefs())
      return { ok: false, reason: 'tracefs is not mounted at /sys/kernel/tracing and could not be mounted' };
    return { ok: true };
  }

  async start(emit: Emit): Promise<void> {
    const boot = bootId();
    const cgroups = new CgroupIndex();
    const pids = new PidScope();
    const users = new UserResolver();
    const hostMnt = mountNsInode(1) ?? mountNsInode('self');
    const offsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
    const bootOffset = bootOffsetNs();
    const ctx: ProbeContext = {
      bootId: boot,
      wallNs: (t) => (offsetNs + BigInt(Math.round(t))).toString(),
      processes: this.processes,
      bootNs: (t) => t + bootOffset,
      argvCap: this.opts.strlen ?? 128,
      containerOfCgroup: (id) => cgroups.resolve(id),
      containerOfProcess: (p) => pids.resolve(p),
      hostUserOf: (uid, mnt) => (mnt === hostMnt ? users.hostUser(uid) : undefined),
      readCmdline: (pid, ticks) => {
        const early = this.earlyArgv.get(pid);
        if (early?.ticks === ticks) return early.argv;
        return readArgv(pid, ticks);
      },
    };
    const program = assembleProgram([PROBES_DIR, ...(this.opts.probeDirs ?? [])]);
    const child = spawn(this.opts.bpftrace ?? 'bpftrace', ['-f', 'json', '-e', program], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        BPFTRACE_STRLEN: String(this.opts.strlen ?? 128),
        BPFTRACE_PERF_RB_PAGES: String(this.opts.perfRingPages ?? 1024),
      },
    });
    this.child = child;
    let stderr = '';
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (!l.trim() || l.includes('RLIMIT_MEMLOCK')) continue; // expected here: probes attach anyway
        stderr = (stderr + l + '\n').slice(-4000);
        this.logger.warn({ source: 'ebpf', stderr: l }, 'bpftrace');
      }
    });

    await new Promise<void>((resolve, reject) => {
      let attached = false;
      let rest = Buffer.alloc(0);
      const ordered = new ReorderBuffer((line) => {
        if (this.handleLine(line, ctx, emit) && !attached) {
          attached = true;
          resolve();
        }
      });
      const timer = setInterval(() => ordered.flush(Date.now()), 25);
      timer.unref();
      child.stdout!.on('data', (chunk: Buffer) => {
        let buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
        let nl: number;
        const now = Date.now();
        while ((nl = buf.indexOf(0x0a)) >= 0) {
          const line = buf.toString('latin1', 0, nl);
          buf = buf.subarray(nl + 1);
          if (!line) continue;
          this.readArgvEarly(line, ctx.argvCap ?? 128);
          ordered.push(line, now);
        }
        rest = Buffer.from(buf);
        ordered.flush(now);
      });
      child.stdout!.once('end', () => {
        clearInterval(timer);
        ordered.flush(Date.now(), true);
      });
      child.once('error', (err) => reject(err));
      child.once('exit', (code, sig) => {
        if (!attached)
          reject(new Error(`bpftrace exited (${code ?? sig}) before attaching: ${stderr.trim()}`));
        else if (!this.stopping)
          this.logger.error({ source: 'ebpf', code, sig, stderr }, 'bpftrace exited; eBPF events stop');
      });
    });
    // After the probes attached: a process started in between is in both, and the table keeps the first.
    const seeded = seedFromProc(this.processes, boot);
    this.logger.info(
      { source: 'ebpf', probes: this.counters.probes_attached, processes: seeded },
      'bpftrace probes attached'
    );
  }

  /**
   * A cut argv is completed from /proc/<pid>/cmdline while the process lives;
   * short-lived ones (`runc exec` names its subcommand after 600 bytes of
   * options) may be gone by the time the reorder buffer releases their
   * record, so their argv is read as the line arrives.
   */
  private readArgvEarly(line: string, cap: number): void {
    const m = EXEC_HEAD.exec(line);
    if (!m || Number(m[3]) <= cap) return;
    const pid = Number(m[1]);
    const ticks = nsToTicks(Number(m[2]));
    const argv = readArgv(pid, ticks);
    if (!argv) return;
    this.earlyArgv.set(pid, { ticks, argv });
  }

  /** Handle one bpftrace output line (latin1-decoded); true on the `ready` record (probes/00-ready.bt): every probe is attached. */
  handleLine(line: string, ctx: ProbeContext, emit: Emit): boolean {
    this.counters.lines++;
    const l = parseBpftraceLine(line);
    switch (l.type) {
      case 'attached':
        this.counters.probes_attached = l.probes;
        return false;
      case 'lost':
        this.counters.lost_events += l.events;
        return false;
      case 'malformed':
        this.counters.malformed++;
        return false;
      case 'other':
        return false;
    }
    if (l.kind === 'ready') return true;
    const parser = probeParser(l.kind);
    if (!parser) {
      this.counters.unknown_kind++;
      return false;
    }
    const rec = toRecord(l, parser.strings, parser.lastRaw ?? true);
    if (!rec) {
      this.counters.malformed++;
      return false;
    }
    try {
      const out = parser.map(rec, ctx);
      for (const e of out === null ? [] : Array.isArray(out) ? out : [out]) {
        this.counters.events++;
        emit(e);
      }
    } catch (err) {
      this.counters.map_errors++;
      this.logger.debug({ err, kind: l.kind }, 'probe record could not be mapped');
    }
    return false;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => (clearTimeout(t), resolve()));
      child.kill('SIGINT');
    });
  }

  stats(): Record<string, number> {
    return { ...this.counters, processes_tracked: this.processes.size };
  }
}
