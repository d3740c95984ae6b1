/**
 * The host source on journald: Debian's systemd-journald (in a private mount
 * namespace, writing a temp journal) receives real sshd and sudo messages;
 * the collector's host source follows it with `journalctl -f -o json`, is
 * stopped, misses a login while down, and a new one resumes from the saved
 * cursor; its journalctl is killed and restarted from the cursor: every auth entry in the journal is one event, none twice, and sudo
 * carries its pid (journald knows it, Debian's syslog line does not).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { makeEvent, type CasefileEvent, type NewEvent } from '@casefile/schema';
import { until } from '../../collector/test/helpers';
import { HostSource, mapJournalEntry } from '../../collector/src/sources/host';
import { AuthEventMapper } from '../../collector/src/sources/host/auth-events';
import { AuthLab, authLabUnavailable } from './auth-lab';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pid of the journalctl this test process started (its child). */
function journalctlPid(): number {
  for (const d of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8').trim();
      const [, comm, rest] = /^\d+ \((.*)\) (.*)$/.exec(stat)!;
      if (comm === 'journalctl' && Number(rest.split(' ')[1]) === process.pid) return Number(d);
    } catch {
      /* gone */
    }
  }
  throw new Error('no journalctl child');
}

test(
  'real journald: sshd and sudo entries become events; a restarted source resumes at its cursor, nothing missed or doubled',
  { timeout: 120_000 },
  async () => {
    const unavailable = authLabUnavailable();
    assert.equal(unavailable, null, `the real-journald test cannot run here: ${unavailable}`);
    const lab = new AuthLab();
    const stateDir = mkdtempSync(join(tmpdir(), 'casefile-journal-state-'));
    const events: CasefileEvent[] = [];
    const source = () =>
      new HostSource(logger, { authLog: 'journald', stateDir, journalArgs: ['--directory', lab.journalDir] });
    let src: HostSource | undefined;
    try {
      lab.prepare();
      await lab.start('journald');
      src = source();
      assert.deepEqual(await src.available(), { ok: true });
      await src.start((e) => events.push(makeEvent(e as NewEvent)));
      await sleep(1000); // journalctl -n 0 -f: let it reach the end before anything is logged
      const u = lab.user.name;
      const first = lab.sshKey(u, [lab.userKey], 'sudo -n /usr/bin/id; echo $SSH_CLIENT');
      assert.equal(first.code, 0, first.out);
      const firstPort = Number(/127\.0\.0\.1 (\d+) /.exec(first.out)![1]);
      await until(
        'the first session',
        () => events.some((e) => e.activity === 'ssh_logout') || undefined,
        15_000,
        50
      );
      await src.stop();
      const cursorFile = join(stateDir, 'host', 'journal.cursor');
      assert.ok(existsSync(cursorFile), 'the cursor is saved at stop');
      const before = events.length;

      // while no collector runs: a wrong password and a password login
      assert.notEqual(lab.sshPassword(u, 'wrong', 'true', 1).code, 0);
      const second = lab.sshPassword(u, lab.user.password, 'echo $SSH_CLIENT');
      assert.equal(second.code, 0, second.out);
      const secondPort = Number(/127\.0\.0\.1 (\d+) /.exec(second.out)![1]);

      src = source();
      await src.available();
      await src.start((e) => events.push(makeEvent(e as NewEvent)));
      await until(
        'the entries logged while stopped',
        () => events.filter((e) => e.activity === 'ssh_logout').length >= 2 || undefined,
        15_000,
        50
      );
      // journalctl dies: the source says it is blind, restarts it from the cursor, loses nothing
      process.kill(journalctlPid(), 'SIGKILL');
      await until('blind while journalctl is down', () => src!.blind(), 5000, 20);
      assert.notEqual(lab.sshPassword(u, 'wrong-again', 'true', 1).code, 0);
      await until(
        'the failure logged while journalctl was down',
        () => events.filter((e) => e.activity === 'ssh_failed').length >= 2 || undefined,
        15_000,
        50
      );
      assert.equal(src.blind(), undefined);
      assert.equal(src.stats().journal_restarts, 1);
      await sleep(500);
      await src.stop();
      src = undefined;

      // everything journald holds for auth/authpriv, mapped once, in order
      const mapper = new AuthEventMapper('journald');
      const out = execFileSync('journalctl', [
        '--directory',
        lab.journalDir,
        '-o',
        'json',
        'SYSLOG_FACILITY=4',
        'SYSLOG_FACILITY=10',
      ]).toString();
      const want = out
        .split('\n')
        .filter(Boolean)
        .map((l) => mapJournalEntry(JSON.parse(l), mapper))
        .filter((e): e is NewEvent => e !== null)
        .map(makeEvent);
      const sig = (e: CasefileEvent) => JSON.stringify({ ...e, id: undefined, message: undefined });
      assert.deepEqual(
        events.map(sig),
        want.map(sig),
        'each journal entry once, in order, across the restart'
      );
      assert.ok(before > 0 && events.length > before);

      const login = events.find((e) => e.activity === 'ssh_login' && e.sourcePort === firstPort);
      assert.deepEqual([login?.loginUser, login?.authMethod, login?.source], [u, 'publickey', 'journald']);
      const sudo = events.find((e) => e.activity === 'sudo');
      assert.deepEqual([sudo?.loginUser, sudo?.outcome, sudo?.commandLine], [u, 'granted', '/usr/bin/id']);
      assert.ok(Number.isInteger(sudo?.pid) && sudo!.pid! > 1, 'journald gives sudo its pid');
      assert.ok(
        BigInt(sudo!.timeNs) % 1_000_000n !== 0n || BigInt(login!.timeNs) % 1_000_000n !== 0n,
        'µs kept'
      );
      assert.equal(
        events.filter((e) => e.activity === 'ssh_failed' && e.authMethod === 'password').length,
        2
      );
      assert.ok(
        events.some(
          (e) => e.activity === 'ssh_login' && e.sourcePort === secondPort && e.authMethod === 'password'
        )
      );
      assert.match(readFileSync(join(stateDir, 'host', 'journal.cursor'), 'utf8'), /^s=[0-9a-f]+;i=/);

      // a damaged cursor file: journalctl rejects it, the source follows from the end instead of failing forever
      writeFileSync(join(stateDir, 'host', 'journal.cursor'), 'garbage\n');
      const n = events.length;
      src = source();
      await src.available();
      await src.start((e) => events.push(makeEvent(e as NewEvent)));
      await until(
        'journalctl restarted without the cursor',
        () => src!.stats().journal_restarts === 1 && !src!.blind(),
        10_000,
        50
      );
      await sleep(1000);
      assert.notEqual(lab.sshPassword(u, 'wrong-after-garbage', 'true', 1).code, 0);
      await until('an entry after the damaged cursor', () => events.length > n || undefined, 15_000, 50);
      assert.deepEqual(
        events.slice(n).map((e) => e.activity),
        ['ssh_failed']
      );
    } finally {
      await src?.stop();
      await lab.stop();
      rmSync(stateDir, { recursive: true, force: true });
    }
  }
);
