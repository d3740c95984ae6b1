/**
 * Parser registry for probe records, keyed by the record's `kind`. Adding a
 * probe is a fragment in probes/ (one printf per event, see record.ts) plus a
 * {@link registerProbeParser} call; the built-in kinds are exec, exit, tcp.
 */
import { decodeBytes, truncationMarker, type NewEvent } from '@casefile/schema';
import { nsToTicks, processKey } from '../process-identity';
import { argvAmbiguous, type ProbeRecord } from './record';
import type { CgroupContainer } from '../cgroup';

/** What a mapper may need beyond the record; injected so mappers stay pure in tests. */
export interface ProbeContext {
  bootId: string;
  /** CLOCK_MONOTONIC ns (bpftrace's `nsecs`) -> wall-clock ns since the epoch. */
  wallNs(monoNs: number): string;
  /**
   * The full NUL-separated argv of a live process whose start time (ticks)
   * matches, or null (gone, or pid reused). Used when the probe's bounded
   * copy was cut.
   */
  readCmdline(pid: number, startTicks: number): Uint8Array | null;
  /** Bytes of argv the probe copies (BPFTRACE_STRLEN). Default 128. */
  argvCap?: number;
  /** cgroup v2 id (a record's `cg`) -> container; null on the host, undefined when unknown. */
  containerOfCgroup?(id: number): CgroupContainer | null | undefined;
  /**
   * uid -> user name for a process in mount namespace `mntNs` (inode), when
   * that is the host's; undefined otherwise (the enricher resolves container users).
   */
  hostUserOf?(uid: number, mntNs: number): string | undefined;
}

export interface ProbeParser {
  kind: string;
  /** Names of the record's string fields, in printed order. */
  strings: readonly string[];
  /** The last string field is a raw `%s` (true) or `%r`-escaped (false). Default true. */
  lastRaw?: boolean;
  /** Map a record to zero or more events (null: not interesting). */
  map(rec: ProbeRecord, ctx: ProbeContext): NewEvent | NewEvent[] | null;
}

const registry = new Map<string, ProbeParser>();

/** Register (or replace) the parser for one record kind. */
export function registerProbeParser(p: ProbeParser): void {
  registry.set(p.kind, p);
}

export function probeParser(kind: string): ProbeParser | undefined {
  return registry.get(kind);
}

/** The process key of a record's `pid` + `st` (start_boottime ns). */
export function recordKey(
  rec: ProbeRecord,
  ctx: ProbeContext,
  pidField = 'pid',
  stField = 'st'
): string | undefined {
  const pid = rec.num[pidField];
  const st = rec.num[stField];
  return pid !== undefined && st !== undefined ? processKey(ctx.bootId, pid, nsToTicks(st)) : undefined;
}

/**
 * Container fields from a record's `cg` (cgroup v2 id), resolved while the
 * record is handled, so even a process gone by then maps to its container.
 */
export function cgroupScope(
  rec: ProbeRecord,
  ctx: ProbeContext
): { containerId?: string; containerRuntime?: string; podUid?: string } {
  const c = rec.num.cg !== undefined ? ctx.containerOfCgroup?.(rec.num.cg) : undefined;
  return c
    ? { containerId: c.containerId, containerRuntime: c.runtime, ...(c.podUid ? { podUid: c.podUid } : {}) }
    : {};
}

/** Split NUL-separated argv bytes (a trailing NUL ends the last arg). */
export function splitArgv(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      out.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < bytes.length) out.push(bytes.subarray(start));
  return out;
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** exec: process.start with pid, ppid, uid, path, argv and both process keys. */
export function mapExec(rec: ProbeRecord, ctx: ProbeContext): NewEvent {
  const pid = rec.num.pid;
  const raw: Record<string, string> = {};
  const executable = decodeBytes('executable', rec.str.filename ?? new Uint8Array(), raw) || '?';
  const captured = (rec.str.argv ?? new Uint8Array()) as Uint8Array & { escapes?: number };
  let argvBytes: Uint8Array = captured;
  const fullLen = rec.num.len ?? captured.length;
  const copied = Math.min(fullLen, ctx.argvCap ?? 128);
  // Cut by the kernel copy, or holding literal `\xNN` text: /proc/<pid>/cmdline is exact while the process lives.
  const ambiguous = argvAmbiguous(captured.length, captured.escapes ?? 0, copied);
  let cut = false;
  if (fullLen > captured.length || ambiguous) {
    const full = ctx.readCmdline(pid, nsToTicks(rec.num.st));
    if (full && full.length >= copied) argvBytes = full;
    else cut = fullLen > copied;
  }
  const parts = splitArgv(argvBytes);
  const throwaway: Record<string, string> = {};
  const args = parts.map((a) => decodeBytes('args', a, throwaway));
  if (cut) args.push(truncationMarker(fullLen));
  const body = argvBytes[argvBytes.length - 1] === 0 ? argvBytes.subarray(0, -1) : argvBytes;
  let commandLine = decodeBytes(
    'commandLine',
    Uint8Array.from(body, (b) => (b === 0 ? 0x20 : b)),
    raw
  );
  if (cut) commandLine += ' ' + truncationMarker(fullLen);
  return {
    type: 'process.start',
    timeNs: ctx.wallNs(rec.num.t),
    message: `process started: ${commandLine || executable}`,
    source: 'ebpf',
    pid,
    ppid: rec.num.ppid,
    uid: rec.num.uid,
    executable,
    processName: basename(executable),
    commandLine,
    args,
    processKey: recordKey(rec, ctx),
    parentProcessKey: recordKey(rec, ctx, 'ppid', 'pst'),
    ...cgroupScope(rec, ctx),
    ...(rec.num.mnt !== undefined && ctx.hostUserOf?.(rec.num.uid, rec.num.mnt) !== undefined
      ? { user: ctx.hostUserOf(rec.num.uid, rec.num.mnt) }
      : {}),
    ...(Object.keys(raw).length ? { rawBase64: JSON.stringify(raw) } : {}),
  };
}

