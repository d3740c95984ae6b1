/**
 * Auth messages (sshd, sudo, su, PAM) to host events: one event per fact, with
 * fields rather than prose. sshd logs one login attempt on several lines
 * (`Invalid user`, PAM failure, `Failed password`, `Connection closed ...
 * [preauth]`), so the mapper remembers, per sshd pid, what it has reported:
 * a connection that ended with no logged failure (a rejected key) is one
 * failed login; one with `Failed` lines is those and nothing more. Every line
 * shape handled is listed in collector/README.md.
 */
import type { NewEvent } from '@casefile/schema';

/** Where an auth message came from: `authlog` (a file) or `journald`. */
export type AuthSource = 'authlog' | 'journald';

/** What one sshd process has logged so far. */
interface SshdConnection {
  user?: string;
  sourceAddress?: string;
  sourcePort?: number;
  /** `Failed ...` lines, or a reported pre-auth end: later pre-auth lines add nothing. */
  reported: boolean;
}

/** sshd pids remembered at most; the oldest is forgotten first (each is a few dozen bytes). */
const MAX_CONNECTIONS = 4096;

/** PAM services whose program logs the same authentication failure itself (`Failed password`, `FAILED SU`). */
const AUTH_FAILURE_LOGGED_BY_PROGRAM = new Set(['sshd', 'su', 'su-l']);
/** PAM services whose session start is the same fact as the program's own line (Accepted, sudo, su). */
const SESSION_OPEN_LOGGED_BY_PROGRAM = new Set(['sshd', 'sudo', 'sudo-i', 'su', 'su-l']);

const SSHD_ACCEPTED = /^Accepted (\S+) for (.+?) from (\S+) port (\d+)(?: \S+)?(?:: (.+))?$/;
const SSHD_FAILED = /^Failed (\S+) for (invalid user )?(.*?) from (\S+) port (\d+)/;
const SSHD_INVALID = /^Invalid user (.*?) from (\S+) port (\d+)/;
// A pre-auth connection ending: closed, disconnected, or too many attempts.
const SSHD_PREAUTH_END =
  /^(?:Connection closed by|Disconnected from|Disconnecting) (authenticating|invalid) user (.*?) (\S+) port (\d+)(?:: (.*?))? \[preauth\]$/;
const SSHD_MAX_TRIES =
  /^error: maximum authentication attempts exceeded for (invalid user )?(.*?) from (\S+) port (\d+)/;
const PAM_LINE = /^pam_unix\(([^:)]+):(auth|session)\): (.*)$/;
const PAM_AUTH_FAILURE = /^authentication failure; (.*)$/;
const PAM_SESSION_OPENED = /^session opened for user (.+?)(?:\(uid=\d+\))? by (.*?)\(uid=(\d+)\)$/;
const PAM_SESSION_CLOSED = /^session closed for user (.+)$/;
const SUDO_LINE = /^\s*(\S+) : (.*?)COMMAND=(.*)$/;
const SU_GRANTED = /^\(to (\S+)\) (\S+) on (\S+)$/;
const SU_FAILED = /^FAILED SU \(to (\S+)\) (\S+) on (\S+)$/;

/** `pts/1` from `/dev/pts/1`; nothing for the placeholders programs write when there is no terminal. */
function terminal(t: string | undefined): string | undefined {
  if (!t || t === 'none' || t === 'unknown' || t === 'ssh') return undefined;
  return t.replace(/^\/dev\//, '');
}

/** `key=value` pairs of a PAM message (`logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.0.1  user=root`). */
function pamFields(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/(\w+)=(\S*)/g)) out[m[1]] = m[2];
  return out;
}

/** Drop undefined and empty-string values so events carry only what the line said. */
function compact<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined || o[k] === '') delete o[k];
  return o;
}

/**
 * Maps auth messages to events. Stateful (sshd connections by pid): use one
 * mapper per followed log, feed it lines in order.
 */
export class AuthEventMapper {
  private readonly connections = new Map<number, SshdConnection>();
  /** su pid -> the user who ran it, for its session's end (same pid). */
  private readonly suUsers = new Map<number, string>();

  constructor(private readonly source: AuthSource = 'authlog') {}

