/**
 * eBPF source: the record parser against recorded bpftrace output (hostile
 * argv, names and exit codes; malformed lines), then the real kernel.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import pino from 'pino';
import { makeEvent, type CasefileEvent, type NewEvent } from '@casefile/schema';
import { EbpfSource } from '../src/sources/ebpf';
import { type ProbeContext } from '../src/sources/bpftrace/parsers';
import { ProcessTable } from '../src/sources/bpftrace/process-table';
import { ReorderBuffer } from '../src/sources/bpftrace/reorder';
import { parseBpftraceLine, repairBpftraceJson, unescapeR } from '../src/sources/bpftrace/record';
import { bootId, readStat } from '../src/sources/process-identity';

const logger = pino({ level: 'silent' });
const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/bpftrace/${name}`, import.meta.url), 'latin1')
    .split('\n')
    .filter(Boolean);
const ctx: ProbeContext = {
  bootId: 'B',
  wallNs: (t) => String(1_700_000_000_000_000_000 + t),
  readCmdline: () => null,
};

function replay(
  name: string,
  c: ProbeContext = ctx
): { events: CasefileEvent[]; stats: Record<string, number> } {
  const src = new EbpfSource(logger);
  const events: CasefileEvent[] = [];
  const emit = (e: NewEvent | CasefileEvent) => events.push(makeEvent(e as NewEvent));
  for (const line of fixture(name)) src.handleLine(line, c, emit);
  return { events, stats: src.stats() };
}

test('recorded bpftrace output: hostile argv, names and exit codes map exactly', () => {
  const { events, stats } = replay('hostile.jsonl');
  assert.equal(stats.malformed, 0);
  const byPid = (pid: number, type: string) => events.find((e) => e.pid === pid && e.type === type)!;

  const echo = byPid(4028, 'process.start');
  assert.deepEqual(echo.args?.slice(0, 6), [
    '/bin/echo',
    'q"uote',
    'new\nline',
    '\x1b[31mansi\x1b[0m',
    'inv\\xff\\xfeutf8',
    'sep\x1fsep',
  ]);
  assert.equal(echo.ppid, 3975);
  assert.equal(echo.uid, 0);
  assert.equal(echo.processKey, 'B:4028:697892');
  assert.equal(echo.parentProcessKey, 'B:3975:697391');
  assert.equal(echo.timeNs, String(1_700_000_000_000_000_000 + 6978923734295));
  // Invalid UTF-8 is escaped visibly and kept as base64.
  assert.equal(
    Buffer.from(JSON.parse(echo.rawBase64!).commandLine, 'base64').includes(Buffer.from([0xff, 0xfe])),
    true
  );
  // The last arg was literal text `back\slash\x00`: ambiguous with a NUL, and the process is gone, so the copy is kept as it decodes.
  assert.deepEqual(
    echo.args?.slice(6),
    ['back\\slash', ''],
    'no truncation marker: the kernel copy was complete'
  );

  const long = byPid(4032, 'process.start');
  assert.equal(
    long.args?.at(-1),
    '…[truncated, 311 bytes]',
    'argv longer than the kernel copy, process gone: marked'
  );
  assert.match(long.commandLine!, /…\[truncated, 311 bytes\]$/);

  const evil = byPid(4033, 'process.start');
  assert.equal(evil.executable, '/tmp/hx/ev\x1fil\nna"me\\xff');
  assert.deepEqual(
    [...Buffer.from(JSON.parse(evil.rawBase64!).executable, 'base64')].slice(-3),
    [0x6d, 0x65, 0xff]
  );
  assert.equal(byPid(4033, 'process.exit').exitCode, 127);
  assert.equal(byPid(4033, 'process.exit').processName, 'ev\x1fil\nna"me\\xff');
  assert.equal(byPid(4034, 'process.exit').exitCode, 7);
  assert.equal(byPid(4035, 'process.exit').exitCode, 137);
  assert.equal(byPid(4035, 'process.exit').processKey, byPid(4035, 'process.start').processKey);

  const listen = byPid(4037, 'port.listen');
  assert.deepEqual(
    [listen.listenAddress, listen.listenPort, listen.networkType, listen.transport],
    ['::', 9998, 'ipv6', 'tcp']
  );
  assert.equal(byPid(4037, 'port.close').listenPort, 9998);
  const c4 = byPid(4060, 'network.connect');
  assert.deepEqual([c4.destAddress, c4.destPort, c4.networkType], ['127.0.0.1', 9, 'ipv4']);
  const c6 = byPid(4061, 'network.connect');
  assert.deepEqual([c6.destAddress, c6.destPort, c6.networkType], ['::1', 9, 'ipv6']);
});

test('a cut or ambiguous argv is completed from /proc/<pid>/cmdline when the process lives', () => {
  const full = Buffer.concat([
    Buffer.from('/bin/echo\0q"uote\0new\nline\0\x1b[31mansi\x1b[0m\0inv'),
    Buffer.from([0xff, 0xfe]),
    Buffer.from('utf8\0sep\x1fsep\0back\\slash\\x00\0'),
  ]);
  assert.equal(full.length, 73, 'the recorded process had 73 bytes of argv');
  const { events } = replay('hostile.jsonl', { ...ctx, readCmdline: (pid) => (pid === 4028 ? full : null) });
  assert.equal(events.find((e) => e.pid === 4028)!.args?.at(-1), 'back\\slash\\x00');
});

test('malformed lines are counted, lost events become a stat, nothing throws', () => {
  const { events, stats } = replay('malformed.jsonl');
  assert.equal(stats.lost_events, 17);
  assert.equal(
    stats.malformed,
    4,
    'not JSON, non-numeric head, record without its declared strings, data not a string'
  );
  assert.equal(stats.unknown_kind, 1);
  assert.equal(events.length, 0);
});

test('record helpers: sign-extended escapes repaired, %r undone', () => {
  assert.equal(repairBpftraceJson('"a\\uffffffff\\\\uffffffff"'), '"a\\u00ff\\\\uffffffff"');
  assert.deepEqual([...unescapeR('a\\x00b\\')], [0x61, 0, 0x62, 0x5c]);
  assert.equal(parseBpftraceLine('{"type": "lost_events", "data": {"events": 3}}').type, 'lost');
});

/** One bpftrace -f json line as the probes print it (argv NUL-separated, %r-escaped). */
function line(kind: string, num: Record<string, number>, strings: string[] = []): string {
  const head = JSON.stringify({ kind, ...num });
  const data = [head, ...strings].join('\x1f') + '\n';
  return JSON.stringify({ type: 'printf', data });
}
const argvR = (argv: string[]) => argv.map((a) => a.replace(/\\/g, '\\\\')).join('\\x00') + '\\x00';
/** Process start times: pid * 1 s, so keys are B:<pid>:<pid*100>. */
const st = (pid: number) => pid * 1e9;
const key = (pid: number) => `B:${pid}:${pid * 100}`;
const CG_HOST = 1;
const CG_CTR = 1070;
const CID = 'c0ffee'.padEnd(64, '0');

