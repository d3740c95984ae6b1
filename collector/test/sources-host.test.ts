/**
 * Host activity source: auth log lines (RFC 3339 and classic syslog time),
 * journald entries, and following a real file through rotation.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { makeEvent, nsToMs, type CasefileEvent, type NewEvent } from '@casefile/schema';
import { HostSource, mapAuthLine, mapJournalEntry } from '../src/sources/host';

const logger = pino({ level: 'silent' });
const lines = readFileSync(new URL('./fixtures/authlog/auth.log', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean);

test('auth log lines: ssh accepted/failed/invalid, sudo (with failed attempts); noise ignored', () => {
  const now = new Date('2026-11-28T00:00:00Z');
  const evs = lines
    .map((l) => mapAuthLine(l, now))
    .filter((e): e is NewEvent => e !== null)
    .map(makeEvent);
  assert.deepEqual(
    evs.map((e) => [e.type, e.activity, e.loginUser]),
    [
      ['host.login', 'ssh_login', 'alice'],
      ['host.login', 'ssh_failed', 'admin'],
      ['host.login', 'ssh_failed', 'root'],
      ['host.login', 'ssh_failed', '"x;rm'],
      ['host.activity', 'sudo', 'alice'],
      ['host.activity', 'sudo', 'bob'],
      ['host.login', 'ssh_login', 'carol'],
    ]
  );
  const [accepted] = evs;
  assert.equal(accepted.sourceAddress, '10.0.0.5');
  assert.equal(accepted.sourcePort, 50022);
  assert.equal(accepted.authMethod, 'publickey');
  assert.equal(accepted.pid, 2201);
  assert.equal(accepted.timeNs, '1795813201123000000');
  const sudo = evs[4];
  assert.equal(sudo.targetUser, 'root');
  assert.equal(sudo.commandLine, '/usr/bin/apt-get install -y netcat-openbsd');
  assert.equal(sudo.cwd, '/home/alice');
  assert.match(evs[5].message, /3 incorrect password attempts/);
  assert.equal(evs[6].sourceAddress, '2001:db8::7');
  assert.equal(new Date(nsToMs(evs[6].timeNs)).getMonth(), 10, 'classic syslog time: this year, November');
});

test('journald entries (MESSAGE as text or bytes)', () => {
  const e = mapJournalEntry({
    SYSLOG_IDENTIFIER: 'sshd',
    _PID: '77',
    MESSAGE: 'Accepted publickey for dave from 10.1.1.1 port 1 ssh2',
    __REALTIME_TIMESTAMP: '1795813201123456',
  });
  assert.equal(e?.loginUser, 'dave');
  assert.equal(e?.timeNs, '1795813201123456000');
  assert.equal(e?.pid, 77);
  const bytes = [...Buffer.from('Failed password for eve from 10.1.1.2 port 2 ssh2')];
  assert.equal(mapJournalEntry({ SYSLOG_IDENTIFIER: 'sshd', MESSAGE: bytes })?.activity, 'ssh_failed');
  assert.equal(mapJournalEntry({ SYSLOG_IDENTIFIER: 'systemd', MESSAGE: 'Started x' }), null);
});

test('a real auth log file is followed from its end and through rotation', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-authlog-'));
  const path = join(dir, 'auth.log');
  writeFileSync(path, lines[0] + '\n'); // already there at start: not reported
  const src = new HostSource(logger, path, 50);
  const events: CasefileEvent[] = [];
  try {
    assert.deepEqual(await src.available(), { ok: true });
    await src.start((e) => events.push(makeEvent(e as NewEvent)));
    const until = async (n: number) => {
      const deadline = Date.now() + 10_000;
      while (events.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    };
    appendFileSync(path, lines[2] + '\n' + lines[5].slice(0, 40));
    await until(1);
    appendFileSync(path, lines[5].slice(40) + '\n'); // a line written in two parts is one line
    await until(2);
    renameSync(path, path + '.1');
    writeFileSync(path, lines[8] + '\n');
    await until(3);
    assert.deepEqual(
      events.map((e) => e.activity),
      ['ssh_failed', 'sudo', 'ssh_login']
    );
    assert.equal(src.stats().rotations, 1);
  } finally {
    await src.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an auth log that does not exist is reported, not crashed on', async () => {
  const a = await new HostSource(logger, '/nonexistent/auth.log').available();
  assert.equal(a.ok, false);
});