  /**
   * The event one message is, or null (noise, or a line of an attempt already reported).
   * @example new AuthEventMapper().map('sudo', undefined, 'alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id')
   *   // => { type: 'host.activity', activity: 'sudo', outcome: 'granted', loginUser: 'alice', targetUser: 'root', tty: 'pts/0', ... }
   */
  map(program: string, pid: number | undefined, text: string): NewEvent | null {
    const pam = PAM_LINE.exec(text);
    if (pam) return this.pam(pam[1], pam[2], pam[3], pid);
    if (program === 'sshd' || program === 'sshd-session')
      return pid === undefined ? null : this.sshd(pid, text);
    if (program === 'sudo') return this.sudo(text, pid);
    if (program === 'su') return this.su(text, pid);
    return null;
  }

  private event(e: NewEvent, pid: number | undefined): NewEvent {
    return compact({ ...e, pid, source: this.source });
  }

  private connection(pid: number): SshdConnection {
    let c = this.connections.get(pid);
    if (!c) {
      c = { reported: false };
      this.connections.set(pid, c);
      if (this.connections.size > MAX_CONNECTIONS)
        this.connections.delete(this.connections.keys().next().value!);
    }
    return c;
  }

  private sshd(pid: number, text: string): NewEvent | null {
    let m = SSHD_ACCEPTED.exec(text);
    if (m) {
      const c = this.connection(pid);
      Object.assign(c, { user: m[2], sourceAddress: m[3], sourcePort: Number(m[4]), reported: true });
      return this.event(
        {
          type: 'host.login',
          activity: 'ssh_login',
          message: `ssh login: ${m[2]} from ${m[3]} port ${m[4]} (${m[1]})`,
          loginUser: m[2],
          userExists: true,
          authMethod: m[1],
          authKey: m[5],
          sourceAddress: m[3],
          sourcePort: Number(m[4]),
          sessionId: String(pid),
        },
        pid
      );
    }
    m = SSHD_FAILED.exec(text);
    if (m) {
      this.connection(pid).reported = true;
      return this.failedLogin(pid, m[3], !m[2], m[4], m[5], { authMethod: m[1] });
    }
    m = SSHD_INVALID.exec(text);
    if (m) {
      Object.assign(this.connection(pid), { user: m[1], sourceAddress: m[2], sourcePort: Number(m[3]) });
      return null; // the attempt is reported by its Failed line or by the connection's end
    }
    m = SSHD_PREAUTH_END.exec(text);
    if (m) return this.preauthEnd(pid, m[2], m[1] === 'authenticating', m[3], m[4], m[5]);
    m = SSHD_MAX_TRIES.exec(text);
    if (m) return this.preauthEnd(pid, m[2], !m[1], m[3], m[4], 'maximum authentication attempts exceeded');
    return null;
  }

  /** A connection that ended before authentication: a failed login unless its failures were already logged. */
  private preauthEnd(
    pid: number,
    user: string,
    exists: boolean,
    address: string,
    port: string,
    why: string | undefined
  ): NewEvent | null {
    const c = this.connection(pid);
    if (c.reported) return null;
    c.reported = true;
    return this.failedLogin(pid, user, exists, address, port, {
      reason: why ? why.toLowerCase() : 'connection closed before authentication',
    });
  }

  private failedLogin(
    pid: number,
    user: string,
    exists: boolean,
    address: string,
    port: string,
    extra: { authMethod?: string; reason?: string }
  ): NewEvent {
    const how = extra.authMethod ?? extra.reason;
    return this.event(
      {
        type: 'host.login',
        activity: 'ssh_failed',
        message: `ssh login failed: ${exists ? '' : 'invalid user '}${user || '(empty)'} from ${address} port ${port} (${how})`,
        loginUser: user || '(empty)',
        userExists: exists,
        sourceAddress: address,
        sourcePort: Number(port),
        ...extra,
      },
      pid
    );
  }

