/**
 * Host source, line by line: every auth.log line shape recorded from Debian's
 * own sshd, sudo, su and runuser (fixtures/host/, recorded by
 * test/host/record-fixtures.ts) in both rsyslog file formats, journald
 * entries, and the exec classifier's privilege tools.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { makeEvent, type CasefileEvent, type NewEvent } from '@casefile/schema';
import { classifyExec, hostActivityFor, targetUserOf } from '../src/enrich/classify';
import { mapAuthLine, mapJournalEntry } from '../src/sources/host';
import { AuthEventMapper } from '../src/sources/host/auth-events';
import { parseSyslogLine } from '../src/sources/host/syslog';

process.env.TZ = 'UTC'; // the traditional fixture was written by an rsyslogd running in UTC

const fixture = (name: string) => new URL(`./fixtures/host/${name}`, import.meta.url);
const facts = JSON.parse(readFileSync(fixture('facts.json'), 'utf8')) as {
  keyLoginPort: number;
  passwordLoginPort: number;
  terminalLoginPort: number;
  invalidUser: string;
  userKeyFingerprint: string;
  user: string;
  other: string;
};

function eventsOf(file: string): CasefileEvent[] {
  const mapper = new AuthEventMapper();
  return readFileSync(fixture(file), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => mapAuthLine(l, mapper, new Date('2026-12-01T12:00:00Z')))
    .filter((e): e is NewEvent => e !== null)
    .map(makeEvent);
}

/** The fields that matter, without id, time, message and source. */
function facts_(e: CasefileEvent): Record<string, unknown> {
  const { id: _id, timeNs: _t, message: _m, source: _s, ...rest } = e;
  return rest;
}