/**
 * A `podman exec` as the probes report it (pids, order and parents as seen
 * on this machine with podman 4.3 + runc 1.1): podman starts conmon, which
 * daemonizes (its child is reparented to pid 1) and starts `runc exec`; runc
 * re-execs itself as `runc init`, whose nsexec child (CLONE_PARENT: its
 * kernel parent is `runc exec`) execs the command in the container. The
 * command is `sh -c '/bin/true & /bin/date'`: date replaces the shell in
 * place, and true is exec'd after the shell has gone, by a child the kernel
 * has reparented to the container's init (4637).
 */
function podmanExecLines(): string[] {
  const exec = (pid: number, ppid: number, cg: number, argv: string[], file = argv[0]) =>
    line('exec', { t: st(pid) + 5e6, cg, pid, ppid, uid: 0, st: st(pid), pst: st(ppid), len: 1, mnt: 1 }, [
      argvR(argv),
      file,
    ]);
  const fork = (parent: number, child: number) =>
    line('fork', { t: st(child), pid: parent, st: st(parent), cpid: child });
  const exit = (pid: number) =>
    line('exit', { t: st(pid) + 9e8, cg: CG_HOST, pid, st: st(pid), code: 0 }, ['x']);
  return [
    exec(
      4683,
      4000,
      CG_HOST,
      ['podman', 'exec', 'svc', '/bin/sh', '-c', '/bin/true & /bin/date'],
      '/usr/bin/podman'
    ),
    fork(4683, 4692),
    exec(4692, 4683, CG_HOST, ['/usr/bin/conmon', '--exec', '-c', CID]),
    fork(4692, 4694),
    exit(4692),
    fork(4694, 4695),
    exec(4695, 4694, CG_HOST, [
      '/usr/bin/runc',
      '--root',
      '/run/runc',
      'exec',
      '--process',
      '/tmp/p.json',
      CID,
    ]),
    fork(4695, 4700),
    exec(4700, 4695, CG_HOST, ['runc', 'init'], '/proc/self/exe'),
    exec(4700, 4695, CG_HOST, ['runc', 'init'], '/dev/fd/5'),
    fork(4700, 4703),
    fork(4703, 4704),
    exec(4704, 4695, CG_CTR, ['/bin/sh', '-c', '/bin/true & /bin/date']),
    fork(4704, 4709),
    exec(4704, 4695, CG_CTR, ['/bin/date']),
    exit(4704),
    exec(4709, 4637, CG_CTR, ['/bin/true']),
  ];
}

