/**
 * Following a real file as logrotate and rsyslog treat it: a file that appears
 * late, rename rotation with writes to the renamed file, copytruncate (with the
 * lines only the copy holds, and a file that grew back past the old position
 * between two polls), lines written in parts; and /healthz while the file is
 * missing. Polls are driven by hand so each case happens exactly between two reads.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { makeEvent, type CasefileEvent, type NewEvent } from '@casefile/schema';
import { Collector } from '../src/pipeline/collector';
import { HostSource } from '../src/sources/host';
import { FileFollower } from '../src/sources/host/file-follower';
import { testConfig, until } from './helpers';

const NEVER = 3_600_000; // no timer-driven polls: the test calls poll()

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-follow-'));
  const path = join(dir, 'auth.log');
  const lines: string[] = [];
  const f = new FileFollower(path, (l) => lines.push(l), { pollMs: NEVER, graceMs: 0 });
  return { dir, path, lines, f, done: () => rmSync(dir, { recursive: true, force: true }) };
}

const L = (i: number) => `2026-12-01T10:00:00.${String(i).padStart(6, '0')}+00:00 h sudo: line ${i}`;
const block = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => L(from + k) + '\n').join('');
const numbers = (lines: string[]) => lines.map((l) => Number(/line (\d+)$/.exec(l)![1]));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

test('a file that exists at start is read from its end; one that appears later from its start', () => {
  const a = setup();
  try {
    writeFileSync(a.path, block(0, 3));
    a.f.start();
    appendFileSync(a.path, block(3, 5));
    a.f.poll();
    assert.deepEqual(numbers(a.lines), [3, 4]);
  } finally {
    a.f.stop();
    a.done();
  }
  const b = setup();
  try {
    b.f.start();
    assert.ok(b.f.missingSince !== undefined, 'missing is reported');
    b.f.poll();
    writeFileSync(b.path, block(0, 2));
    b.f.poll();
    assert.equal(b.f.missingSince, undefined);
    assert.deepEqual(numbers(b.lines), [0, 1]);
  } finally {
    b.f.stop();
    b.done();
  }
});

test('rename rotation: lines before the rename, in the renamed file after it, and in the new file are each read once', () => {
  const t = setup();
  try {
    writeFileSync(t.path, '');
    t.f.start();
    appendFileSync(t.path, block(0, 2));
    t.f.poll();
    appendFileSync(t.path, block(2, 4)); // written just before the rename, not read yet
    renameSync(t.path, t.path + '.1');
    appendFileSync(t.path + '.1', block(4, 6)); // the writer has not reopened yet
    t.f.poll(); // path missing: keeps reading the renamed file
    appendFileSync(t.path + '.1', block(6, 7));
    writeFileSync(t.path, block(7, 9)); // reopened (HUP): new file
    t.f.poll();
    appendFileSync(t.path, L(9).slice(0, 30));
    t.f.poll();
    appendFileSync(t.path, L(9).slice(30) + '\n'); // a line written in two parts is one line
    t.f.poll();
    assert.deepEqual(numbers(t.lines), range(0, 10));
    assert.equal(t.f.stats.rotations, 1);
  } finally {
    t.f.stop();
    t.done();
  }
});

test('copytruncate: lines only in the copy are read from it; a file that grew back past the old position is noticed', () => {
  const t = setup();
  try {
    writeFileSync(t.path, '');
    t.f.start();
    appendFileSync(t.path, block(0, 3));
    t.f.poll();
    appendFileSync(t.path, block(3, 5)); // not read before the copy
    copyFileSync(t.path, t.path + '.1');
    truncateSync(t.path, 0);
    appendFileSync(t.path, block(5, 20)); // grows past the old position before the next poll
    t.f.poll();
    assert.deepEqual(numbers(t.lines), range(0, 20));
    assert.equal(t.f.stats.truncations, 1);
    assert.equal(t.f.stats.recoveredLines, 2);
    // a plain truncation with no copy: nothing to recover, the new content is read from the start
    truncateSync(t.path, 0);
    appendFileSync(t.path, block(20, 22));
    t.f.poll();
    assert.deepEqual(numbers(t.lines), range(0, 22));
    assert.equal(t.f.stats.truncations, 2);
  } finally {
    t.f.stop();
    t.done();
  }
});

test('HostSource: started before the auth log exists, it is blind (and says so) until the file appears, then reads all of it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-host-late-'));
  const path = join(dir, 'auth.log');
  const src = new HostSource(pino({ level: 'silent' }), { authLog: path, pollMs: 20 });
  const events: CasefileEvent[] = [];
  try {
    assert.deepEqual(await src.available(), { ok: true });
    await src.start((e) => events.push(makeEvent(e as NewEvent)));
    assert.match(src.blind() ?? '', /waiting for an auth log/);
    assert.equal(src.stats().blind, 1);
    writeFileSync(
      path,
      '2026-12-01T10:00:00.000001+00:00 h sshd[5]: Accepted password for a from 10.0.0.1 port 7 ssh2\n'
    );
    const deadline = Date.now() + 5000;
    while (events.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      events.map((e) => [e.activity, e.loginUser, e.timeNs]),
      [['ssh_login', 'a', '1796119200000001000']]
    );
    assert.equal(src.blind(), undefined);
    assert.deepEqual([src.stats().events, src.stats().blind], [1, 0]);
  } finally {
    await src.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('/healthz is degraded, and the start-up line a warning, while the host source waits for its auth log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-host-health-'));
  const path = join(dir, 'auth.log');
  let stderr = '';
  const log = pino({ level: 'info' }, { write: (s: string) => (stderr += s) });
  const collector = new Collector(testConfig(['--stdout']), log, {
    stdout: new PassThrough().resume(),
    sources: [
      new HostSource(log, { authLog: path, pollMs: 20 }),
      {
        name: 'ebpf',
        available: async () => ({ ok: false, reason: 'bpftrace not found' }),
        start: async () => {},
        stop: async () => {},
      },
    ],
  });
  try {
    await collector.start();
    const health = async () =>
      (await (await fetch(`http://${collector.address}/healthz`)).json()) as {
        status: string;
        sources: Record<string, string>;
      };
    const blind = await health();
    assert.equal(blind.status, 'degraded');
    assert.match(blind.sources.host, /^inactive: waiting for an auth log \(.*auth\.log\) to appear$/);
    assert.match(stderr, /"level":40[^\n]*"msg":"auth log does not exist yet/);
    assert.match(stderr, /"level":40[^\n]*"inactive":\{"ebpf":"bpftrace not found"\}[^\n]*"msg":"sources"/);
    writeFileSync(path, '');
    await until(
      'the host source to see the file',
      async () => (await health()).status === 'ok' || undefined,
      5000,
      20
    );
    assert.equal((await health()).sources.host, 'active');
  } finally {
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resume after a restart: from the saved position, a half-written line read whole, a rotation while stopped', () => {
  const t = setup();
  try {
    writeFileSync(t.path, '');
    t.f.start();
    appendFileSync(t.path, block(0, 3) + L(3).slice(0, 20));
    const at = t.f.stop()!;
    assert.deepEqual(numbers(t.lines), [0, 1, 2], 'the half-written line is not handed out at stop');
    appendFileSync(t.path, L(3).slice(20) + '\n' + block(4, 6));
    const again = new FileFollower(t.path, (l) => t.lines.push(l), { pollMs: NEVER, resume: at });
    again.start();
    again.poll();
    const at2 = again.stop()!;
    assert.deepEqual(numbers(t.lines), range(0, 6));
    // stopped, then the file is renamed away and a new one started
    appendFileSync(t.path, block(6, 8));
    renameSync(t.path, t.path + '.1');
    writeFileSync(t.path, block(8, 10));
    const third = new FileFollower(t.path, (l) => t.lines.push(l), { pollMs: NEVER, resume: at2 });
    third.start();
    third.poll();
    third.stop();
    assert.deepEqual(numbers(t.lines), range(0, 10));
  } finally {
    t.done();
  }
});

test('HostSource with a state dir: a restarted source reports what was logged while it was down, once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-host-resume-'));
  const path = join(dir, 'auth.log');
  const line = (i: number) =>
    `2026-12-01T10:00:0${i}.000001+00:00 h sshd[${100 + i}]: Accepted password for u${i} from 10.0.0.1 port ${i} ssh2\n`;
  const users: string[] = [];
  const run = async (write: () => void) => {
    const src = new HostSource(pino({ level: 'silent' }), { authLog: path, stateDir: dir, pollMs: 10 });
    await src.available();
    await src.start((e) => users.push((e as NewEvent).loginUser!));
    write();
    await new Promise((r) => setTimeout(r, 100));
    await src.stop();
  };
  try {
    writeFileSync(path, line(0)); // there before the first start: not reported
    await run(() => appendFileSync(path, line(1)));
    appendFileSync(path, line(2)); // while no collector runs
    await run(() => appendFileSync(path, line(3)));
    assert.deepEqual(users, ['u1', 'u2', 'u3']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
