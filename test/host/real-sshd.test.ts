/**
 * The host source against the real thing: Debian's sshd on a loopback port,
 * rsyslogd started by the test writing a temp auth log (RFC 3339 and
 * traditional formats), sudo with a test user and rules, su with and without a
 * password, runuser. The collector's host sources start before the log files
 * exist; while sudo-format lines flow through rsyslog, the logs are rotated by
 * rename + HUP, then by copytruncate. Every line the log files hold at the end
 * must have become exactly one event (or none, for noise), with the right
 * fields: nothing missed, nothing doubled.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, renameSync, truncateSync } from 'node:fs';
import { test } from 'node:test';
import pino from 'pino';
import { makeEvent, type CasefileEvent, type NewEvent } from '@casefile/schema';
import { until } from '../../collector/test/helpers';
import { HostSource, mapAuthLine } from '../../collector/src/sources/host';
import { AuthEventMapper } from '../../collector/src/sources/host/auth-events';
import { AuthLab, authLabUnavailable } from './auth-lab';
import { runScenarios } from './scenarios';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What identifies an event's content (not its id); the time only to the second (the traditional format's precision). */
function signature(e: CasefileEvent): string {
  const { id: _id, message: _m, timeNs, ...rest } = e;
  return JSON.stringify({ ...rest, s: timeNs.slice(0, -9) });
}

function counts(keys: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

/** The events a fresh mapper makes of these files' lines, read in order: what the follower must have emitted. */
function expectedFrom(files: string[]): CasefileEvent[] {
  const mapper = new AuthEventMapper();
  return files
    .filter((f) => existsSync(f))
    .flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean))
    .map((l) => mapAuthLine(l, mapper))
    .filter((e): e is NewEvent => e !== null)
    .map(makeEvent);
}

