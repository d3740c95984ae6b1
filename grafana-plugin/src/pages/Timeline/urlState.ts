import { dateTime, rangeUtil, type TimeRange } from '@grafana/data';
import { SCOPE_KEYS, isEventType, type EventType, type Scope } from '@casefile/schema';

/** The timeline's state, kept in the URL so a link (an audit, a snapshot, Explore) reproduces the view. */
export interface TimelineState {
  /** Grafana raw time: 'now-1h' or ms since the epoch. */
  from: string;
  to: string;
  scope: Scope;
  search: string;
  hidden: Set<EventType>;
  /** Id of the event whose details are open. */
  event?: string;
  /** The URL names a range (else the default, which the page may fit to where the events are). */
  explicitRange?: boolean;
  /** 'utc' to read times in UTC; absent: Grafana's time zone for this user. */
  tz?: string;
}

export const DEFAULT_FROM = 'now-1h';
export const DEFAULT_TO = 'now';

/**
 * Read the state from a query string.
 *
 * @example parseState('?from=now-6h&containerName=web&hide=process.exit').scope // => { containerName: 'web' }
 */
export function parseState(search: string): TimelineState {
  const p = new URLSearchParams(search);
  const scope: Scope = {};
  for (const k of SCOPE_KEYS) {
    const v = p.get(k);
    if (v) scope[k] = v;
  }
  const hidden = new Set<EventType>((p.get('hide') ?? '').split(',').filter(isEventType));
  return {
    from: p.get('from') || DEFAULT_FROM,
    to: p.get('to') || DEFAULT_TO,
    scope,
    search: p.get('q') ?? '',
    hidden,
    event: p.get('event') || undefined,
    tz: p.get('tz') || undefined,
    explicitRange: p.has('from') || p.has('to'),
  };
}

/** The query-object form for locationService.partial (null removes a key). */
export function stateParams(s: Partial<TimelineState>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (s.from !== undefined) out.from = s.from;
  if (s.to !== undefined) out.to = s.to;
  if (s.scope) for (const k of SCOPE_KEYS) out[k] = s.scope[k] || null;
  if (s.search !== undefined) out.q = s.search || null;
  if (s.hidden) out.hide = s.hidden.size ? [...s.hidden].join(',') : null;
  if ('event' in s) out.event = s.event ?? null;
  if ('tz' in s) out.tz = s.tz ?? null;
  return out;
}

/** A timeline URL's query string for a state (links from other pages). */
export function stateQuery(s: Partial<TimelineState>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(stateParams(s))) if (v !== null) p.set(k, v);
  return p.toString();
}

/**
 * The range of URL times, as Grafana reads them: digits are epoch ms, the rest date math (`now-1h`).
 * A 13-digit string handed to date math as text can be read as an ISO basic date (seen in Chromium:
 * `to=1796120140001` became 1796-12-01 04:00:01 and the range was empty).
 */
export function urlRange(from: string, to: string): TimeRange {
  const raw = (s: string) => (/^\d+$/.test(s) ? dateTime(Number(s)) : s);
  return rangeUtil.convertRawToRange({ from: raw(from), to: raw(to) });
}
