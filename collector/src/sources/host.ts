/**
 * Host activity source: SSH logins (accepted / failed) and sudo, from the
 * auth log (followed like `tail -F`, surviving rotation) or from journald
 * (`journalctl -f -o json`) when there is no auth log file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { NewEvent } from '@casefile/schema';
import type { Logger } from 'pino';
import type { Availability, Emit, Source } from '../pipeline/types';

/** Auth logs tried in order when none is configured. */
export const DEFAULT_AUTH_LOGS = ['/var/log/auth.log', '/var/log/secure'];

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Parse a syslog line's time and program: RFC 3339 (rsyslog on Debian 12) or
 * the classic `Mmm dd HH:MM:SS` (no year: the current one, or last year when
 * that would be in the future).
 */
export function parseSyslogLine(
  line: string,
  now = new Date()
): { timeMs?: number; program: string; pid?: number; text: string } | null {
  let m =
    /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))\s+\S+\s+([^\s:[]+)(?:\[(\d+)\])?:\s?(.*)$/.exec(
      line
    );
  if (m) return { timeMs: Date.parse(m[1]), program: m[2], pid: m[3] ? Number(m[3]) : undefined, text: m[4] };
  m = /^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)\s+\S+\s+([^\s:[]+)(?:\[(\d+)\])?:\s?(.*)$/.exec(
    line
  );
  if (!m) return null;
  const month = MONTHS.indexOf(m[1]);
  let d = new Date(now.getFullYear(), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  if (d.getTime() > now.getTime() + 86_400_000)
    d = new Date(now.getFullYear() - 1, month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  return {
    timeMs: month >= 0 ? d.getTime() : undefined,
    program: m[6],
    pid: m[7] ? Number(m[7]) : undefined,
    text: m[8],
  };
}

/**
 * Map one auth message (program + text) to a host.login / host.activity event, or null.
 * @example mapAuthMessage('sshd', 'Accepted publickey for alice from 10.0.0.5 port 50022 ssh2: ED25519 SHA256:x')
 *   // => { type: 'host.login', activity: 'ssh_login', loginUser: 'alice', sourceAddress: '10.0.0.5', sourcePort: 50022, authMethod: 'publickey', ... }
 */
export function mapAuthMessage(program: string, text: string, pid?: number): NewEvent | null {
  const withPid = pid !== undefined ? { pid } : {};
  if (program === 'sshd' || program.startsWith('sshd')) {
    let m = /^Accepted (\S+) for (.+?) from (\S+) port (\d+)/.exec(text);
    if (m) {
      return {
        type: 'host.login',
        activity: 'ssh_login',
        message: `ssh login: ${m[2]} from ${m[3]} (${m[1]})`,
        loginUser: m[2],
        authMethod: m[1],
        sourceAddress: m[3],
        sourcePort: Number(m[4]),
        source: 'authlog',
        ...withPid,
      };
    }
    m = /^Failed (\S+) for (?:invalid user )?(.+?) from (\S+) port (\d+)/.exec(text);
    if (m) {
      return {
        type: 'host.login',
        activity: 'ssh_failed',
        message: `ssh login failed: ${m[2]} from ${m[3]} (${m[1]})`,
        loginUser: m[2],
        authMethod: m[1],
        sourceAddress: m[3],
        sourcePort: Number(m[4]),
        source: 'authlog',
        ...withPid,
      };
    }
    m = /^Invalid user (.*?) from (\S+)(?: port (\d+))?/.exec(text);
    if (m) {
      return {
        type: 'host.login',
        activity: 'ssh_failed',
        message: `ssh invalid user: ${m[1]} from ${m[2]}`,
        loginUser: m[1] || '(empty)',
        sourceAddress: m[2],
        ...(m[3] ? { sourcePort: Number(m[3]) } : {}),
        source: 'authlog',
        ...withPid,
      };
    }
    return null;
  }
  if (program === 'sudo') {
    // "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt install x"
    const m = /^\s*(\S+)\s*:\s*(.*)$/.exec(text);
    if (!m || !/COMMAND=/.test(m[2])) return null;
    const parts = m[2].split(' ; ');
    const field = (k: string) => parts.find((p) => p.startsWith(`${k}=`))?.slice(k.length + 1);
    const command = m[2].slice(m[2].indexOf('COMMAND=') + 'COMMAND='.length);
    const failed = !parts[0].includes('=') ? parts[0] : undefined; // e.g. "3 incorrect password attempts"
    return {
      type: 'host.activity',
      activity: 'sudo',
      message: `sudo: ${m[1]} as ${field('USER') ?? 'root'}: ${command}${failed ? ` (${failed})` : ''}`,
      loginUser: m[1],
      targetUser: field('USER') ?? 'root',
      commandLine: command,
      ...(field('PWD') ? { cwd: field('PWD') } : {}),
      source: 'authlog',
      ...withPid,
    };
  }
  return null;
}

/** A syslog line -> event (with its time), or null. */
export function mapAuthLine(line: string, now = new Date()): NewEvent | null {
  const p = parseSyslogLine(line, now);
  if (!p) return null;
  const e = mapAuthMessage(p.program, p.text, p.pid);
  if (e && p.timeMs !== undefined && Number.isFinite(p.timeMs))
    e.timeNs = (BigInt(p.timeMs) * 1_000_000n).toString();
  return e;
}

/** A `journalctl -o json` entry -> event, or null. MESSAGE may be a byte array when not UTF-8. */
export function mapJournalEntry(j: Record<string, unknown>): NewEvent | null {
  const msg = Array.isArray(j.MESSAGE)
    ? Buffer.from(j.MESSAGE as number[]).toString('utf8')
    : String(j.MESSAGE ?? '');
  const program = String(j.SYSLOG_IDENTIFIER ?? j._COMM ?? '');
  const pid = Number(j._PID ?? j.SYSLOG_PID);
  const e = mapAuthMessage(program, msg, Number.isFinite(pid) ? pid : undefined);
  const us = String(j.__REALTIME_TIMESTAMP ?? '');
  if (e && /^\d+$/.test(us)) e.timeNs = (BigInt(us) * 1000n).toString();
  return e;
}

export class HostSource implements Source {
  readonly name = 'host' as const;
  private timer?: NodeJS.Timeout;
  private journal?: ChildProcess;
  private counters = { lines: 0, events: 0, rotations: 0 };
  private mode?: { kind: 'file'; path: string } | { kind: 'journald' };

  /** @param authLog configured auth log (config sources.authLog); default the first of {@link DEFAULT_AUTH_LOGS}, else journald. */
  constructor(
    private readonly logger: Logger,
    private readonly authLog?: string,
    private readonly pollMs = 250
  ) {}

  async available(): Promise<Availability> {
    if (this.authLog) {
      if (!existsSync(this.authLog)) return { ok: false, reason: `auth log ${this.authLog} does not exist` };
      this.mode = { kind: 'file', path: this.authLog };
      return { ok: true };
    }
    const found = DEFAULT_AUTH_LOGS.find((p) => existsSync(p));
    if (found) {
      this.mode = { kind: 'file', path: found };
      return { ok: true };
    }
    if (
      existsSync('/run/systemd/journal') &&
      ['/usr/bin/journalctl', '/bin/journalctl'].some((p) => existsSync(p))
    ) {
      this.mode = { kind: 'journald' };
      return { ok: true };
    }
    return { ok: false, reason: `no auth log (${DEFAULT_AUTH_LOGS.join(', ')}) and no journald` };
  }

  async start(emit: Emit): Promise<void> {
    if (!this.mode) {
      const a = await this.available();
      if (!a.ok) throw new Error(a.reason);
    }
    const mode = this.mode!;
    if (mode.kind === 'file') this.follow(mode.path, emit);
    else this.followJournal(emit);
    this.logger.info({ source: 'host', mode }, 'following host auth activity');
  }

  private handle(e: NewEvent | null, emit: Emit) {
    this.counters.lines++;
    if (!e) return;
    this.counters.events++;
    emit(e);
  }

  /** Follow a file from its current end; reopen from the start when it is rotated or truncated. */
  private follow(path: string, emit: Emit): void {
    let ino = -1;
    let pos = 0;
    let partial = '';
    try {
      const st = statSync(path);
      ino = st.ino;
      pos = st.size;
    } catch {
      /* appears later */
    }
    const buf = Buffer.alloc(64 * 1024);
    const tick = () => {
      let st;
      try {
        st = statSync(path);
      } catch {
        return;
      }
      if (st.ino !== ino || st.size < pos) {
        if (ino !== -1) this.counters.rotations++;
        ino = st.ino;
        pos = 0;
        partial = '';
      }
      if (st.size === pos) return;
      const fd = openSync(path, 'r');
      try {
        let n: number;
        while ((n = readSync(fd, buf, 0, buf.length, pos)) > 0) {
          pos += n;
          const lines = (partial + buf.toString('utf8', 0, n)).split('\n');
          partial = lines.pop() ?? '';
          for (const l of lines) if (l) this.handle(mapAuthLine(l), emit);
        }
      } finally {
        closeSync(fd);
      }
    };
    this.timer = setInterval(tick, this.pollMs);
    this.timer.unref();
  }

  private followJournal(emit: Emit): void {
    const child = spawn(
      'journalctl',
      ['-f', '-o', 'json', '-n', '0', 'SYSLOG_FACILITY=4', 'SYSLOG_FACILITY=10'],
      { stdio: ['ignore', 'pipe', 'ignore'] }
    );
    this.journal = child;
    let partial = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (!l) continue;
        try {
          this.handle(mapJournalEntry(JSON.parse(l)), emit);
        } catch {
          /* one bad entry is skipped */
        }
      }
    });
    child.on('exit', (code) => this.logger.warn({ source: 'host', code }, 'journalctl exited'));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.journal?.kill('SIGTERM');
  }

  stats(): Record<string, number> {
    return { ...this.counters };
  }
}
