/**
 * A real auth-logging host for tests: Debian's rsyslogd with its own config
 * writing a temp auth log in both file formats (RFC 3339 and traditional), or
 * Debian's systemd-journald writing a temp journal,
 * Debian's sshd on a loopback port with its own host key, two test users and a
 * temp sudoers.d file, all removed by {@link AuthLab.stop}.
 *
 * sshd, sudo and su always log to /dev/log, so they run in a private mount
 * namespace where /dev/log is bind-mounted to this rsyslogd's own socket: the
 * machine's /dev/log (a journald, another syslog, or none) is left alone, and no
 * other process's auth messages reach the test's log. When the machine has no
 * /dev/log, an empty file stands in as the mount point while a lab runs; labs
 * take turns (a lock under /run/lock) so one never removes it under another.
 * Needs root.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onPty, type PtyAnswer, type PtyResult } from './pty';

export interface LabUser {
  name: string;
  password: string;
}

const SSHD = '/usr/sbin/sshd';
const RSYSLOGD = '/usr/sbin/rsyslogd';
const JOURNALD = '/lib/systemd/systemd-journald';
const LOCK = '/run/lock/casefile-auth-lab.lock';
/** A shell loop that ends when this test process is gone, so a killed test leaves no holder behind. */
const WHILE_TEST_RUNS = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`;

/** Why the lab cannot run here, or null. */
export function authLabUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (users, sudoers, sshd, a mount namespace)';
  for (const bin of [SSHD, RSYSLOGD, '/usr/bin/sudo', '/usr/bin/su', '/usr/bin/script', '/usr/bin/ssh'])
    if (!existsSync(bin))
      return `${bin} is missing (scripts/setup-machine.sh installs openssh-server, openssh-client, rsyslog, sudo)`;
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, fn: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The running lab. Paths are in `dir`; `authLog` is the RFC 3339 file, `traditionalLog` the classic one. */
export class AuthLab {
  readonly dir = mkdtempSync(join(tmpdir(), 'casefile-authlab-'));
  readonly authLog = join(this.dir, 'log', 'auth.log');
  readonly traditionalLog = join(this.dir, 'log', 'auth-traditional.log');
  /** journald mode: the journal's directory (what `journalctl --directory` reads). */
  readonly journalRoot = join(this.dir, 'journal');
  readonly journalDir = join(this.journalRoot, readFileSync('/etc/machine-id', 'utf8').trim());
  readonly userKey = join(this.dir, 'user_key');
  /** A key no authorized_keys lists. */
  readonly strangerKey = join(this.dir, 'stranger_key');
  readonly user: LabUser;
  readonly other: LabUser;
  sshPort = 0;
  private readonly tag = `${process.pid % 100000}`;
  private readonly sudoers = `/etc/sudoers.d/casefile-test-${this.tag}`;
  private ns?: ChildProcess;
  private rsyslog?: ChildProcess;
  private lock?: ChildProcess;
  private sshd?: ChildProcess;
  private createdDevLog = false;
  private usersMade: string[] = [];

  constructor() {
    const pw = () => `Pw-${randomBytes(6).toString('hex')}`;
    this.user = { name: `cfa${this.tag}`, password: pw() };
    this.other = { name: `cfb${this.tag}`, password: pw() };
  }

  /** Users, sudoers and keys; nothing runs yet (the auth log does not exist). */
  prepare(): void {
    chmodSync(this.dir, 0o755); // sshd reads authorized_keys as the user
    mkdirSync(join(this.dir, 'log'));
    for (const u of [this.user, this.other]) {
      execFileSync('useradd', ['-m', '-s', '/bin/bash', u.name]);
      this.usersMade.push(u.name);
      execFileSync('chpasswd', { input: `${u.name}:${u.password}\n` });
    }
    writeFileSync(
      this.sudoers,
      `${this.user.name} ALL=(root) NOPASSWD: /usr/bin/id\n${this.user.name} ALL=(root) /usr/bin/whoami\n`,
      { mode: 0o440 }
    );
    execFileSync('visudo', ['-cqf', this.sudoers]);
    for (const k of [this.userKey, this.strangerKey, join(this.dir, 'host_key')])
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k]);
    mkdirSync(join(this.dir, 'authorized_keys'));
    execFileSync('cp', [`${this.userKey}.pub`, join(this.dir, 'authorized_keys', this.user.name)]);
    writeFileSync(join(this.dir, 'askpass'), '#!/bin/sh\nprintf "%s\\n" "$CASEFILE_TEST_PW"\n');
    chmodSync(join(this.dir, 'askpass'), 0o755);
  }

  /**
   * The syslog daemon, the namespace, sshd. `rsyslog`: the test's rsyslogd (it creates the log
   * files on the first auth message). `journald`: Debian's systemd-journald in the namespace
   * (its /run/systemd on a tmpfs, its journal in {@link journalDir}), /dev/log its dev-log.
   */
  async start(syslog: 'rsyslog' | 'journald' = 'rsyslog'): Promise<void> {
    // One lab at a time on a machine (test files may run in parallel): they share the /dev/log stand-in.
    const locked = join(this.dir, 'lock.held');
    // the lock is on fd 9 of this sh: killing it (or this test process dying) releases it within a second
    this.lock = spawn('sh', ['-c', `exec 9>${LOCK} && flock -x 9 && touch ${locked} && ${WHILE_TEST_RUNS}`], {
      stdio: 'ignore',
    });
    await waitFor('the auth lab lock', () => existsSync(locked), 240_000);
    // The bind mount needs a file at /dev/log; if there is none, an empty one stands in (removed at stop).
    if (!existsSync('/dev/log')) {
      writeFileSync('/dev/log', '');
      this.createdDevLog = true;
    }
    const ready = join(this.dir, 'ns.ready');
    if (syslog === 'rsyslog') {
      const sock = join(this.dir, 'log.sock');
      const conf = join(this.dir, 'rsyslog.conf');
      writeFileSync(
        conf,
        [
          'module(load="imuxsock" SysSock.Use="off")',
          `input(type="imuxsock" Socket="${sock}" CreatePath="on")`,
          `global(workDirectory="${this.dir}")`,
          `auth,authpriv.* action(type="omfile" file="${this.authLog}" template="RSYSLOG_FileFormat")`,
          `auth,authpriv.* action(type="omfile" file="${this.traditionalLog}" template="RSYSLOG_TraditionalFileFormat")`,
          '',
        ].join('\n')
      );
      this.rsyslog = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(this.dir, 'rsyslog.pid')], {
        stdio: 'ignore',
      });
      await waitFor('rsyslogd socket', () => existsSync(sock));
      this.ns = spawn(
        'unshare',
        [
          '-m',
          '--propagation',
          'private',
          'sh',
          '-c',
          `mount --bind ${sock} /dev/log && touch ${ready} && ${WHILE_TEST_RUNS}`,
        ],
        { stdio: 'ignore' }
      );
      await waitFor('mount namespace', () => existsSync(ready));
    } else {
      if (!existsSync(JOURNALD) || !existsSync('/var/log/journal'))
        throw new Error(`${JOURNALD} or /var/log/journal is missing (Debian's systemd package has both)`);
      mkdirSync(this.journalRoot);
      // `flushed` makes journald write the persistent journal (our directory) from the start.
      const setup = [
        'mount -t tmpfs none /run/systemd',
        'mkdir -p /run/systemd/journal',
        'touch /run/systemd/journal/flushed',
        `mount --bind ${this.journalRoot} /var/log/journal`,
        `exec ${JOURNALD}`,
      ].join(' && ');
      this.ns = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', setup], { stdio: 'ignore' });
      await waitFor('journald', () => existsSync(join(this.journalDir, 'system.journal')));
      this.exec(['sh', '-c', `mount --bind /run/systemd/journal/dev-log /dev/log && touch ${ready}`]);
    }
    this.sshPort = await freePort();
    const conf2 = join(this.dir, 'sshd_config');
    writeFileSync(
      conf2,
      [
        `Port ${this.sshPort}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(this.dir, 'host_key')}`,
        `PidFile ${join(this.dir, 'sshd.pid')}`,
        'UsePAM yes',
        'PasswordAuthentication yes',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin no',
        `AuthorizedKeysFile ${join(this.dir, 'authorized_keys')}/%u`,
        'StrictModes no',
        '',
      ].join('\n')
    );
    mkdirSync('/run/sshd', { recursive: true });
    this.sshd = spawn('nsenter', ['-t', String(this.ns.pid), '-m', SSHD, '-D', '-f', conf2], {
      stdio: 'ignore',
    });
    await waitFor('sshd listening', () => existsSync(join(this.dir, 'sshd.pid')));
  }

  /** argv that runs a command inside the lab's namespace (its syslog is the lab's). */
  inLab(argv: string[]): string[] {
    return ['nsenter', '-t', String(this.ns!.pid), '-m', ...argv];
  }

  private sshArgs(): string[] {
    return [
      '-p',
      String(this.sshPort),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'IdentitiesOnly=yes',
    ];
  }

  /** ssh with a key and no password prompt; resolves to the exit code and output. */
  sshKey(user: string, keys: string[], command: string): { code: number; out: string } {
    const args = [
      ...this.sshArgs(),
      '-o',
      'BatchMode=yes',
      ...keys.flatMap((k) => ['-i', k]),
      `${user}@127.0.0.1`,
      command,
    ];
    return this.run('ssh', args);
  }

  /** ssh with a password typed by SSH_ASKPASS, `tries` times. */
  sshPassword(user: string, password: string, command: string, tries = 1): { code: number; out: string } {
    const args = [
      ...this.sshArgs(),
      '-o',
      'PubkeyAuthentication=no',
      '-o',
      `NumberOfPasswordPrompts=${tries}`,
      `${user}@127.0.0.1`,
      command,
    ];
    return this.run('ssh', args, {
      SSH_ASKPASS: join(this.dir, 'askpass'),
      SSH_ASKPASS_REQUIRE: 'force',
      CASEFILE_TEST_PW: password,
    });
  }

  /** A key login with a terminal on the server (sudo and su there see pts/N), answering prompts. */
  sshTerminal(user: string, command: string, answers: PtyAnswer[]): Promise<PtyResult> {
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const cmd = ['ssh', '-tt', ...this.sshArgs(), '-i', this.userKey, `${user}@127.0.0.1`, command]
      .map(q)
      .join(' ');
    return onPty(cmd, answers, { timeoutMs: 60_000 });
  }

  /** A command run by root on a new terminal inside the lab namespace. */
  rootTerminal(command: string, answers: PtyAnswer[] = []): Promise<PtyResult> {
    return onPty(command, answers, { wrap: this.inLab([]) });
  }

  /** Run a command as root inside the lab namespace; `input` goes to its stdin. */
  exec(argv: string[], input?: string): string {
    const [cmd, ...args] = this.inLab(argv);
    return execFileSync(cmd, args, { input }).toString();
  }

  /** Tell rsyslogd to reopen its files (what logrotate's postrotate does). */
  hup(): void {
    this.rsyslog?.kill('SIGHUP');
  }

  private run(cmd: string, args: string[], env: Record<string, string> = {}): { code: number; out: string } {
    try {
      const out = execFileSync(cmd, args, {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return { code: 0, out: out.toString() };
    } catch (err) {
      const e = err as { status?: number; stdout?: Buffer; stderr?: Buffer };
      return { code: e.status ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  /** Stop sshd, the namespace and rsyslogd (the log files stay). */
  async stopDaemons(): Promise<void> {
    for (const p of [this.sshd, this.ns, this.rsyslog]) {
      if (!p || p.exitCode !== null || p.signalCode !== null) continue;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await gone;
    }
  }

  /** Stop the daemons, remove users, sudoers and files. Safe to call after a failed start, and twice. */
  async stop(): Promise<void> {
    await this.stopDaemons();
    rmSync(this.sudoers, { force: true });
    for (const u of this.usersMade) {
      try {
        execFileSync('userdel', ['-r', '-f', u], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
    this.usersMade = [];
    if (this.createdDevLog) rmSync('/dev/log', { force: true });
    this.createdDevLog = false;
    this.lock?.kill('SIGTERM');
    this.lock = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