  private pam(service: string, kind: string, text: string, pid: number | undefined): NewEvent | null {
    if (kind === 'auth') {
      const m = PAM_AUTH_FAILURE.exec(text);
      if (!m || AUTH_FAILURE_LOGGED_BY_PROGRAM.has(service)) return null;
      const f = pamFields(m[1]);
      const who = f.ruser || f.logname || f.user;
      return this.event(
        {
          type: 'host.activity',
          activity: 'auth_failure',
          message: `authentication failure (${service}): ${who || `uid ${f.uid}`}${f.user ? ` as ${f.user}` : ''}`,
          pamService: service,
          loginUser: who,
          targetUser: f.user,
          uid: /^\d+$/.test(f.uid ?? '') ? Number(f.uid) : undefined,
          tty: terminal(f.tty),
          sourceAddress: f.rhost,
          outcome: 'denied',
        },
        pid
      );
    }
    let m = PAM_SESSION_OPENED.exec(text);
    if (m) {
      if (SESSION_OPEN_LOGGED_BY_PROGRAM.has(service)) return null;
      return this.event(
        {
          type: 'host.activity',
          activity: 'session_open',
          message: `session opened (${service}) for ${m[1]}${m[2] ? ` by ${m[2]}` : ` by uid ${m[3]}`}`,
          pamService: service,
          targetUser: m[1],
          loginUser: m[2],
          uid: Number(m[3]),
        },
        pid
      );
    }
    m = PAM_SESSION_CLOSED.exec(text);
    if (!m) return null;
    if (service === 'sshd' && pid !== undefined) {
      const c = this.connections.get(pid);
      this.connections.delete(pid);
      return this.event(
        {
          type: 'host.login',
          activity: 'ssh_logout',
          message: `ssh logout: ${m[1]}${c?.sourceAddress ? ` from ${c.sourceAddress} port ${c.sourcePort}` : ''}`,
          loginUser: m[1],
          sourceAddress: c?.sourceAddress,
          sourcePort: c?.sourcePort,
          sessionId: String(pid),
        },
        pid
      );
    }
    const by = pid !== undefined && service.startsWith('su') ? this.suUsers.get(pid) : undefined;
    if (by !== undefined) this.suUsers.delete(pid!);
    return this.event(
      {
        type: 'host.activity',
        activity: 'session_close',
        message: `session closed (${service}) for ${m[1]}${by ? ` (su by ${by})` : ''}`,
        pamService: service,
        targetUser: m[1],
        loginUser: by,
      },
      pid
    );
  }

  /** `alice : [reason ; ]TTY=pts/0 ; PWD=/home/alice ; USER=root ; [GROUP=g ; ][ENV=... ; ]COMMAND=/usr/bin/id` */
  private sudo(text: string, pid: number | undefined): NewEvent | null {
    const m = SUDO_LINE.exec(text);
    if (!m) return null;
    const parts = m[2].split(' ; ').filter(Boolean);
    const field = (k: string) => parts.find((p) => p.startsWith(`${k}=`))?.slice(k.length + 1);
    const reason = parts[0] && !/^[A-Z]+=/.test(parts[0]) ? parts[0] : undefined;
    const target = field('USER') ?? 'root';
    return this.event(
      {
        type: 'host.activity',
        activity: 'sudo',
        message: `sudo ${reason ? 'denied' : 'granted'}: ${m[1]} as ${target}: ${m[3]}${reason ? ` (${reason})` : ''}`,
        outcome: reason ? 'denied' : 'granted',
        reason,
        loginUser: m[1],
        targetUser: target,
        commandLine: m[3],
        cwd: field('PWD'),
        tty: terminal(field('TTY')),
      },
      pid
    );
  }

  /** util-linux su: `(to root) alice on pts/0`, `FAILED SU (to root) alice on pts/0`. */
  private su(text: string, pid: number | undefined): NewEvent | null {
    const ok = SU_GRANTED.exec(text);
    const m = ok ?? SU_FAILED.exec(text);
    if (!m) return null;
    if (ok && pid !== undefined) {
      this.suUsers.set(pid, m[2]);
      if (this.suUsers.size > MAX_CONNECTIONS) this.suUsers.delete(this.suUsers.keys().next().value!);
    }
    return this.event(
      {
        type: 'host.activity',
        activity: 'su',
        message: `su ${ok ? 'granted' : 'denied'}: ${m[2]} to ${m[1]} on ${m[3]}`,
        outcome: ok ? 'granted' : 'denied',
        reason: ok ? undefined : 'authentication failure',
        loginUser: m[2],
        targetUser: m[1],
        tty: terminal(m[3]),
      },
      pid
    );
  }
}
