/**
 * Time parameters: milliseconds since the epoch (as Grafana sends `from`/`to`)
 * or an RFC 3339 timestamp (nanosecond fractions kept). Result: ns string.
 *
 * @example parseTime('1700000000000') // => '1700000000000000000'
 * @example parseTime('2023-11-14T22:13:20.000000001Z') // => '1700000000000000001'
 */
import { msToNs } from '@casefile/schema';
import { ApiError } from './errors';

export function parseTime(v: string | number, name: string): string {
  const s = String(v).trim();
  if (/^\d{1,15}$/.test(s)) return msToNs(Number(s));
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(ms)) {
    throw new ApiError(
      400,
      'bad_request',
      `${name}: expected milliseconds since the epoch or an RFC 3339 time, got ${JSON.stringify(s.slice(0, 40))}`
    );
  }
  return (BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'))).toString();
}

/** Parse a window, checking from < to. */
export function parseWindow(from: string | number, to: string | number): { fromNs: string; toNs: string } {
  const fromNs = parseTime(from, 'from');
  const toNs = parseTime(to, 'to');
  if (BigInt(fromNs) >= BigInt(toNs)) throw new ApiError(400, 'bad_request', '`from` must be before `to`');
  return { fromNs, toNs };
}
