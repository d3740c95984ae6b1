/**
 * Parser registry for probe records, keyed by the record's `kind`. Adding a
 * probe is a fragment in probes/ (one printf per event, see record.ts) plus a
 * {@link registerProbeParser} call; the built-in kinds are exec, exit, tcp,
 * fork (lineage only: it feeds the process table and emits nothing).
 */
import { decodeBytes, truncationMarker, type NewEvent } from '@casefile/schema';
import { nsToTicks, processKey } from '../process-identity';
import { argvAmbiguous, type ProbeRecord } from './record';
import type { ProcessIdentity, ProcessTable } from './process-table';
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
   * The container of a process whose record's cgroup id is unknown (or absent), from
   * /proc/<pid>/cgroup once per process; null on the host, undefined when gone.
   */
  containerOfProcess?(p: {
    pid: number;
    ppid?: number;
    processKey?: string;
  }): CgroupContainer | null | undefined;
  /**
   * uid -> user name for a process in mount namespace `mntNs` (inode), when
   * that is the host's; undefined otherwise (the enricher resolves container users).
   */
  hostUserOf?(uid: number, mntNs: number): string | undefined;
  /** Lineage: identities from forks and execs (see process-table.ts). Without it events carry the kernel's parent only. */
  processes?: ProcessTable;
  /** CLOCK_MONOTONIC ns (a record's `t`) -> CLOCK_BOOTTIME ns (a start_boottime), to match forks to the processes they made. */
  bootNs?(monoNs: number): number;
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
 * record is handled, so even a process gone by then maps to its container;
 * an id that maps to nothing known is placed through /proc. This is the
 * event's scope: the enricher does not resolve it again.
 */
