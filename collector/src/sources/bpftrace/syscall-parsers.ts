/**
 * Parser for the runtime-audit syscall probes (probes/syscalls.bt, record kind
 * "sys"): one process.syscall event per call that matters. The probes filter
 * by path prefix in the kernel; the exact path check happens here (the audit
 * rules' own, known-bad.ts fileRule), so a read of /etc/ssh/ssh_config, a
 * process's own environ or the deletion of a rotated log is dropped.
 *
 * @example {"kind":"sys","sc":1,"pid":7,"a":0,...}\x1fcat\x00...\x1f/etc/shadow
 *   // => { type: 'process.syscall', syscall: 'openat', filePath: '/etc/shadow', syscallArg: 'O_RDONLY', processName: 'cat', pid: 7, ... }
 */
import type { NewEvent } from '@casefile/schema';
import { fileOpOf, fileRule, isSensitivePath } from '../../audit/known-bad';
import { cgroupScope, identityFields, recordKey, registerProbeParser, type ProbeContext } from './parsers';
import type { ProbeRecord } from './record';

const SYSCALLS: Record<number, string> = {
  1: 'openat',
  3: 'ptrace',
  4: 'unshare',
  5: 'setuid',
  6: 'bpf',
  7: 'symlinkat',
  8: 'linkat',
  9: 'unlink',
  10: 'truncate',
  11: 'mount',
  12: 'connect',
};
const MOUNT_FLAGS: [number, string][] = [
  [1, 'MS_RDONLY'],
  [0x1000, 'MS_BIND'],
  [0x2000, 'MS_MOVE'],
  [0x4000, 'MS_REC'],
  [0x20, 'MS_REMOUNT'],
];
const PTRACE: Record<number, string> = {
  4: 'PTRACE_POKETEXT',
  5: 'PTRACE_POKEDATA',
  6: 'PTRACE_POKEUSER',
  13: 'PTRACE_SETREGS',
  16: 'PTRACE_ATTACH',
  0x4206: 'PTRACE_SEIZE',
};
const CLONE_FLAGS: [number, string][] = [
  [0x00020000, 'CLONE_NEWNS'],
  [0x02000000, 'CLONE_NEWCGROUP'],
  [0x04000000, 'CLONE_NEWUTS'],
  [0x08000000, 'CLONE_NEWIPC'],
  [0x10000000, 'CLONE_NEWUSER'],
  [0x20000000, 'CLONE_NEWPID'],
  [0x40000000, 'CLONE_NEWNET'],
  [0x00000080, 'CLONE_NEWTIME'],
];

/** Open flags as names: access mode plus the flags that mean writing. @example openFlags(0o1101) // => 'O_WRONLY|O_CREAT|O_TRUNC' */
export function openFlags(f: number): string {
  const out = [['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_ACCMODE'][f & 3]];
  if (f & 0o100) out.push('O_CREAT');
  if (f & 0o1000) out.push('O_TRUNC');
  if (f & 0o2000) out.push('O_APPEND');
  return out.join('|');
}

function decodeArg(sc: string, a: number): string {
  switch (sc) {
    case 'openat':
      return openFlags(a);
    case 'ptrace':
      return PTRACE[a] ?? String(a);
    case 'unshare':
      return (
        CLONE_FLAGS.filter(([bit]) => a & bit)
          .map(([, n]) => n)
          .join('|') || `0x${a.toString(16)}`
      );
    case 'bpf':
      return a === 5 ? 'BPF_PROG_LOAD' : String(a);
    case 'mount':
      return (
        MOUNT_FLAGS.filter(([bit]) => a & bit)
          .map(([, n]) => n)
          .join('|') || '0'
      );
    default:
      return String(a);
  }
}

export function mapSyscall(rec: ProbeRecord, ctx: ProbeContext): NewEvent | null {
  const syscall = SYSCALLS[rec.num.sc];
  if (!syscall) return null;
  const pid = rec.num.pid;
  const path = rec.str.path && rec.str.path.length ? Buffer.from(rec.str.path).toString('utf8') : undefined;
  const syscallArg = decodeArg(syscall, rec.num.a ?? 0);
  const op = fileOpOf(syscall, syscallArg);
  if (op && (!path || !fileRule(path, pid, op))) return null;
  if ((syscall === 'symlinkat' || syscall === 'linkat') && (!path || !isSensitivePath(path))) return null;
  const key = recordKey(rec, ctx);
  const scope = cgroupScope(rec, ctx);
  // The runtime mounts a container's filesystems, and the host's own tools mount and talk to the runtime: not news.
  const onHost = rec.num.cg !== undefined && ctx.containerOfCgroup?.(rec.num.cg) === null;
  if (syscall === 'mount' && (onHost || ctx.processes?.get(key)?.runtime)) return null;
  if (op === 'connect' && onHost) return null;
  const comm = rec.str.comm ? Buffer.from(rec.str.comm).toString('utf8').replace(/\0.*$/s, '') : undefined;
  const targetPid = syscall === 'ptrace' ? rec.num.tp : undefined;
  return {
    type: 'process.syscall',
    timeNs: ctx.wallNs(rec.num.t),
    message: `${syscall}(${[path, syscallArg, targetPid === undefined ? undefined : `pid ${targetPid}`].filter(Boolean).join(', ')}) by pid ${pid}`,
    source: 'ebpf',
    pid,
    uid: rec.num.uid,
    processName: comm || undefined,
    processKey: key,
    ...identityFields(key, ctx),
    ...scope,
    syscall,
    syscallArg,
    filePath: path,
    targetPid,
  };
}

registerProbeParser({ kind: 'sys', strings: ['comm', 'path'], map: mapSyscall });