test('lineage: a podman exec is marked as the runtime exec, says who asked, and forks keep their true parent', () => {
  const table = new ProcessTable();
  // The container's init and the podman CLI's parent were running before: seeded from /proc.
  table.seed({ key: key(4000), pid: 4000, executable: '/bin/bash', commandLine: 'bash', args: ['bash'] });
  table.seed({
    key: key(4637),
    pid: 4637,
    executable: '/bin/sh',
    commandLine: '/bin/sh -c while true; do /bin/sleep 1; done',
    args: ['/bin/sh'],
    containerId: CID,
  });
  const c: ProbeContext = {
    ...ctx,
    processes: table,
    bootNs: (t) => t,
    containerOfCgroup: (id) => (id === CG_CTR ? { containerId: CID, runtime: 'podman' } : null),
  };
  const src = new EbpfSource(logger);
  const events: CasefileEvent[] = [];
  for (const l of podmanExecLines()) src.handleLine(l, c, (e) => events.push(makeEvent(e as NewEvent)));
  const start = (exe: string) => events.find((e) => e.type === 'process.start' && e.executable === exe)!;

  const sh = start('/bin/sh');
  assert.equal(sh.processEntry, 'runtime_exec');
  assert.equal(sh.processKey, key(4704));
  assert.equal(
    sh.parentProcessKey,
    key(4703),
    'created by runc init (CLONE_PARENT made runc exec its kernel parent)'
  );
  assert.equal(sh.processAncestry, undefined, 'the entry is the end of its chain');

  const execs = events.filter((e) => e.type === 'container.exec');
  assert.equal(execs.length, 1, 'one container.exec: the exec in place of date enters nothing new');
  const x = execs[0];
  assert.equal(x.containerId, CID);
  assert.equal(x.commandLine, '/bin/sh -c /bin/true & /bin/date');
  assert.equal(x.parentProcessKey, key(4695));
  assert.match(x.parentCommandLine!, /^\/usr\/bin\/runc --root \/run\/runc exec /);
  assert.equal(x.operatorProcessKey, key(4683), 'podman exec, above the daemonized conmon');
  assert.match(x.operatorCommandLine!, /^podman exec svc/);

  const date = start('/bin/date');
  assert.equal(date.processKey, key(4704), 'exec in place keeps the process');
  assert.equal(date.processEntry, 'runtime_exec');

  const tru = start('/bin/true');
  assert.equal(tru.parentProcessKey, key(4704), 'its creator, not the init the kernel reparented it to');
  assert.equal(tru.ppid, 4704);
  assert.equal(tru.parentExecutable, '/bin/sh', 'the parent as it was when it forked the child');
  assert.equal(tru.parentCommandLine, '/bin/sh -c /bin/true & /bin/date');
  assert.deepEqual(tru.processAncestry, [key(4704)]);
  assert.equal(tru.processEntry, undefined);
  assert.equal(table.get(key(4704))?.exitedMs !== undefined, true, 'the gone parent is still resolvable');

  // runc's own processes are not container entries, and the container's init is one.
  assert.equal(start('/dev/fd/5').processEntry, undefined);
});