test('recorded auth.log (RFC 3339): each fact is one event with its fields; noise and repeats of an attempt are not events', () => {
  const { user, other, invalidUser: nobody } = facts;
  const evs = eventsOf('auth.log');
  const got = evs.map(facts_).map(({ pid: _p, sessionId: _sid, ...f }) => f);
  const loopback = { sourceAddress: '127.0.0.1' };
  const tty1 = { tty: 'pts/1', cwd: `/home/${user}` };
  assert.deepEqual(got, [
    // key login and its logout (one event each; PAM session and Disconnected lines are the same facts)
    {
      type: 'host.login',
      activity: 'ssh_login',
      loginUser: user,
      userExists: true,
      authMethod: 'publickey',
      authKey: `ED25519 ${facts.userKeyFingerprint}`,
      ...loopback,
      sourcePort: facts.keyLoginPort,
    },
    {
      type: 'host.login',
      activity: 'ssh_logout',
      loginUser: user,
      ...loopback,
      sourcePort: facts.keyLoginPort,
    },
    // a rejected key leaves only the pre-auth close
    {
      type: 'host.login',
      activity: 'ssh_failed',
      loginUser: user,
      userExists: true,
      ...loopback,
      sourcePort: got[2].sourcePort,
      reason: 'connection closed before authentication',
    },
    // an invalid user with a key: `Invalid user` and the close are one attempt
    {
      type: 'host.login',
      activity: 'ssh_failed',
      loginUser: nobody,
      userExists: false,
      ...loopback,
      sourcePort: got[3].sourcePort,
      reason: 'connection closed before authentication',
    },
    // seven keys: the error and the Disconnecting line are one attempt
    {
      type: 'host.login',
      activity: 'ssh_failed',
      loginUser: user,
      userExists: true,
      ...loopback,
      sourcePort: got[4].sourcePort,
      reason: 'maximum authentication attempts exceeded',
    },
    {
      type: 'host.login',
      activity: 'ssh_login',
      loginUser: user,
      userExists: true,
      authMethod: 'password',
      ...loopback,
      sourcePort: facts.passwordLoginPort,
    },
    {
      type: 'host.login',
      activity: 'ssh_logout',
      loginUser: user,
      ...loopback,
      sourcePort: facts.passwordLoginPort,
    },
    // two wrong passwords: two events (the PAM failure, the close and `PAM 1 more` add nothing)
    ...[0, 1].map(() => ({
      type: 'host.login',
      activity: 'ssh_failed',
      loginUser: user,
      userExists: true,
      ...loopback,
      sourcePort: got[7].sourcePort,
      authMethod: 'password',
    })),
    // an invalid user with a password: one event, not two
    {
      type: 'host.login',
      activity: 'ssh_failed',
      loginUser: nobody,
      userExists: false,
      ...loopback,
      sourcePort: got[9].sourcePort,
      authMethod: 'password',
    },
    {
      type: 'host.login',
      activity: 'ssh_login',
      loginUser: user,
      userExists: true,
      authMethod: 'publickey',
      authKey: `ED25519 ${facts.userKeyFingerprint}`,
      ...loopback,
      sourcePort: facts.terminalLoginPort,
    },
    {
      type: 'host.activity',
      activity: 'sudo',
      outcome: 'granted',
      loginUser: user,
      targetUser: 'root',
      commandLine: '/usr/bin/id',
      ...tty1,
    },
    { type: 'host.activity', activity: 'session_close', pamService: 'sudo', targetUser: 'root' },
    {
      type: 'host.activity',
      activity: 'auth_failure',
      pamService: 'sudo',
      loginUser: user,
      targetUser: user,
      uid: 1001,
      tty: 'pts/1',
      outcome: 'denied',
    },
    {
      type: 'host.activity',
      activity: 'sudo',
      outcome: 'denied',
      reason: '3 incorrect password attempts',
      loginUser: user,
      targetUser: 'root',
      commandLine: '/usr/bin/whoami',
      ...tty1,
    },
    {
      type: 'host.activity',
      activity: 'auth_failure',
      pamService: 'sudo',
      loginUser: user,
      targetUser: user,
      uid: 1001,
      tty: 'pts/1',
      outcome: 'denied',
    },
    {
      type: 'host.activity',
      activity: 'sudo',
      outcome: 'denied',
      reason: 'command not allowed',
      loginUser: user,
      targetUser: 'root',
      commandLine: '/usr/bin/cat /etc/shadow',
      ...tty1,
    },
    {
      type: 'host.activity',
      activity: 'sudo',
      outcome: 'granted',
      loginUser: user,
      targetUser: 'root',
      commandLine: '/usr/bin/whoami',
      ...tty1,
    },
    { type: 'host.activity', activity: 'session_close', pamService: 'sudo', targetUser: 'root' },
    // su with the other user's password, then a wrong one (its PAM failure is the same attempt)
    {
      type: 'host.activity',
      activity: 'su',
      outcome: 'granted',
      loginUser: user,
      targetUser: other,
      tty: 'pts/1',
    },
    {
      type: 'host.activity',
      activity: 'session_close',
      pamService: 'su',
      targetUser: other,
      loginUser: user,
    },
    {
      type: 'host.activity',
      activity: 'su',
      outcome: 'denied',
      reason: 'authentication failure',
      loginUser: user,
      targetUser: other,
      tty: 'pts/1',
    },
    {
      type: 'host.login',
      activity: 'ssh_logout',
      loginUser: user,
      ...loopback,
      sourcePort: facts.terminalLoginPort,
    },
    // root: su, su -, runuser
    {
      type: 'host.activity',
      activity: 'su',
      outcome: 'granted',
      loginUser: 'root',
      targetUser: user,
      tty: 'pts/0',
    },
    {
      type: 'host.activity',
      activity: 'session_close',
      pamService: 'su',
      targetUser: user,
      loginUser: 'root',
    },
    {
      type: 'host.activity',
      activity: 'su',
      outcome: 'granted',
      loginUser: 'root',
      targetUser: other,
      tty: 'pts/0',
    },
    {
      type: 'host.activity',
      activity: 'session_close',
      pamService: 'su-l',
      targetUser: other,
      loginUser: 'root',
    },
    { type: 'host.activity', activity: 'session_open', pamService: 'runuser', targetUser: other, uid: 0 },
    { type: 'host.activity', activity: 'session_close', pamService: 'runuser', targetUser: other },
  ]);
  // a login and its logout share the session (sshd's pid for the connection); su carries its pid, Debian's sudo none
  const sessions = evs.filter((e) => e.activity === 'ssh_login' || e.activity === 'ssh_logout');
  for (let i = 0; i < sessions.length; i += 2) {
    assert.ok(sessions[i].sessionId && sessions[i].sessionId === sessions[i + 1].sessionId);
    assert.equal(String(sessions[i].pid), sessions[i].sessionId);
  }
  assert.ok(evs.filter((e) => e.activity === 'su').every((e) => Number.isInteger(e.pid)));
  assert.ok(evs.every((e) => e.source === 'authlog'));
  assert.match(
    evs[0].message,
    new RegExp(`ssh login: ${user} from 127\\.0\\.0\\.1 port ${facts.keyLoginPort}`)
  );
});

