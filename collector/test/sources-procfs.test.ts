/**
 * procfs source: parsers against recorded /proc files, then the real /proc
 * (a listener in its own network namespace, as in a container).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import pino from 'pino';
import { makeEvent, type CasefileEvent, type NewEvent } from '@casefile/schema';
import { decodeHexAddress, parseNetTcp, parseStatusUid, ProcfsSource } from '../src/sources/procfs';
import { parseStat } from '../src/sources/process-identity';

const logger = pino({ level: 'silent' });
const fx = (n: string) => readFileSync(new URL(`./fixtures/procfs/${n}`, import.meta.url), 'utf8');

test('recorded /proc/net/tcp and tcp6: only listeners, addresses decoded', () => {
  const v4 = parseNetTcp(fx('net-tcp.txt'), 4);
  assert.equal(v4.length, 7);
  assert.deepEqual(
    v4.find((l) => l.inode === 1667),
    { address: '0.0.0.0', port: 2024, inode: 1667, v: 4 }
  );
  assert.deepEqual(
    v4.find((l) => l.inode === 87685),
    { address: '127.0.0.1', port: 0x9cd3, inode: 87685, v: 4 }
  );
  const v6 = parseNetTcp(fx('net-tcp6.txt'), 6);
  assert.deepEqual(v6, [
    { address: '::', port: 8089, inode: 88705, v: 6 },
    { address: '::', port: 8091, inode: 89278, v: 6 },
  ]);
  assert.equal(decodeHexAddress('0000000000000000FFFF00000100007F'), '::ffff:127.0.0.1');
  assert.equal(decodeHexAddress('00000000000000000000000001000000'), '::1');
  assert.equal(decodeHexAddress('B80D0120000000000000000001000000'), '2001:db8::1');
  assert.deepEqual(parseNetTcp('header only\n  0: garbage\n', 4), []);
});

test('recorded /proc/<pid>/stat with a hostile comm (spaces, parentheses)', () => {
  const s = parseStat(fx('stat-hostile-comm.txt'));
  assert.deepEqual(s, { comm: 'a) b (c', state: 'S', ppid: 6513, startTicks: 719527 });
  assert.equal(parseStat('garbage'), null);
  assert.equal(parseStatusUid('Name:\tx\nUid:\t1000\t1000\t1000\t1000\n'), 1000);
});

test('procfs steps aside when eBPF is active', async () => {
  const a = await new ProcfsSource(1000, logger, async () => true).available();
  assert.equal(a.ok, false);
  assert.match((a as { reason: string }).reason, /eBPF is active/);
});

test(
  'real /proc: new process with key and argv, a listener in another network namespace, exits, missed estimate',
  { timeout: 60_000 },
  async (t) => {
    const events: CasefileEvent[] = [];
    const emit = (e: NewEvent | CasefileEvent) => events.push(makeEvent(e as NewEvent));
    const src = new ProcfsSource(1000, logger);
    assert.ok((await src.available()).ok);
    src.poll(emit, true);
    assert.equal(
      events.filter((e) => e.type === 'process.start').length,
      0,
      'the baseline poll reports no existing processes'
    );

    const marker = `procfs-${process.pid}`;
    const sleeper = spawn('/bin/sh', ['-c', 'exec sleep 30', marker], { stdio: 'ignore' });
    const root = process.getuid?.() === 0;
    const port = 30000 + (process.pid % 20000);
    // In its own network namespace, like a container: only /proc/<pid>/net of that namespace shows it.
    const nc = root
      ? spawn('/usr/bin/unshare', ['-n', '/bin/busybox', 'nc', '-l', '-p', String(port)], { stdio: 'ignore' })
      : undefined;
    try {
      const deadline = Date.now() + 20_000;
      const seen = () =>
        events.some((e) => e.type === 'process.start' && e.pid === sleeper.pid) &&
        (!nc || events.some((e) => e.type === 'port.listen' && e.listenPort === port));
      while (!seen() && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        src.poll(emit, false);
      }
      const start = events.find((e) => e.type === 'process.start' && e.pid === sleeper.pid)!;
      assert.ok(start, 'new process seen');
      assert.match(start.processKey!, /^[0-9a-f-]{36}:\d+:\d+$/);
      assert.equal(start.ppid, process.pid);
      assert.equal(start.uid, process.getuid?.());
      if (nc) {
        const l = events.find((e) => e.type === 'port.listen' && e.listenPort === port)!;
        assert.ok(l, 'listener in another network namespace found');
        assert.equal(l.pid, nc.pid, 'socket inode mapped to the owning pid (unshare execs nc in place)');
      } else t.diagnostic('not root: the network-namespace listener part is skipped');

      // 50 short processes between two polls: most are missed, and the estimate says so.
      const before = src.stats().missed_pids_estimate;
      for (let i = 0; i < 50; i++) execFileSync('/bin/true');
      src.poll(emit, false);
      assert.ok(
        src.stats().missed_pids_estimate - before >= 45,
        `missed estimate grew by ${src.stats().missed_pids_estimate - before}`
      );

      sleeper.kill('SIGKILL');
      nc?.kill('SIGKILL');
      const gone = () =>
        events.some((e) => e.type === 'process.exit' && e.pid === sleeper.pid) &&
        (!nc || events.some((e) => e.type === 'port.close' && e.listenPort === port));
      while (!gone() && Date.now() < deadline + 10_000) {
        await new Promise((r) => setTimeout(r, 100));
        src.poll(emit, false);
      }
      assert.ok(
        events.find((e) => e.type === 'process.exit' && e.pid === sleeper.pid)?.processKey ===
          start.processKey,
        'exit carries the same key'
      );
      if (nc)
        assert.ok(
          events.some((e) => e.type === 'port.close' && e.listenPort === port),
          'listener close seen'
        );
    } finally {
      sleeper.kill('SIGKILL');
      nc?.kill('SIGKILL');
      await src.stop();
    }
  }
);