test('lineage: records of other CPUs arriving late still mark the runtime exec, and fill in the forked identities', () => {
  const lines = podmanExecLines();
  // runc init's exec and its nsexec forks are read after the command's own exec.
  const late = lines.filter((l) => /"pid":4700,/.test(l) || /"pid":4703,/.test(l));
  const table = new ProcessTable();
  const c: ProbeContext = {
    ...ctx,
    processes: table,
    bootNs: (t) => t,
    containerOfCgroup: (id) => (id === CG_CTR ? { containerId: CID, runtime: 'podman' } : null),
  };
  const src = new EbpfSource(logger);
  const events: CasefileEvent[] = [];
  for (const l of [...lines.filter((l) => !late.includes(l)), ...late])
    src.handleLine(l, c, (e) => events.push(makeEvent(e as NewEvent)));
  const sh = events.find((e) => e.type === 'process.start' && e.executable === '/bin/sh')!;
  assert.equal(sh.processEntry, 'runtime_exec', 'runc exec is the kernel parent (CLONE_PARENT)');
  assert.equal(events.filter((e) => e.type === 'container.exec').length, 1);
  assert.equal(
    table.get(key(4703))?.executable,
    '/dev/fd/5',
    'the nsexec child is runc init once its records came'
  );
});

test('records of different CPUs are released in kernel order, none held longer than the hold time', () => {
  const out: string[] = [];
  const b = new ReorderBuffer((l) => out.push(l), 50e6, 50);
  const rec = (t: number) => line('exec', { t, pid: t });
  b.push(rec(2e6), 0); // CPU 1's exec read first
  b.push(rec(1e6), 0); // CPU 0's fork of it
  b.push('{"type": "attached_probes", "data": {"probes": 20}}', 0);
  b.flush(0);
  assert.deepEqual(out, ['{"type": "attached_probes", "data": {"probes": 20}}'], 'held: nothing newer yet');
  b.push(rec(80e6), 10);
  b.flush(10);
  assert.deepEqual(out.slice(1), [rec(1e6), rec(2e6)], 'released sorted once a newer record came');
  b.flush(60);
  assert.deepEqual(out.slice(3), [rec(80e6)], 'released by the hold time on a quiet system');
  assert.equal(b.size, 0);
});

test('lineage: the container init is marked; exited processes expire after the retention', () => {
  const table = new ProcessTable({ retainMs: 1000 });
  const c: ProbeContext = {
    ...ctx,
    processes: table,
    bootNs: (t) => t,
    containerOfCgroup: (id) => (id === CG_CTR ? { containerId: CID, runtime: 'podman' } : null),
  };
  const exec = (pid: number, ppid: number, cg: number, argv: string[], file = argv[0]) =>
    line('exec', { t: st(pid), cg, pid, ppid, uid: 0, st: st(pid), pst: st(ppid), len: 1 }, [
      argvR(argv),
      file,
    ]);
  const src = new EbpfSource(logger);
  const events: CasefileEvent[] = [];
  const emit = (e: NewEvent | CasefileEvent) => events.push(makeEvent(e as NewEvent));
  for (const l of [
    exec(5000, 1, CG_HOST, ['/usr/bin/conmon', '-c', CID]),
    line('fork', { t: st(5001), pid: 5000, st: st(5000), cpid: 5001 }),
    exec(5001, 5000, CG_HOST, ['/usr/bin/runc', 'create', '--bundle', '/b', CID]),
    line('fork', { t: st(5002), pid: 5001, st: st(5001), cpid: 5002 }),
    exec(5002, 5001, CG_HOST, ['runc', 'init'], '/dev/fd/6'),
    line('fork', { t: st(5003), pid: 5002, st: st(5002), cpid: 5003 }),
    exec(5003, 5000, CG_CTR, ['/bin/sh', '-c', 'sleep 1']),
    line('fork', { t: st(5004), pid: 5003, st: st(5003), cpid: 5004 }),
    exec(5004, 5003, CG_CTR, ['/bin/sleep', '1']),
  ])
    src.handleLine(l, c, emit);
  const init = events.find((e) => e.type === 'process.start' && e.executable === '/bin/sh')!;
  assert.equal(init.processEntry, 'container_init');
  assert.equal(events.filter((e) => e.type === 'container.exec').length, 0);
  const sleep = events.find((e) => e.type === 'process.start' && e.executable === '/bin/sleep')!;
  assert.deepEqual(sleep.processAncestry, [key(5003)], 'up to the init, not into the runtime');
  // While the init lives, another entry is a runtime exec even when the runtime's argv was cut before its subcommand.
  for (const l of [
    exec(5100, 1, CG_HOST, ['/usr/bin/runc', '--log-format=json', '--log', '…[truncated, 740 bytes]']),
    line('fork', { t: st(5101), pid: 5100, st: st(5100), cpid: 5101 }),
    exec(5101, 5100, CG_CTR, ['/bin/ls']),
  ])
    src.handleLine(l, c, emit);
  const ls = events.find((e) => e.type === 'process.start' && e.executable === '/bin/ls')!;
  assert.equal(ls.processEntry, 'runtime_exec');
  table.exit(key(5003), 0);
  assert.ok(table.get(key(5003)), 'kept after its exit');
  table.exit(key(5004), 2000);
  assert.equal(table.get(key(5003)), undefined, 'forgotten after the retention');
});