test('traditional syslog lines give the same events, at whole seconds; RFC 3339 keeps microseconds', () => {
  const rfc = eventsOf('auth.log');
  const trad = eventsOf('auth-traditional.log');
  assert.deepEqual(trad.map(facts_), rfc.map(facts_));
  rfc.forEach((e, i) => {
    assert.equal(BigInt(trad[i].timeNs), (BigInt(e.timeNs) / 1_000_000_000n) * 1_000_000_000n);
  });
  assert.ok(rfc.every((e) => BigInt(e.timeNs) % 1000n === 0n));
  assert.ok(
    rfc.some((e) => BigInt(e.timeNs) % 1_000_000n !== 0n),
    'sub-millisecond digits are kept'
  );
});

test('syslog times: fraction digits as given, zones, the year of a traditional line', () => {
  assert.equal(
    parseSyslogLine('2026-11-27T21:00:01.123456789+00:00 h sshd[1]: x')?.timeNs,
    '1795813201123456789'
  );
  assert.equal(parseSyslogLine('2026-11-27T22:00:01.5+01:00 h sshd[1]: x')?.timeNs, '1795813201500000000');
  assert.equal(parseSyslogLine('2026-11-27T21:00:01Z h sudo: x')?.timeNs, '1795813201000000000');
  // read on Jan 1: a Dec 31 line is last year's
  const dec = parseSyslogLine('Dec 31 23:59:59 h su[3]: x', new Date('2027-01-01T00:00:05Z'));
  assert.equal(dec?.timeNs, String(Date.parse('2026-12-31T23:59:59Z') * 1e6));
  assert.deepEqual(parseSyslogLine('Nov  7 01:02:03 h CRON[9]: y', new Date('2026-12-01T00:00:00Z')), {
    timeNs: String(Date.parse('2026-11-07T01:02:03Z') * 1e6),
    program: 'CRON',
    pid: 9,
    text: 'y',
  });
  assert.equal(parseSyslogLine('Foo 31 23:59:59 h su[3]: x'), null);
  assert.equal(parseSyslogLine('not a syslog line at all'), null);
});

test('shapes not in the recording: IPv6, odd user names, sudo with a pid and options, sshd-session, sudo reasons', () => {
  const m = new AuthEventMapper();
  const map = (prog: string, pid: number | undefined, text: string) => m.map(prog, pid, text);
  assert.deepEqual(
    [map('sshd', 7, 'Accepted password for carol from 2001:db8::7 port 2222 ssh2')].map((e) => [
      e?.sourceAddress,
      e?.sourcePort,
      e?.authMethod,
      e?.authKey,
    ]),
    [['2001:db8::7', 2222, 'password', undefined]]
  );
  assert.equal(map('sshd', 8, 'Invalid user x y from 198.51.100.7 port 5555'), null);
  const inv = map('sshd', 8, 'Failed password for invalid user x y from 198.51.100.7 port 5555 ssh2');
  assert.deepEqual([inv?.loginUser, inv?.userExists], ['x y', false]);
  assert.equal(
    map('sshd', 8, 'Connection closed by invalid user x y 198.51.100.7 port 5555 [preauth]'),
    null
  );
  const empty = map('sshd', 9, 'Failed none for invalid user  from 10.0.0.9 port 1 ssh2');
  assert.equal(empty?.loginUser, '(empty)');
  // OpenSSH 9.8+ logs from sshd-session
  assert.equal(
    map('sshd-session', 10, 'Accepted publickey for d from 10.0.0.1 port 3 ssh2: RSA SHA256:k')?.authKey,
    'RSA SHA256:k'
  );
  const sudo = map(
    'sudo',
    4242,
    'alice : user NOT in sudoers ; TTY=pts/3 ; PWD=/tmp ; USER=root ; GROUP=adm ; ENV=A=1 ; COMMAND=/bin/sh -c echo ; id'
  );
  assert.deepEqual(
    [sudo?.pid, sudo?.outcome, sudo?.reason, sudo?.commandLine, sudo?.cwd, sudo?.tty],
    [4242, 'denied', 'user NOT in sudoers', '/bin/sh -c echo ; id', '/tmp', 'pts/3']
  );
  assert.equal(
    map('sudo', undefined, 'bob : TTY=unknown ; PWD=/ ; USER=www-data ; COMMAND=/usr/bin/id')?.tty,
    undefined
  );
  assert.equal(map('sudo', undefined, 'unable to resolve host x: Name or service not known'), null);
  // PAM authentication failure of a service that does not log the attempt itself (console login)
  const login = map(
    'login',
    99,
    'pam_unix(login:auth): authentication failure; logname=LOGIN uid=0 euid=0 tty=/dev/tty1 ruser= rhost=  user=root'
  );
  assert.deepEqual(
    [login?.activity, login?.loginUser, login?.targetUser, login?.tty],
    ['auth_failure', 'LOGIN', 'root', 'tty1']
  );
  const cron = map('CRON', 5, 'pam_unix(cron:session): session opened for user root(uid=0) by root(uid=0)');
  assert.deepEqual(
    [cron?.activity, cron?.pamService, cron?.loginUser, cron?.targetUser],
    ['session_open', 'cron', 'root', 'root']
  );
});

