/**
 * Follow journald's auth entries with `journalctl -f -o json`, resuming after
 * the last entry handled: its `__CURSOR` is saved to a file (atomically, at
 * most once a second and at stop), so a restarted collector continues with
 * `--after-cursor` instead of skipping or repeating entries. A journalctl that
 * exits is restarted (with backoff) from the same cursor (from the end if
 * journalctl rejects the cursor); while it is down the follower reports why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

/** auth (4) and authpriv (10): sshd, sudo, su and PAM. Repeating a field ORs the matches. */
const AUTH_MATCHES = ['SYSLOG_FACILITY=4', 'SYSLOG_FACILITY=10'];

export interface JournalFollowerOptions {
  /** The journalctl binary. Default `journalctl`. */
  journalctl?: string;
  /** Where the cursor is kept; unset = start at the end every time. */
  cursorFile?: string;
  /** Extra journalctl arguments before the matches (tests: `--directory DIR`). */
  extraArgs?: string[];
}

/** Hands each journal entry (parsed JSON) to `onEntry`, in order. */
export class JournalFollower {
  private child?: ChildProcess;
  private cursor?: string;
  private savedCursor?: string;
  private saveTimer?: NodeJS.Timeout;
  private restartTimer?: NodeJS.Timeout;
  private stopping = false;
  private restarts = 0;
  /** Why entries are not being read right now (undefined while journalctl runs). */
  down?: string;
  readonly stats = { entries: 0, badEntries: 0, restarts: 0 };

  constructor(
    private readonly onEntry: (entry: Record<string, unknown>) => void,
    private readonly logger: Logger,
    private readonly opts: JournalFollowerOptions = {}
  ) {
    if (opts.cursorFile) {
      try {
        this.cursor = this.savedCursor = readFileSync(opts.cursorFile, 'utf8').trim() || undefined;
      } catch {
        /* first run: no cursor yet */
      }
    }
  }

  /** Start journalctl (from the saved cursor, else at the end of the journal). */
  start(): void {
    this.stopping = false;
    this.spawn();
    if (this.opts.cursorFile) {
      this.saveTimer = setInterval(() => this.saveCursor(), 1000);
      this.saveTimer.unref();
    }
  }

  private spawn(): void {
    const from = this.cursor ? ['--after-cursor', this.cursor] : ['-n', '0'];
    const args = ['-f', '-o', 'json', ...from, ...(this.opts.extraArgs ?? []), ...AUTH_MATCHES];
    const child = spawn(this.opts.journalctl ?? 'journalctl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.down = undefined;
    let partial = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (l) this.entry(l);
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    const exited = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (partial) this.entry(partial);
      if (this.stopping) return;
      this.down = `journalctl ${why}${stderr.trim() ? `: ${stderr.trim()}` : ''}`;
      if (this.cursor && /seek to cursor/i.test(stderr)) {
        // A damaged cursor would fail every restart: start again at the end (what was in between is not read).
        this.logger.warn(
          { source: 'host', cursor: this.cursor },
          'journal cursor rejected; following from the end'
        );
        this.cursor = undefined;
      }
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.restarts, 5));
      this.restarts++;
      this.stats.restarts++;
      this.logger.warn(
        { source: 'host', reason: this.down, retryMs: delay },
        'journal follower down; restarting'
      );
      this.restartTimer = setTimeout(() => this.spawn(), delay);
      this.restartTimer.unref();
    };
    child.on('error', (err) => exited(`failed: ${err.message}`));
    // close, not exit: stdout is read to its end first
    child.on('close', (code, signal) => exited(`exited (${signal ?? code})`));
  }

  private entry(line: string): void {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line);
    } catch {
      this.stats.badEntries++;
      return;
    }
    this.stats.entries++;
    this.restarts = 0;
    if (typeof j.__CURSOR === 'string') this.cursor = j.__CURSOR;
    this.onEntry(j);
  }

  private saveCursor(): void {
    const file = this.opts.cursorFile;
    if (!file || !this.cursor || this.cursor === this.savedCursor) return;
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(`${file}.tmp`, this.cursor + '\n');
      renameSync(`${file}.tmp`, file);
      this.savedCursor = this.cursor;
    } catch (err) {
      this.logger.warn({ source: 'host', err, file }, 'could not save the journal cursor');
    }
  }

  /** Stop journalctl, wait for it, save the cursor. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.saveTimer);
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('close', r));
      child.kill('SIGTERM');
      await gone;
    }
    this.saveCursor();
  }
}