test(
  'real sshd, sudo and su through rsyslog: a late log file, rename and copytruncate rotations, every line one event',
  { timeout: 300_000 },
  async (t) => {
    const unavailable = authLabUnavailable();
    assert.equal(unavailable, null, `the real-sshd test cannot run here: ${unavailable}`);
    const lab = new AuthLab();
    const sources: { src: HostSource; path: string; events: CasefileEvent[] }[] = [];
    try {
      lab.prepare();
      // started before rsyslogd exists, so before the files do
      for (const path of [lab.authLog, lab.traditionalLog]) {
        const src = new HostSource(logger, { authLog: path, pollMs: 50, graceMs: 3000 });
        const events: CasefileEvent[] = [];
        assert.deepEqual(await src.available(), { ok: true });
        await src.start((e) => events.push(makeEvent(e as NewEvent)));
        assert.match(src.blind() ?? '', /waiting for an auth log/);
        sources.push({ src, path, events });
      }
      const [rfc, trad] = sources;
      await lab.start();
      const facts = await runScenarios(lab);
      await until(
        'the scenario events',
        () => rfc.events.some((e) => e.pamService === 'runuser') || undefined,
        10_000,
        50
      );
      for (const s of sources) assert.equal(s.src.blind(), undefined, 'the late file was picked up');

      // lines flow (sudo format, one per 2 ms) through both rotations, and a real login in between
      const [cmd, ...args] = lab.inLab(['logger', '-t', 'sudo', '-p', 'authpriv.notice']);
      const flow = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'inherit'] });
      let sent = 0;
      const timer = setInterval(() => {
        flow.stdin.write(`flow : TTY=pts/9 ; PWD=/ ; USER=root ; COMMAND=/bin/echo ${sent++}\n`);
      }, 2);
      await sleep(400);
      for (const s of sources) renameSync(s.path, `${s.path}.1`);
      await sleep(200); // rsyslogd still writes to the renamed files
      lab.hup();
      await sleep(300);
      const during = lab.sshKey(lab.user.name, [lab.userKey], 'true');
      assert.equal(during.code, 0, during.out);
      await sleep(300);
      for (const s of sources) {
        copyFileSync(s.path, `${s.path}.2`);
        truncateSync(s.path, 0);
      }
      await sleep(400);
      clearInterval(timer);
      flow.stdin.end();
      await new Promise((r) => flow.once('exit', r));

      const filesOf = (path: string) => [`${path}.1`, `${path}.2`, path];
      await until(
        'every line on disk read',
        () => sources.every((s) => s.events.length >= expectedFrom(filesOf(s.path)).length) || undefined,
        15_000,
        100
      );
      await lab.stopDaemons(); // no more writes; the sources read what is left at stop
      for (const s of sources) await s.src.stop();

      for (const s of sources) {
        const want = counts(expectedFrom(filesOf(s.path)).map(signature));
        const got = counts(s.events.map(signature));
        const missing = [...want].filter(([k, n]) => (got.get(k) ?? 0) < n).map(([k]) => k);
        const extra = [...got].filter(([k, n]) => (want.get(k) ?? 0) < n).map(([k]) => k);
        assert.deepEqual(missing, [], `${s.path}: lines on disk with no event`);
        assert.deepEqual(extra, [], `${s.path}: events doubled or not from any line`);
        assert.equal(new Set(s.events.map((e) => e.id)).size, s.events.length);
        const st = s.src.stats();
        t.diagnostic(`${s.path}: ${JSON.stringify(st)}`);
        assert.equal(st.rotations, 1, `${s.path}: one rename rotation`);
        assert.equal(st.truncations, 1, `${s.path}: one copytruncate`);
      }
      // both formats: the same facts
      const strip = (e: CasefileEvent) => signature(e);
      assert.deepEqual([...counts(trad.events.map(strip))].sort(), [...counts(rfc.events.map(strip))].sort());
      assert.ok(
        rfc.events.some((e) => BigInt(e.timeNs) % 1_000_000n !== 0n),
        'microseconds kept'
      );

      // the flow: each line that reached the disk is one sudo event
      const flowN = rfc.events
        .filter((e) => e.loginUser === 'flow')
        .map((e) => Number(/\/bin\/echo (\d+)$/.exec(e.commandLine ?? '')![1]));
      assert.equal(new Set(flowN).size, flowN.length, 'no flow line twice');
      t.diagnostic(
        `flow: ${sent} sent, ${flowN.length} events; lines lost to copytruncate's copy-then-truncate window: ${sent - flowN.length}`
      );
      assert.ok(
        flowN.length >= sent - 5,
        `at most a few lines may fall into copytruncate's window (${flowN.length}/${sent})`
      );

      // the facts, checked against what the clients saw
      const ev = rfc.events;
      const one = (what: string, pred: (e: CasefileEvent) => boolean) => {
        const m = ev.filter(pred);
        assert.equal(m.length, 1, `${what}: ${m.length} events`);
        return m[0];
      };
      const u = lab.user.name;
      const keyLogin = one(
        'key login',
        (e) => e.activity === 'ssh_login' && e.sourcePort === facts.keyLoginPort
      );
      assert.deepEqual(
        [
          keyLogin.loginUser,
          keyLogin.userExists,
          keyLogin.authMethod,
          keyLogin.authKey,
          keyLogin.sourceAddress,
        ],
        [u, true, 'publickey', `ED25519 ${facts.userKeyFingerprint}`, '127.0.0.1']
      );
      const logout = one(
        'its logout',
        (e) => e.activity === 'ssh_logout' && e.sessionId === keyLogin.sessionId
      );
      assert.equal(logout.sourcePort, facts.keyLoginPort);
      const pwLogin = one(
        'password login',
        (e) => e.activity === 'ssh_login' && e.sourcePort === facts.passwordLoginPort
      );
      assert.equal(pwLogin.authMethod, 'password');
      const failed = ev.filter((e) => e.activity === 'ssh_failed');
      assert.equal(
        failed.filter((e) => e.authMethod === 'password' && e.userExists).length,
        2,
        'two wrong passwords'
      );
      assert.deepEqual(
        failed
          .filter((e) => e.loginUser === facts.invalidUser)
          .map((e) => [e.userExists, e.authMethod ?? e.reason]),
        [
          [false, 'connection closed before authentication'],
          [false, 'password'],
        ],
        'an invalid user: one event per attempt'
      );
      assert.equal(
        failed.length,
        6,
        'stranger key, invalid user (key), too many keys, 2 passwords, invalid user (password)'
      );
      const sudo = ev.filter((e) => e.activity === 'sudo' && e.loginUser === u);
      assert.deepEqual(
        sudo.map((e) => [e.outcome, e.reason, e.commandLine, e.targetUser, e.cwd, e.tty?.startsWith('pts/')]),
        [
          ['granted', undefined, '/usr/bin/id', 'root', `/home/${u}`, true],
          ['denied', '3 incorrect password attempts', '/usr/bin/whoami', 'root', `/home/${u}`, true],
          ['denied', 'command not allowed', '/usr/bin/cat /etc/shadow', 'root', `/home/${u}`, true],
          ['granted', undefined, '/usr/bin/whoami', 'root', `/home/${u}`, true],
        ]
      );
      assert.equal(ev.filter((e) => e.activity === 'auth_failure' && e.pamService === 'sudo').length, 2);
      assert.deepEqual(
        ev.filter((e) => e.activity === 'su').map((e) => [e.loginUser, e.targetUser, e.outcome]),
        [
          [u, lab.other.name, 'granted'],
          [u, lab.other.name, 'denied'],
          ['root', u, 'granted'],
          ['root', lab.other.name, 'granted'],
        ]
      );
      assert.equal(
        ev.filter((e) => e.activity === 'auth_failure' && /^su(-l)?$/.test(e.pamService ?? '')).length,
        0
      );
      one(
        'the login during rotation',
        (e) =>
          e.activity === 'ssh_login' &&
          BigInt(e.timeNs) > BigInt(keyLogin.timeNs) &&
          e.authMethod === 'publickey' &&
          e.sourcePort !== facts.keyLoginPort &&
          e.sourcePort !== facts.terminalLoginPort
      );
    } finally {
      for (const s of sources) await s.src.stop();
      await lab.stop();
    }
  }
);
