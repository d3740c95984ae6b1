import { dateTimeFormat, type TimeZone } from '@grafana/data';
import { nsToMs } from '@casefile/schema';

/** A time zone as Grafana names it: 'utc', 'browser' or an IANA name. */
export type { TimeZone };

/**
 * A time in ms as text in a Grafana time zone.
 *
 * @example formatMs(0, 'utc') // => '1970-01-01 00:00:00.000'
 */
export function formatMs(ms: number, timeZone: TimeZone, format = 'YYYY-MM-DD HH:mm:ss.SSS'): string {
  return dateTimeFormat(ms, { timeZone, format });
}

/** The digits below the millisecond of a nanosecond time ('000123' for ...000123 ns). */
export function subMs(timeNs: string): string {
  return timeNs.padStart(7, '0').slice(-6);
}

/**
 * An event time with its nanoseconds: '2026-12-01 09:42:51.123 456789'.
 *
 * @example formatNs('1500', 'utc') // => '1970-01-01 00:00:00.000 001500'
 */
export function formatNs(timeNs: string, timeZone: TimeZone): string {
  return `${formatMs(nsToMs(timeNs), timeZone)} ${subMs(timeNs)}`;
}

/** The zone's short name for column headers: 'UTC', or the offset such as 'UTC+01:00'. */
export function zoneLabel(timeZone: TimeZone, atMs = Date.now()): string {
  if (timeZone === 'utc') return 'UTC';
  const z = dateTimeFormat(atMs, { timeZone, format: 'Z' });
  return z === '+00:00' ? 'UTC' : `UTC${z}`;
}