/** Decode a wait status: exit code, or 128+signal with the signal as reason. */
export function waitStatus(code: number): { exitCode: number; reason?: string } {
  const sig = code & 0x7f;
  return sig === 0 ? { exitCode: (code >> 8) & 0xff } : { exitCode: 128 + sig, reason: `signal ${sig}` };
}

/** exit: process.exit with the exit code (or 128+signal). */
export function mapExit(rec: ProbeRecord, ctx: ProbeContext): NewEvent {
  const raw: Record<string, string> = {};
  const processName = decodeBytes('processName', rec.str.comm ?? new Uint8Array(), raw);
  const { exitCode, reason } = waitStatus(rec.num.code ?? 0);
  return {
    type: 'process.exit',
    timeNs: ctx.wallNs(rec.num.t),
    message: `process exited: ${processName} pid ${rec.num.pid} code ${exitCode}${reason ? ` (${reason})` : ''}`,
    source: 'ebpf',
    pid: rec.num.pid,
    processName,
    exitCode,
    processKey: recordKey(rec, ctx),
    ...cgroupScope(rec, ctx),
    ...(Object.keys(raw).length ? { rawBase64: JSON.stringify(raw) } : {}),
  };
}

const LISTEN = 10;
const CLOSE = 7;
const SYN_SENT = 2;

/** tcp: port.listen (-> LISTEN), port.close (LISTEN -> CLOSE), network.connect (CLOSE -> SYN_SENT). */
export function mapTcp(rec: ProbeRecord, ctx: ProbeContext): NewEvent | null {
  const { old, new: state, v, sport, dport, pid } = rec.num;
  const td = new TextDecoder();
  const saddr = td.decode(rec.str.saddr ?? new Uint8Array());
  const daddr = td.decode(rec.str.daddr ?? new Uint8Array());
  const common = {
    timeNs: ctx.wallNs(rec.num.t),
    source: 'ebpf',
    transport: 'tcp',
    networkType: v === 6 ? 'ipv6' : 'ipv4',
    pid,
    processKey: recordKey(rec, ctx),
    ...cgroupScope(rec, ctx),
  };
  const hostPort = (a: string, p: number) => (v === 6 ? `[${a}]:${p}` : `${a}:${p}`);
  if (state === LISTEN) {
    return {
      ...common,
      type: 'port.listen',
      message: `listening on tcp ${hostPort(saddr, sport)} (pid ${pid})`,
      listenAddress: saddr,
      listenPort: sport,
    };
  }
  if (old === LISTEN && state === CLOSE) {
    return {
      ...common,
      type: 'port.close',
      message: `stopped listening on tcp ${hostPort(saddr, sport)} (pid ${pid})`,
      listenAddress: saddr,
      listenPort: sport,
    };
  }
  if (old === CLOSE && state === SYN_SENT) {
    return {
      ...common,
      type: 'network.connect',
      message: `connect to tcp ${hostPort(daddr, dport)} (pid ${pid})`,
      destAddress: daddr,
      destPort: dport,
    };
  }
  return null;
}

registerProbeParser({ kind: 'exec', strings: ['argv', 'filename'], map: mapExec });
registerProbeParser({ kind: 'exit', strings: ['comm'], map: mapExit });
registerProbeParser({ kind: 'tcp', strings: ['saddr', 'daddr'], map: mapTcp });
