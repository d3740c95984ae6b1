/**
 * Known-bad and drift detectors: from one event (as the sources produce it)
 * to the rules it breaks. Model and policy checks live in the models stage.
 */
import type { CasefileEvent } from '@casefile/schema';
import { LRUCache } from 'lru-cache';
import {
  baseName,
  connectIndicators,
  execIndicators,
  fileOpOf,
  fileRule,
  isFilelessPath,
  isSensitivePath,
  isTempPath,
  SHELLS,
} from './known-bad';
import { exeChangedMs, exeLink, hasLdPreload, rootExeChangedMs, stdioIsTcpSocket } from './proc-checks';
import type { RuleKey } from './rules';

export interface Finding {
  rule: RuleKey;
  /** What was seen, for the audit's message. */
  detail: string;
  /** ATT&CK technique more precise than the rule's (persistence: cron, shell profile, SSH keys). */
  mitre?: string;
}

/** What the stage knows about the container an event came from. */
export interface ContainerInfo {
  startMs: number;
  /** A live pid inside the container, to look at its filesystem when the process is gone. */
  rootPid?: number;
  /** Bind-mounted volume paths, read once from a live process of the container. */
  mounts?: string[];
}

const f = (rule: RuleKey, detail: string): Finding => ({ rule, detail });

/**
 * How the exec detector reads a process's executable from /proc: its change
 * time (ms), or undefined when the process is gone. The models stage passes
 * its process table's probe, which reads each gone process only once.
 */
export type ExeProbe = (e: CasefileEvent) => number | undefined;

/** Reads /proc/<pid>/exe every time. */
export const readExe: ExeProbe = (e) => (e.pid ? exeChangedMs(e.pid) : undefined);

/** Rules an exec breaks. `c` is undefined for host processes. */
export function detectExec(
  e: CasefileEvent,
  c: ContainerInfo | undefined,
  probe: ExeProbe = readExe
): Finding[] {
  const exe = e.executable ?? '';
  const cmd = e.commandLine ?? (e.args ?? []).join(' ');
  const names = execNames(exe, e);
  const rules = execIndicators(names, cmd, c !== undefined);
  const out: Finding[] = [];
  for (const r of rules) out.push(f(r, `${exe} (${cmd})`));
  // A process that is already gone (most short-lived ones) is judged on what the event says.
  const exeChanged = probe(e);
  const pid = exeChanged !== undefined ? e.pid : undefined;
  const link = pid ? exeLink(pid) : undefined;
  if (isFilelessPath(exe) || link?.startsWith('/memfd:')) out.push(f('fileless', `${exe} -> ${link ?? exe}`));
  else if (isTempPath(exe)) out.push(f('execFromTemp', exe));
  if (c && !hasRule(out, 'fileless')) {
    let changed = exeChanged;
    if (changed === undefined && c.rootPid) {
      changed = rootExeChangedMs(c.rootPid, exe);
      if (changed === undefined) c.rootPid = undefined; // that process is gone too: take the next live one
    }
    if (pid && !c.rootPid) c.rootPid = pid;
    if (changed !== undefined && changed > c.startMs) {
      out.push(
        f(
          'driftBinary',
          `${exe} changed ${new Date(changed).toISOString()}, container started ${new Date(c.startMs).toISOString()}`
        )
      );
    }
    const m = c.mounts?.length ? c.mounts.find((p) => exe.startsWith(p + '/')) : undefined;
    if (m) out.push(f('execFromMount', `${exe} (volume ${m})`));
  }
  if (pid && SHELLS.has(names[0] ?? '') && !hasRule(out, 'reverseShell') && stdioIsTcpSocket(pid)) {
    out.push(f('reverseShell', `${exe} with a TCP socket as stdin/stdout`));
  }
  if (pid && c && !hasRule(out, 'ldPreload') && hasLdPreload(pid))
    out.push(f('ldPreload', `${exe} started with LD_PRELOAD`));
  return out;
}

/** Exe basename, comm and argv[0] basename, the empty ones left out (a loop: this runs for every exec). */
function execNames(exe: string, e: CasefileEvent): string[] {
  const names: string[] = [];
  const a = baseName(exe);
  const b = (e.processName ?? '').toLowerCase();
  const a0 = e.args?.[0];
  const c = a0 === exe ? a : baseName(a0);
  if (a) names.push(a);
  if (b) names.push(b);
  if (c) names.push(c);
  return names;
}

function hasRule(out: readonly Finding[], rule: RuleKey): boolean {
  for (const x of out) if (x.rule === rule) return true;
  return false;
}

/** Rules an outbound connection breaks (scan behaviour is tracked by {@link ScanTracker}). */
export function detectConnect(e: CasefileEvent, inContainer: boolean): Finding[] {
  const port = e.destPort ?? 0;
  return connectIndicators(port, e.destDomain, inContainer).map((r) =>
    f(r, `${e.destDomain ?? e.destAddress}:${port} by ${e.executable ?? e.pid}`)
  );
}