const skipReason =
  process.getuid?.() !== 0
    ? 'needs root to load BPF programs'
    : !existsSync('/usr/bin/bpftrace')
      ? 'bpftrace is not installed'
      : undefined;

test(
  'real kernel: hostile exec, 1 MB argv, listen and connect are seen',
  { skip: skipReason, timeout: 120_000 },
  async () => {
    const src = new EbpfSource(logger);
    const avail = await src.available();
    assert.ok(avail.ok, `eBPF should be available as root: ${JSON.stringify(avail)}`);
    const events: CasefileEvent[] = [];
    await src.start((e) => events.push(makeEvent(e as NewEvent)));
    try {
      const marker = `cf${process.pid}${Date.now()}`;
      // Hostile argv: quotes, newline, ANSI, invalid UTF-8 (built by printf in the shell: JS strings cannot hold it).
      execFileSync(
        '/bin/sh',
        [
          '-c',
          `exec /bin/echo "${marker}" 'q"x' "$(printf 'a\\nb')" "$(printf '\\033[31m')" "$(printf 'in\\377v')"`,
        ],
        { stdio: 'ignore' }
      );
      // 1 MB argv (8 x 128 KiB): the process lives for a moment, so /proc completes the kernel copy.
      const big = Array.from({ length: 8 }, (_, i) => String(i).repeat(128 * 1024 - 1));
      const bigChild = spawn('/bin/sh', ['-c', 'sleep 1', `${marker}big`, ...big], { stdio: 'ignore' });
      // A listener and a connect.
      const port = 20000 + (process.pid % 20000);
      const nc = spawn('/bin/busybox', ['nc', '-l', '-p', String(port)], { stdio: 'ignore' });
      const deadline = Date.now() + 30_000;
      const find = (f: (e: CasefileEvent) => boolean) => events.find(f);
      while (!find((e) => e.type === 'port.listen' && e.listenPort === port) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      execFileSync('/bin/busybox', ['nc', '-w', '1', '127.0.0.1', String(port)], {
        input: 'hi\n',
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      await new Promise<void>((r) => bigChild.once('exit', () => r()));
      nc.kill();
      const want = {
        echo: (e: CasefileEvent) => e.type === 'process.start' && e.args?.[1] === marker,
        big: (e: CasefileEvent) =>
          e.type === 'process.start' && e.args?.[2] === 'sleep 1' && e.args?.[3] === `${marker}big`,
        connect: (e: CasefileEvent) => e.type === 'network.connect' && e.destPort === port,
        listen: (e: CasefileEvent) => e.type === 'port.listen' && e.listenPort === port,
      };
      while (Object.values(want).some((f) => !find(f)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const echo = find(want.echo);
      assert.ok(echo, 'hostile exec seen');
      assert.deepEqual(echo.args, ['/bin/echo', marker, 'q"x', 'a\nb', '\x1b[31m', 'in\\xffv']);
      assert.equal(echo.executable, '/bin/echo');
      assert.equal(echo.uid, 0);
      const big1 = find(want.big);
      assert.ok(big1, '1 MB argv exec seen');
      assert.ok(big1.truncated?.includes('commandLine:'), 'oversized command line cut with the marker');
      assert.match(big1.commandLine!, /…\[truncated, \d+ bytes\]$/);
      assert.ok(
        Number(/truncated, (\d+) bytes/.exec(big1.commandLine!)![1]) > 1_000_000,
        'the full 1 MB was read from /proc'
      );
      // The parent is this node process: its key must match /proc/self/stat.
      assert.equal(big1.parentProcessKey, `${bootId()}:${process.pid}:${readStat(process.pid)!.startTicks}`);
      assert.ok(find(want.listen)?.pid === nc.pid, 'listen attributed to the nc pid');
      assert.ok(find(want.connect)?.destAddress === '127.0.0.1');
      assert.equal(src.stats().malformed, 0);
    } finally {
      await src.stop();
    }
  }
);
