/**
 * Host activity source: SSH logins, failures and logouts, sudo, su and PAM
 * authentication failures and sessions, from the auth log (followed through
 * rotation, waited for when missing: host/file-follower.ts) or from journald
 * (`journalctl -f -o json` with a saved cursor: host/journal-follower.ts).
 * Which line becomes which event: host/auth-events.ts.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NewEvent } from '@casefile/schema';
import type { Logger } from 'pino';
import type { Availability, Emit, Source } from '../pipeline/types';
import { AuthEventMapper } from './host/auth-events';
import { FileFollower, type FilePosition } from './host/file-follower';
import { JournalFollower } from './host/journal-follower';
import { parseSyslogLine } from './host/syslog';

/** Auth logs tried in order when none is configured (Debian/Ubuntu, then RHEL/Fedora). */
export const DEFAULT_AUTH_LOGS = ['/var/log/auth.log', '/var/log/secure'];
/** `--auth-log` value that picks journald. */
export const JOURNALD = 'journald';

/** A syslog line -> event with the line's time, or null (not syslog, or no event). */
export function mapAuthLine(line: string, mapper: AuthEventMapper, now = new Date()): NewEvent | null {
  const p = parseSyslogLine(line, now);
  if (!p) return null;
  const e = mapper.map(p.program, p.pid, p.text);
  if (e) e.timeNs = p.timeNs;
  return e;
}

/** A `journalctl -o json` entry -> event, or null. MESSAGE is a byte array when it is not UTF-8. */
export function mapJournalEntry(j: Record<string, unknown>, mapper: AuthEventMapper): NewEvent | null {
  const msg = Array.isArray(j.MESSAGE)
    ? Buffer.from(j.MESSAGE as number[]).toString('utf8')
    : String(j.MESSAGE ?? '');
  const program = String(j.SYSLOG_IDENTIFIER ?? j._COMM ?? '');
  const pid = Number(j._PID ?? j.SYSLOG_PID);
  const e = mapper.map(program, Number.isSafeInteger(pid) ? pid : undefined, msg);
  const us = String(j.__REALTIME_TIMESTAMP ?? '');
  if (e && /^\d+$/.test(us)) e.timeNs = (BigInt(us) * 1000n).toString();
  return e;
}

export interface HostSourceOptions {
  /** Auth log path, or `journald`; unset = the first of {@link DEFAULT_AUTH_LOGS} that exists, else journald, else wait for one. */
  authLog?: string;
  /** Collector state dir: the journal cursor and the auth log position are kept under `<stateDir>/host/`, so a restart resumes. */
  stateDir?: string;
  pollMs?: number;
  /** How long a renamed auth log is still read after it last grew. */
  graceMs?: number;
  journalctl?: string;
  /** Extra journalctl arguments (tests: `--directory DIR`). */
  journalArgs?: string[];
}

type Mode = { kind: 'file'; paths: string[] } | { kind: 'journald' };

export class HostSource implements Source {
  readonly name = 'host' as const;
  private mode?: Mode;
  private file?: FileFollower;
  private journal?: JournalFollower;
  private waitTimer?: NodeJS.Timeout;
  private saveTimer?: NodeJS.Timeout;
  private savedPosition?: string;
  private emit?: Emit;
  private counters = { lines: 0, events: 0 };

  constructor(
    private readonly logger: Logger,
    private readonly opts: HostSourceOptions = {}
  ) {}

  async available(): Promise<Availability> {
    const journalctl = this.opts.journalctl ?? 'journalctl';
    const hasJournalctl = journalctl.includes('/')
      ? existsSync(journalctl)
      : ['/usr/bin/journalctl', '/bin/journalctl'].some((p) => existsSync(p));
    const { authLog } = this.opts;
    if (authLog === JOURNALD) {
      if (!hasJournalctl) return { ok: false, reason: `--auth-log ${JOURNALD}: journalctl not found` };
      this.mode = { kind: 'journald' };
    } else if (authLog) this.mode = { kind: 'file', paths: [authLog] };
    else if (DEFAULT_AUTH_LOGS.some((p) => existsSync(p)))
      this.mode = { kind: 'file', paths: DEFAULT_AUTH_LOGS.filter((p) => existsSync(p)).slice(0, 1) };
    else if (existsSync('/run/systemd/journal') && hasJournalctl) this.mode = { kind: 'journald' };
    else this.mode = { kind: 'file', paths: DEFAULT_AUTH_LOGS }; // wait for whichever appears
    return { ok: true };
  }

