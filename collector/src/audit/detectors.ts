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

/** The result when nothing fires (most events): shared, so a clean event allocates no findings (not frozen: iterating a frozen array allocates an iterator). */
const NO_FINDINGS: readonly Finding[] = [];

/** `out` with one more finding, made on the first one. */
function add(out: Finding[] | undefined, rule: RuleKey, detail: string): Finding[] {
  (out ??= []).push(f(rule, detail));
  return out;
}

/** Rules an exec breaks. `c` is undefined for host processes. */
export function detectExec(
  e: CasefileEvent,
  c: ContainerInfo | undefined,
  probe: ExeProbe = readExe
): readonly Finding[] {
  const exe = e.executable ?? '';
  const cmd = e.commandLine ?? (e.args ?? []).join(' ');
  // Exe basename, comm and argv[0] basename ('' when absent).
  const exeName = baseName(exe);
  const comm = (e.processName ?? '').toLowerCase();
  const a0 = e.args?.[0];
  const argv0Name = a0 === exe ? exeName : baseName(a0);
  let out: Finding[] | undefined;
  for (const r of execIndicators(exeName, comm, argv0Name, cmd, c !== undefined))
    out = add(out, r, `${exe} (${cmd})`);
  // A process that is already gone (most short-lived ones) is judged on what the event says.
  const exeChanged = probe(e);
  const pid = exeChanged !== undefined ? e.pid : undefined;
  const link = pid ? exeLink(pid) : undefined;
  if (isFilelessPath(exe) || link?.startsWith('/memfd:'))
    out = add(out, 'fileless', `${exe} -> ${link ?? exe}`);
  else if (isTempPath(exe)) out = add(out, 'execFromTemp', exe);
  if (c && !hasRule(out, 'fileless')) {
    let changed = exeChanged;
    if (changed === undefined && c.rootPid) {
      changed = rootExeChangedMs(c.rootPid, exe);
      if (changed === undefined) c.rootPid = undefined; // that process is gone too: take the next live one
    }
    if (pid && !c.rootPid) c.rootPid = pid;
    if (changed !== undefined && changed > c.startMs) {
      out = add(
        out,
        'driftBinary',
        `${exe} changed ${new Date(changed).toISOString()}, container started ${new Date(c.startMs).toISOString()}`
      );
    }
    const m = c.mounts?.length ? c.mounts.find((p) => exe.startsWith(p + '/')) : undefined;
    if (m) out = add(out, 'execFromMount', `${exe} (volume ${m})`);
  }
  if (
    pid &&
    SHELLS.has(exeName || comm || argv0Name) &&
    !hasRule(out, 'reverseShell') &&
    stdioIsTcpSocket(pid)
  ) {
    out = add(out, 'reverseShell', `${exe} with a TCP socket as stdin/stdout`);
  }
  if (pid && c && !hasRule(out, 'ldPreload') && hasLdPreload(pid))
    out = add(out, 'ldPreload', `${exe} started with LD_PRELOAD`);
  return out ?? NO_FINDINGS;
}

function hasRule(out: readonly Finding[] | undefined, rule: RuleKey): boolean {
  if (out) for (const x of out) if (x.rule === rule) return true;
  return false;
}

/** Rules an outbound connection breaks (scan behaviour is tracked by {@link ScanTracker}). */
export function detectConnect(e: CasefileEvent, inContainer: boolean): readonly Finding[] {
  const port = e.destPort ?? 0;
  const rules = connectIndicators(port, e.destDomain, inContainer);
  if (rules.length === 0) return NO_FINDINGS;
  return rules.map((r) => f(r, `${e.destDomain ?? e.destAddress}:${port} by ${e.executable ?? e.pid}`));
}

// ptrace requests that touch another process: ATTACH, SEIZE, POKETEXT/DATA/USER, SETREGS.
const PTRACE_ATTACKS = /^(PTRACE_)?(ATTACH|SEIZE|POKETEXT|POKEDATA|POKEUSER|SETREGS|4|5|6|13|16|16902)$/i;
const BPF_PROG_LOAD = /PROG_LOAD|^5$/;

/** Rules a security-relevant syscall (process.syscall event) breaks. */
export function detectSyscall(e: CasefileEvent, inContainer: boolean): readonly Finding[] {
  const who = `${e.executable ?? e.processName ?? '?'} (pid ${e.pid})`;
  const arg = e.syscallArg ?? '';
  switch (e.syscall) {
    case 'openat':
    case 'unlink':
    case 'truncate':
    case 'connect': {
      const op = fileOpOf(e.syscall, arg);
      const r = e.filePath && op ? fileRule(e.filePath, e.pid ?? 0, op) : undefined;
      if (!r) return NO_FINDINGS;
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
      return inContainer ? [f('mount', `${who} mount(${e.filePath ?? '?'}, ${arg})`)] : NO_FINDINGS;
    case 'symlinkat':
    case 'linkat':
      return e.filePath && isSensitivePath(e.filePath)
        ? [f('sensitiveLink', `${who} linked ${e.filePath}`)]
        : NO_FINDINGS;
    case 'memfd_create':
      return NO_FINDINGS; // recorded; only an exec of the memfd is fileless execution
    case 'ptrace':
      return PTRACE_ATTACKS.test(arg) && e.targetPid !== e.pid
        ? [f('ptrace', `${who} ${arg} pid ${e.targetPid}`)]
        : NO_FINDINGS;
    case 'unshare':
      return inContainer ? [f('unshare', `${who} unshare(${arg})`)] : NO_FINDINGS;
    case 'init_module':
    case 'finit_module':
      return inContainer ? [f('kernelModule', `${who} ${e.syscall}`)] : NO_FINDINGS;
    case 'bpf':
      return inContainer && BPF_PROG_LOAD.test(arg) ? [f('ebpfLoad', `${who} bpf(${arg})`)] : NO_FINDINGS;
    case 'setuid':
      return inContainer && arg === '0' && (e.uid ?? 0) !== 0
        ? [f('setuidRoot', `${who} setuid(0) as uid ${e.uid}`)]
        : NO_FINDINGS;
    default:
      return NO_FINDINGS;
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
    const w = s.windows.get(address);
    if (!w || nowMs - w.startMs > this.windowMs) {
      if (!w && s.windows.size >= this.maxAddresses && !this.prune(s, nowMs)) return false;
      s.windows.set(address, { startMs: nowMs, first: port });
      return this.threshold === 1;
    }
    if (port === w.first) return false; // the common case: the same port again
    const more = (w.more ??= new Set());
    const before = more.size;
    more.add(port);
    return more.size > before && more.size + 1 === this.threshold;
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
  /** Address -> its current window. */
  windows: Map<string, ScanWindow>;
  /** When full, no window can have passed before this. */
  pruneAtMs: number;
}

/**
 * The ports connected to on one address since `startMs`: `first`, and the
 * others in `more` (most addresses see one port: no Set for them).
 */
interface ScanWindow {
  startMs: number;
  first: number;
  more?: Set<number>;
}