// ptrace requests that touch another process: ATTACH, SEIZE, POKETEXT/DATA/USER, SETREGS.
const PTRACE_ATTACKS = /^(PTRACE_)?(ATTACH|SEIZE|POKETEXT|POKEDATA|POKEUSER|SETREGS|4|5|6|13|16|16902)$/i;

/** Rules a security-relevant syscall (process.syscall event) breaks. */
export function detectSyscall(e: CasefileEvent, inContainer: boolean): Finding[] {
  const who = `${e.executable ?? e.processName ?? '?'} (pid ${e.pid})`;
  const arg = e.syscallArg ?? '';
  switch (e.syscall) {
    case 'openat':
    case 'unlink':
    case 'truncate':
    case 'connect': {
      const op = fileOpOf(e.syscall, arg);
      const r = e.filePath && op ? fileRule(e.filePath, e.pid ?? 0, op) : undefined;
      if (!r) return [];
      const verb = {
        read: 'opened',
        write: 'opened for writing',
        truncate: 'truncated',
        unlink: 'deleted',
        connect: 'connected to',
      }[op!];
      return [
        {
          rule: r.rule,
          mitre: r.mitre,
          detail: `${who} ${verb} ${e.filePath}${e.syscall === 'openat' && arg ? ` (${arg})` : ''}`,
        },
      ];
    }
    case 'mount':
      return inContainer ? [f('mount', `${who} mount(${e.filePath ?? '?'}, ${arg})`)] : [];
    case 'symlinkat':
    case 'linkat':
      return e.filePath && isSensitivePath(e.filePath)
        ? [f('sensitiveLink', `${who} linked ${e.filePath}`)]
        : [];
    case 'memfd_create':
      return []; // recorded; only an exec of the memfd is fileless execution
    case 'ptrace':
      return PTRACE_ATTACKS.test(arg) && e.targetPid !== e.pid
        ? [f('ptrace', `${who} ${arg} pid ${e.targetPid}`)]
        : [];
    case 'unshare':
      return inContainer ? [f('unshare', `${who} unshare(${arg})`)] : [];
    case 'init_module':
    case 'finit_module':
      return inContainer ? [f('kernelModule', `${who} ${e.syscall}`)] : [];
    case 'bpf':
      return inContainer && /PROG_LOAD|^5$/.test(arg) ? [f('ebpfLoad', `${who} bpf(${arg})`)] : [];
    case 'setuid':
      return inContainer && arg === '0' && (e.uid ?? 0) !== 0
        ? [f('setuidRoot', `${who} setuid(0) as uid ${e.uid}`)]
        : [];
    default:
      return [];
  }
}

/**
 * Port-scan behaviour: one scanner (a container, or a host process)
 * connecting to many distinct ports (default 20) of one address within a
 * window (default 10 s) from its first connection there. Bounded: scanners
 * least recently seen are forgotten, and a scanner tracks at most
 * `maxAddresses` addresses at a time (ones whose window passed make room).
 */
export class ScanTracker {
  private readonly scanners: LRUCache<string, Scanner>;
  constructor(
    private readonly threshold = 20,
    private readonly windowMs = 10_000,
    maxScanners = 10_000,
    private readonly maxAddresses = 1_024
  ) {
    this.scanners = new LRUCache({ max: maxScanners });
  }

  /** True once per window, when `scanner` reaches the threshold of distinct ports on `address`. */
  add(scanner: string, address: string, port: number, nowMs: number): boolean {
    let s = this.scanners.get(scanner);
    if (!s) this.scanners.set(scanner, (s = { windows: new Map(), pruneAtMs: 0 }));
    let w = s.windows.get(address);
    if (!w || nowMs - w.startMs > this.windowMs) {
      if (!w && s.windows.size >= this.maxAddresses && !this.prune(s, nowMs)) return false;
      w = { startMs: nowMs, ports: new Set() };
      s.windows.set(address, w);
    }
    const before = w.ports.size;
    w.ports.add(port);
    return w.ports.size === this.threshold && before < this.threshold;
  }

  /** Forget a full scanner's windows that passed; false when none had (then not tried again before one can). */
  private prune(s: Scanner, nowMs: number): boolean {
    if (nowMs < s.pruneAtMs) return false;
    const size = s.windows.size;
    let oldest = Infinity;
    for (const [a, w] of s.windows) {
      if (nowMs - w.startMs > this.windowMs) s.windows.delete(a);
      else oldest = Math.min(oldest, w.startMs);
    }
    s.pruneAtMs = oldest + this.windowMs + 1;
    return s.windows.size < size;
  }
}

interface Scanner {
  /** Address -> the ports connected to in its current window. */
  windows: Map<string, { startMs: number; ports: Set<number> }>;
  /** When full, no window can have passed before this. */
  pruneAtMs: number;
}
