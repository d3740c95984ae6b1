/**
 * Known-bad and drift detectors: from one event (as the sources produce it)
 * to the rules it breaks. Model and policy checks live in the models stage.
 */
import type { CasefileEvent } from '@casefile/schema';
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

/** Rules an exec breaks. `c` is undefined for host processes. */
export function detectExec(e: CasefileEvent, c: ContainerInfo | undefined): Finding[] {
  const exe = e.executable ?? '';
  const cmd = e.commandLine ?? (e.args ?? []).join(' ');
  const names = [baseName(exe), (e.processName ?? '').toLowerCase(), baseName(e.args?.[0])].filter(Boolean);
  const out: Finding[] = execIndicators(names, cmd, c !== undefined).map((r) => f(r, `${exe} (${cmd})`));
  // A process that is already gone (most short-lived ones) is judged on what the event says.
  const exeChanged = e.pid ? exeChangedMs(e.pid) : undefined;
  const pid = exeChanged !== undefined ? e.pid : undefined;
  const link = pid ? exeLink(pid) : undefined;
  if (isFilelessPath(exe) || link?.startsWith('/memfd:')) out.push(f('fileless', `${exe} -> ${link ?? exe}`));
  else if (isTempPath(exe)) out.push(f('execFromTemp', exe));
  if (c && !out.some((x) => x.rule === 'fileless')) {
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
    const m = c.mounts?.find((p) => exe.startsWith(p + '/'));
    if (m) out.push(f('execFromMount', `${exe} (volume ${m})`));
  }
  if (
    pid &&
    SHELLS.has(names[0] ?? '') &&
    !out.some((x) => x.rule === 'reverseShell') &&
    stdioIsTcpSocket(pid)
  ) {
    out.push(f('reverseShell', `${exe} with a TCP socket as stdin/stdout`));
  }
  if (pid && c && !out.some((x) => x.rule === 'ldPreload') && hasLdPreload(pid))
    out.push(f('ldPreload', `${exe} started with LD_PRELOAD`));
  return out;
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
 * Port-scan behaviour: one process connecting to many distinct ports (default
 * 20) within a window (default 10 s). Bounded: old processes are forgotten.
 */
export class ScanTracker {
  private readonly seen = new Map<string, { startMs: number; ports: Set<number>; fired: boolean }>();
  constructor(
    private readonly threshold = 20,
    private readonly windowMs = 10_000,
    private readonly maxTracked = 10_000
  ) {}

  /** True once, when `key` (a process) crosses the threshold within the window. */
  add(key: string, port: number, nowMs: number): boolean {
    let s = this.seen.get(key);
    if (!s || nowMs - s.startMs > this.windowMs) {
      if (this.seen.size >= this.maxTracked) this.seen.delete(this.seen.keys().next().value!);
      s = { startMs: nowMs, ports: new Set(), fired: false };
      this.seen.set(key, s);
    }
    s.ports.add(port);
    if (!s.fired && s.ports.size >= this.threshold) {
      s.fired = true;
      return true;
    }
    return false;
  }
}
