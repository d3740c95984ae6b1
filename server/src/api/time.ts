/**
 * Time parameters: milliseconds since the epoch (as Grafana sends `from`/`to`)
 * or an RFC 3339 timestamp (nanosecond fractions kept). Result: ns string.
 * Bounded to what Loki and the store can hold: not before the epoch, not more
 * than {@link MAX_FUTURE_MS} ahead of now (Loki holds nothing there, and a
 * time past year 9999 cannot even be written as RFC 3339), and a window no
 * longer than the configured maximum. Out of bounds is a 400 naming the field.
 *
 * @example parseTime('1700000000000', 'from') // => '1700000000000000000'
 * @example parseTime('2023-11-14T22:13:20.000000001Z', 'from') // => '1700000000000000001'
 */
import { msToNs, nsToIso } from '@casefile/schema';
import { ApiError } from './errors';

/** How far ahead of now a time may be: Loki accepts entries only slightly in the future. */
export const MAX_FUTURE_MS = 86_400_000;

const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i;

const bad = (name: string, why: string) => new ApiError(400, 'bad_request', `${name}: ${why}`);

/** Parse one time; `name` is the field, for the error. */
export function parseTime(v: string | number, name: string, nowMs = Date.now()): string {
  const s = String(v).trim();
  let ns: bigint;
  if (/^\d{1,16}$/.test(s)) ns = BigInt(msToNs(Number(s)));
  else {
    const m = RFC3339.exec(s);
    const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
    if (!m || Number.isNaN(ms))
      throw bad(
        name,
        `expected milliseconds since the epoch or an RFC 3339 time, got ${JSON.stringify(s.slice(0, 40))}`
      );
    ns = BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
  }
  if (ns < 0n) throw bad(name, `${JSON.stringify(s.slice(0, 40))} is before 1970-01-01T00:00:00Z`);
  const limit = BigInt(nowMs + MAX_FUTURE_MS) * 1_000_000n;
  if (ns > limit)
    throw bad(
      name,
      `${JSON.stringify(s.slice(0, 40))} is more than a day in the future (latest ${nsToIso(limit.toString())})`
    );
  return ns.toString();
}

/** Parse a window `[from, to)`: from before to, at most `maxSeconds` long. */
export function parseWindow(
  from: string | number,
  to: string | number,
  maxSeconds: number,
  nowMs = Date.now()
): { fromNs: string; toNs: string } {
  const fromNs = parseTime(from, 'from', nowMs);
  const toNs = parseTime(to, 'to', nowMs);
  if (BigInt(fromNs) >= BigInt(toNs)) throw bad('to', 'must be after `from`');
  if (BigInt(toNs) - BigInt(fromNs) > BigInt(maxSeconds) * 1_000_000_000n)
    throw bad('to', `the window from \`from\` is longer than ${maxSeconds} s (maxWindowSeconds)`);
  return { fromNs, toNs };
}