test('journald entries: MESSAGE as text or bytes, _PID joins sudo to its process, microsecond time', () => {
  const m = new AuthEventMapper('journald');
  const e = mapJournalEntry(
    {
      SYSLOG_IDENTIFIER: 'sudo',
      _PID: '4711',
      MESSAGE: 'alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id',
      __REALTIME_TIMESTAMP: '1795813201123456',
    },
    m
  );
  assert.deepEqual(
    [e?.pid, e?.timeNs, e?.source, e?.outcome],
    [4711, '1795813201123456000', 'journald', 'granted']
  );
  const bytes = [...Buffer.from('Failed password for eve from 10.1.1.2 port 2 ssh2')];
  assert.equal(
    mapJournalEntry({ SYSLOG_IDENTIFIER: 'sshd', _PID: '5', MESSAGE: bytes }, m)?.activity,
    'ssh_failed'
  );
  assert.equal(mapJournalEntry({ SYSLOG_IDENTIFIER: 'systemd', MESSAGE: 'Started x' }, m), null);
});

test('exec classifier: sudo, su, doas, pkexec, runuser with the user they run as', () => {
  const cases: [string, string[], string, string][] = [
    ['/usr/bin/sudo', ['sudo', 'id'], 'sudo', 'root'],
    ['/usr/bin/sudo', ['sudo', '-u', 'www-data', 'id'], 'sudo', 'www-data'],
    ['/usr/bin/sudo', ['sudo', '--user=pg', '-i'], 'sudo', 'pg'],
    ['/usr/bin/sudo', ['sudo', '-upg', 'psql'], 'sudo', 'pg'],
    ['/usr/bin/sudo', ['sudo', '-D', '/tmp', 'ls', '-u', 'x'], 'sudo', 'root'],
    ['/usr/bin/su', ['su'], 'su', 'root'],
    ['/usr/bin/su', ['su', '-', 'alice'], 'su', 'alice'],
    ['/bin/su', ['su', '-c', 'id', 'bob'], 'su', 'bob'],
    ['/usr/bin/su', ['su', '-s', '/bin/sh', '-l', 'carol', '-c', 'x'], 'su', 'carol'],
    ['/usr/bin/doas', ['doas', '-u', 'dave', 'vi'], 'doas', 'dave'],
    ['/usr/bin/pkexec', ['pkexec', '--user', 'erin', 'id'], 'pkexec', 'erin'],
    ['/usr/bin/pkexec', ['pkexec', 'id'], 'pkexec', 'root'],
    ['/usr/sbin/runuser', ['runuser', '-u', 'frank', '--', 'id'], 'runuser', 'frank'],
    ['/usr/sbin/runuser', ['runuser', '-l', 'gina', '-c', 'id'], 'runuser', 'gina'],
  ];
  for (const [exe, args, activity, target] of cases) {
    assert.equal(classifyExec(exe, args), activity, args.join(' '));
    assert.equal(targetUserOf(activity as 'sudo', args), target, args.join(' '));
  }
  const act = hostActivityFor(
    makeEvent({
      type: 'process.start',
      message: 'x',
      pid: 321,
      executable: '/usr/bin/sudo',
      args: ['sudo', '-u', 'www-data', 'id'],
      commandLine: 'sudo -u www-data id',
      uid: 1000,
      user: 'alice',
      source: 'ebpf',
    })
  );
  assert.deepEqual(
    [act?.type, act?.activity, act?.pid, act?.targetUser, act?.user, act?.source],
    ['host.activity', 'sudo', 321, 'www-data', 'alice', 'ebpf']
  );
});
