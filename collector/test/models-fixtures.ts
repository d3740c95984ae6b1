/**
 * Events for the runtime-model and audit tests, built the way the sources
 * build them: bpftrace records through the registered probe parsers, then the
 * scope the enricher adds. No kernel is mocked: pids are real processes where
 * a detector looks at /proc.
 */
import { makeEvent, msToNs, type CasefileEvent, type NewEvent } from '@casefile/schema';
import { mapExec, mapTcp } from '../src/sources/bpftrace/parsers';
import { mapSyscall } from '../src/sources/bpftrace/syscall-parsers';
import type { ProbeContext } from '../src/sources/bpftrace/parsers';

export const IMAGE = { imageName: 'shop/api:1', imageDigest: 'sha256:' + 'ab'.repeat(32) };
export const CONTAINER = {
  containerId: 'c0ffee'.padEnd(64, '0'),
  containerName: 'api',
  ...IMAGE,
  host: 'node-1',
};

/** A clock tests move by hand. */
export function clock(start = Date.UTC(2026, 10, 27, 12)) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function ctx(nowMs: number): ProbeContext {
  return { bootId: 'boot', wallNs: () => msToNs(nowMs), readCmdline: () => null };
}

/** A parent pid no process can have (above pid_max), so no /proc lookup finds one. */
const NO_PARENT = 4_999_999;

const enc = (s: string) => new TextEncoder().encode(s);

type Scope = Partial<CasefileEvent>;

/** process.start as the eBPF source emits it (argv NUL-separated, filename as exec'd). */
export function execEvent(
  nowMs: number,
  argv: string[],
  o: { pid?: number; ppid?: number; uid?: number; filename?: string; scope?: Scope } = {}
): CasefileEvent {
  const argvBytes = enc(argv.join('\0') + '\0');
  const pid = o.pid ?? 4242;
  const ev = mapExec(
    {
      kind: 'exec',
      num: {
        t: 1,
        pid,
        ppid: o.ppid ?? NO_PARENT,
        uid: o.uid ?? 0,
        st: pid * 1e7,
        pst: (o.ppid ?? NO_PARENT) * 1e7,
        len: argvBytes.length,
      },
      str: { argv: argvBytes, filename: enc(o.filename ?? argv[0]) },
    },
    ctx(nowMs)
  );
  return makeEvent({ ...ev, ...(o.scope ?? CONTAINER) } as NewEvent);
}

/** port.listen / network.connect as the eBPF source emits them. */
export function tcpEvent(
  nowMs: number,
  kind: 'listen' | 'connect',
  addr: string,
  port: number,
  o: { pid?: number; scope?: Scope } = {}
): CasefileEvent {
  const listen = kind === 'listen';
  const ev = mapTcp(
    {
      kind: 'tcp',
      num: {
        t: 1,
        pid: o.pid ?? 4242,
        st: 1e7,
        old: listen ? 7 : 7,
        new: listen ? 10 : 2,
        v: 4,
        sport: listen ? port : 40000,
        dport: listen ? 0 : port,
      },
      str: { saddr: enc(listen ? addr : '10.0.0.2'), daddr: enc(listen ? '0.0.0.0' : addr) },
    },
    ctx(nowMs)
  )!;
  return makeEvent({ ...ev, ...(o.scope ?? CONTAINER) } as NewEvent);
}

/** process.syscall as the syscall probes emit it (sc: 1 openat, 3 ptrace, 4 unshare, 5 setuid, 6 bpf, 7 symlinkat, 8 linkat). */
export function syscallEvent(
  nowMs: number,
  sc: number,
  o: { comm?: string; path?: string; a?: number; tp?: number; pid?: number; uid?: number; scope?: Scope } = {}
): CasefileEvent | null {
  const ev = mapSyscall(
    {
      kind: 'sys',
      num: { sc, t: 1, pid: o.pid ?? 4242, st: 1e7, uid: o.uid ?? 0, a: o.a ?? 0, tp: o.tp ?? 0 },
      str: { comm: enc((o.comm ?? 'cat').padEnd(16, '\0')), path: enc(o.path ?? '') },
    },
    ctx(nowMs)
  );
  return ev ? makeEvent({ ...ev, ...(o.scope ?? CONTAINER) } as NewEvent) : null;
}

/** Run events through a stage and collect what it emits. */
export function collect(
  stage: { process(e: CasefileEvent, emit: (e: CasefileEvent) => void): void },
  events: CasefileEvent[]
): CasefileEvent[] {
  const out: CasefileEvent[] = [];
  for (const e of events) stage.process(e, (x) => out.push(x));
  return out;
}

export const audits = (evs: CasefileEvent[]) => evs.filter((e) => e.type === 'runtime.audit');