export function cgroupScope(
  rec: ProbeRecord,
  ctx: ProbeContext
): { containerId?: string; containerRuntime?: string; podUid?: string } {
  let c = rec.num.cg !== undefined ? ctx.containerOfCgroup?.(rec.num.cg) : undefined;
  if (c === undefined && rec.num.pid !== undefined)
    c = ctx.containerOfProcess?.({ pid: rec.num.pid, ppid: rec.num.ppid, processKey: recordKey(rec, ctx) });
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

/** exec: process.start with pid, ppid, uid, path, argv, both process keys and, with a process table, lineage. */
export function mapExec(rec: ProbeRecord, ctx: ProbeContext): NewEvent {
  return execEvents(rec, ctx).start;
}

function execEvents(rec: ProbeRecord, ctx: ProbeContext): { start: NewEvent; entered?: ProcessIdentity } {
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
  const key = recordKey(rec, ctx);
  const kernelParent = recordKey(rec, ctx, 'ppid', 'pst');
  const scope = cgroupScope(rec, ctx);
  const lineage =
    key && ctx.processes
      ? ctx.processes.exec(key, pid, kernelParent, executable, args, commandLine, scope.containerId)
      : undefined;
  const parent = lineage?.parent;
  const user = rec.num.mnt !== undefined ? ctx.hostUserOf?.(rec.num.uid, rec.num.mnt) : undefined;
  const start: NewEvent = {
    type: 'process.start',
    timeNs: ctx.wallNs(rec.num.t),
    message: `process started: ${commandLine || executable}`,
    source: 'ebpf',
    pid,
    ppid: parent?.pid ?? rec.num.ppid,
    uid: rec.num.uid,
    executable,
    processName: basename(executable),
    commandLine,
    args,
    processKey: key,
    parentProcessKey: lineage?.self.parentKey ?? kernelParent,
    ...(parent && parent.executable !== '?'
      ? { parentExecutable: parent.executable, parentCommandLine: parent.commandLine || undefined }
      : {}),
    ...(lineage?.self.entry ? { processEntry: lineage.self.entry } : {}),
    ...ancestryOf(key, ctx),
    ...scope,
    ...(user !== undefined ? { user } : {}),
    ...(Object.keys(raw).length ? { rawBase64: JSON.stringify(raw) } : {}),
  };
  return { start, entered: lineage?.entered ? lineage.self : undefined };
}

/** exec as registered: the process.start, and a container.exec when the runtime's exec just started it. */
export function mapExecRecord(rec: ProbeRecord, ctx: ProbeContext): NewEvent | NewEvent[] {
  const { start, entered } = execEvents(rec, ctx);
  return entered?.entry === 'runtime_exec' ? [start, containerExec(start, entered, ctx)] : start;
}

/** `processAncestry` of a process key, when it has ancestors in the table. */
function ancestryOf(key: string | undefined, ctx: ProbeContext): { processAncestry?: string[] } {
  const a = ctx.processes?.ancestry(key);
  return a?.length ? { processAncestry: a } : {};
}

/**
 * The forensic fact of an operator's exec into a container: what ran, the
 * runtime command that started it (`runc exec ...`) and who asked for it.
 */
function containerExec(start: NewEvent, self: ProcessIdentity, ctx: ProbeContext): NewEvent {
  const runtime = ctx.processes!.runtimeCommandOf(self.parentKey);
  const operator = ctx.processes!.operatorOf(runtime?.key);
  // Secrets in it (and in the message quoting it) are masked by the redact stage.
  const operatorCommandLine = operator?.commandLine || undefined;
  const cid = start.containerId!.slice(0, 12);
  return {
    type: 'container.exec',
    timeNs: start.timeNs,
    message: `exec into container ${cid}: ${start.commandLine || start.executable}${operatorCommandLine ? ` (by ${operatorCommandLine})` : ''}`,
    source: 'ebpf',
    containerId: start.containerId,
    containerRuntime: start.containerRuntime,
    podUid: start.podUid,
    pid: start.pid,
    processKey: start.processKey,
    executable: start.executable,
    commandLine: start.commandLine,
    args: start.args,
    uid: start.uid,
    ...(runtime
      ? {
          parentProcessKey: runtime.key,
          parentExecutable: runtime.executable,
          parentCommandLine: runtime.commandLine || undefined,
        }
      : {}),
    ...(operator ? { operatorProcessKey: operator.key, operatorCommandLine } : {}),
  };
}

/** fork: the creator of a new pid, remembered in the process table (no event). */
export function mapFork(rec: ProbeRecord, ctx: ProbeContext): null {
  const creator = recordKey(rec, ctx);
  if (ctx.processes && creator && rec.num.cpid !== undefined)
    ctx.processes.fork(rec.num.cpid, creator, ctx.bootNs ? ctx.bootNs(rec.num.t) : rec.num.t);
  return null;
}

/** Executable and ancestry of an event's process from the table (tcp and syscall records carry neither). */
export function identityFields(
  key: string | undefined,
  ctx: ProbeContext
): { executable?: string; processAncestry?: string[] } {
  const id = ctx.processes?.get(key);
  if (!id) return {};
  return { ...(id.executable !== '?' ? { executable: id.executable } : {}), ...ancestryOf(key, ctx) };
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
  const key = recordKey(rec, ctx);
  const exe = ctx.processes?.get(key)?.executable;
  ctx.processes?.exit(key, Number(BigInt(ctx.wallNs(rec.num.t)) / 1_000_000n));
  return {
    type: 'process.exit',
    timeNs: ctx.wallNs(rec.num.t),
    message: `process exited: ${processName} pid ${rec.num.pid} code ${exitCode}${reason ? ` (${reason})` : ''}`,
    source: 'ebpf',
    pid: rec.num.pid,
    processName,
    ...(exe && exe !== '?' ? { executable: exe } : {}),
    exitCode,
    processKey: key,
    ...cgroupScope(rec, ctx),
    ...(Object.keys(raw).length ? { rawBase64: JSON.stringify(raw) } : {}),
  };
}

/** One decoder for every record (a decoder per record was a visible cost at high rates). */
const addressDecoder = new TextDecoder();

const LISTEN = 10;
const CLOSE = 7;
const SYN_SENT = 2;

/** tcp: port.listen (-> LISTEN), port.close (LISTEN -> CLOSE), network.connect (CLOSE -> SYN_SENT). */
export function mapTcp(rec: ProbeRecord, ctx: ProbeContext): NewEvent | null {
  const { old, new: state, v, sport, dport, pid } = rec.num;
  const saddr = addressDecoder.decode(rec.str.saddr ?? new Uint8Array());
  const daddr = addressDecoder.decode(rec.str.daddr ?? new Uint8Array());
  const common = {
    timeNs: ctx.wallNs(rec.num.t),
    source: 'ebpf',
    transport: 'tcp',
    networkType: v === 6 ? 'ipv6' : 'ipv4',
    pid,
    processKey: recordKey(rec, ctx),
    ...identityFields(recordKey(rec, ctx), ctx),
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

registerProbeParser({ kind: 'exec', strings: ['argv', 'filename'], map: mapExecRecord });
registerProbeParser({ kind: 'exit', strings: ['comm'], map: mapExit });
registerProbeParser({ kind: 'tcp', strings: ['saddr', 'daddr'], map: mapTcp });
registerProbeParser({ kind: 'fork', strings: [], map: mapFork });
