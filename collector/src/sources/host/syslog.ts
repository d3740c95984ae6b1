/**
 * Syslog file lines as rsyslog writes them: RFC 3339 time (Debian 12's
 * default, microseconds) or the traditional `Mmm dd HH:MM:SS` (no year, no
 * zone: the collector's local time). The time keeps the precision the line has.
 */

/** One parsed syslog line. */
export interface SyslogLine {
  /** Nanoseconds since the epoch as a decimal string (the event's `timeNs`). */
  timeNs: string;
  program: string;
  pid?: number;
  text: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// program: up to the first space, colon or `[`; rsyslog writes `prog[pid]: text` or `prog: text`.
const TAIL = String.raw`\s+\S+\s+([^\s:[]+)(?:\[(\d+)\])?:\s?(.*)$`;
const RFC3339 = new RegExp(
  String.raw`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)` + TAIL
);
const TRADITIONAL = new RegExp(String.raw`^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)` + TAIL);

/**
 * Parse a syslog line, or null when it is not one. Traditional times get the
 * current year, or last year when that would put them more than a day in the
 * future (a December line read in January).
 * @example parseSyslogLine('2026-11-27T21:00:01.123456+00:00 node-1 sshd[22]: Accepted ...')
 *   // => { timeNs: '1795813201123456000', program: 'sshd', pid: 22, text: 'Accepted ...' }
 */
export function parseSyslogLine(line: string, now = new Date()): SyslogLine | null {
  let m = RFC3339.exec(line);
  if (m) {
    const ms = Date.parse(m[1] + m[3]);
    if (!Number.isFinite(ms)) return null;
    const fractionNs = BigInt((m[2] ?? '').padEnd(9, '0'));
    return withTail((BigInt(ms) * 1_000_000n + fractionNs).toString(), m[4], m[5], m[6]);
  }
  m = TRADITIONAL.exec(line);
  if (!m) return null;
  const month = MONTHS.indexOf(m[1]);
  if (month < 0) return null;
  const at = (year: number) =>
    new Date(year, month, Number(m![2]), Number(m![3]), Number(m![4]), Number(m![5])).getTime();
  let ms = at(now.getFullYear());
  if (ms > now.getTime() + 86_400_000) ms = at(now.getFullYear() - 1);
  if (!Number.isFinite(ms)) return null;
  return withTail((BigInt(ms) * 1_000_000n).toString(), m[6], m[7], m[8]);
}

function withTail(timeNs: string, program: string, pid: string | undefined, text: string): SyslogLine {
  return pid === undefined ? { timeNs, program, text } : { timeNs, program, pid: Number(pid), text };
}