  async start(emit: Emit): Promise<void> {
    if (!this.mode) await this.available();
    this.emit = emit;
    const mode = this.mode!;
    if (mode.kind === 'journald') {
      const mapper = new AuthEventMapper('journald');
      this.journal = new JournalFollower((j) => this.handle(mapJournalEntry(j, mapper)), this.logger, {
        journalctl: this.opts.journalctl,
        extraArgs: this.opts.journalArgs,
        cursorFile: this.opts.stateDir ? join(this.opts.stateDir, 'host', 'journal.cursor') : undefined,
      });
      this.journal.start();
      this.logger.info({ source: 'host', mode: 'journald' }, 'following host auth activity');
      return;
    }
    const present = mode.paths.find((p) => existsSync(p));
    if (present) {
      this.followFile(present, false);
      return;
    }
    this.logger.warn(
      { source: 'host', waitingFor: mode.paths },
      'auth log does not exist yet: waiting for it (host source is blind until then)'
    );
    this.waitTimer = setInterval(() => {
      const p = mode.paths.find((x) => existsSync(x));
      if (!p) return;
      clearInterval(this.waitTimer);
      this.waitTimer = undefined;
      this.followFile(p, true);
    }, this.opts.pollMs ?? 250);
    this.waitTimer.unref();
  }

  /** Follow `path` from the saved position, else (a file that appeared after start) its beginning, else its end. */
  private followFile(path: string, appeared: boolean): void {
    const mapper = new AuthEventMapper('authlog');
    const resume = this.loadPosition(path);
    const file = new FileFollower(path, (l) => this.handle(mapAuthLine(l, mapper)), {
      pollMs: this.opts.pollMs,
      graceMs: this.opts.graceMs,
      fromStart: appeared,
      resume,
    });
    this.file = file;
    file.start();
    if (this.positionFile) {
      this.saveTimer = setInterval(() => this.savePosition(path, file.position()), 1000);
      this.saveTimer.unref();
    }
    this.logger.info(
      { source: 'host', mode: 'file', path, from: resume ? resume.pos : appeared ? 'start' : 'end' },
      'following host auth activity'
    );
  }

  private get positionFile(): string | undefined {
    return this.opts.stateDir ? join(this.opts.stateDir, 'host', 'authlog.position.json') : undefined;
  }

  private loadPosition(path: string): FilePosition | undefined {
    if (!this.positionFile) return undefined;
    try {
      const p = JSON.parse(readFileSync(this.positionFile, 'utf8')) as FilePosition & { path: string };
      return p.path === path ? p : undefined;
    } catch {
      return undefined; // none yet, or unreadable: start as if new
    }
  }

  /** Atomically, and only when it changed. */
  private savePosition(path: string, at: FilePosition | undefined): void {
    const file = this.positionFile;
    if (!file || !at) return;
    const text = JSON.stringify({ path, ...at }) + '\n';
    if (text === this.savedPosition) return;
    try {
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
      this.savedPosition = text;
    } catch (err) {
      this.logger.warn({ source: 'host', err, file }, 'could not save the auth log position');
    }
  }

  private handle(e: NewEvent | null): void {
    this.counters.lines++;
    if (!e) return;
    this.counters.events++;
    this.emit!(e);
  }

  /** Why the source is not seeing host activity right now, or undefined while it is. */
  blind(): string | undefined {
    if (this.waitTimer && this.mode?.kind === 'file')
      return `waiting for an auth log (${this.mode.paths.join(', ')}) to appear`;
    if (this.file?.missingSince !== undefined)
      return `auth log ${this.file.path} is missing since ${new Date(this.file.missingSince).toISOString()}`;
    if (this.file?.error) return `reading ${this.file.path} failed: ${this.file.error}`;
    return this.journal?.down;
  }

  async stop(): Promise<void> {
    clearInterval(this.waitTimer);
    clearInterval(this.saveTimer);
    this.waitTimer = undefined;
    if (this.file) this.savePosition(this.file.path, this.file.stop());
    await this.journal?.stop();
  }

  stats(): Record<string, number> {
    return {
      ...this.counters,
      blind: this.blind() ? 1 : 0, // for alerting: /healthz says why
      ...(this.file
        ? { rotations: this.file.stats.rotations, truncations: this.file.stats.truncations }
        : {}),
      ...(this.file ? { recovered_lines: this.file.stats.recoveredLines } : {}),
      ...(this.journal ? { journal_restarts: this.journal.stats.restarts } : {}),
      ...(this.journal ? { journal_bad_entries: this.journal.stats.badEntries } : {}),
    };
  }
}
