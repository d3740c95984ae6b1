import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  EVENT_TYPE_NAMES,
  compareEvents,
  msToNs,
  type CasefileEvent,
  type EventType,
  type Scope,
} from '@casefile/schema';
import { bucketEvents, type Buckets } from '@casefile/timeline-ui';
import { FIRST_PAGE_SIZE, MAX_GRID_EVENTS } from '../../constants';
import { EventReader, countByType } from '../../queries/loki';

export interface TimelineData {
  buckets: Buckets;
  events: CasefileEvent[];
  /** More events in range than loaded so far. */
  more: boolean;
  /** Entries read so far that Loki holds in range but that are not Casefile events. */
  unreadable: number;
  /** Events are being read. */
  loading: boolean;
  /** The counts per type are being read (until then the totals are unknown, not zero). */
  countsLoading: boolean;
  /** The counts could not be read (the chart says so rather than "no events"). */
  countsFailed: boolean;
  error?: string;
  loadMore: () => void;
  /** Read everything again (after an error). */
  retry: () => void;
}

interface Query {
  uid?: string;
  scope: Scope;
  search: string;
  hidden: ReadonlySet<EventType>;
  fromMs: number;
  toMs: number;
}

/** Union of two event lists by id, in (time, id) order. */
export function mergeEvents(a: readonly CasefileEvent[], b: readonly CasefileEvent[]): CasefileEvent[] {
  const seen = new Set(a.map((e) => e.id));
  return a.concat(b.filter((e) => !seen.has(e.id))).sort(compareEvents);
}

/**
 * Loads the timeline from Loki: counts per type (a metric query) and the
 * first page of events; more pages on demand. A change of the hidden types
 * re-queries the events with the type filter in the background; meanwhile the
 * grid filters in memory, over the loaded events merged with the last
 * unfiltered ones, so a type turned back on shows at once.
 */
export function useTimelineData(q: Query): TimelineData {
  const { uid, scope, search, hidden, fromMs, toMs } = q;
  const [buckets, setBuckets] = useState<Buckets>(() =>
    bucketEvents([], fromMs, toMs, Math.max(1, toMs - fromMs))
  );
  const [events, setEvents] = useState<CasefileEvent[]>([]);
  /** What `events` were read for, and the last events read with no type hidden (same scope, search, range). */
  const [eventsKey, setEventsKey] = useState('');
  const [base, setBase] = useState<{ key: string; events: CasefileEvent[] }>({ key: '', events: [] });
  const reader = useRef<EventReader | undefined>(undefined);
  const [more, setMore] = useState(false);
  const [unreadable, setUnreadable] = useState(0);
  const [loading, setLoading] = useState(true);
  const [countsLoading, setCountsLoading] = useState(true);
  const [attempt, setAttempt] = useState(0);
  const retry = useCallback(() => setAttempt((a) => a + 1), []);
  const [countError, setCountError] = useState<string>();
  const [error, setError] = useState<string>();
  const gen = useRef(0);
  const scopeKey = JSON.stringify(scope);
  const hiddenKey = [...hidden].sort().join(',');
  const baseKey = `${scopeKey}|${search}|${fromMs}|${toMs}`;
  const key = `${baseKey}|${hiddenKey}`;
  const types = hidden.size ? EVENT_TYPE_NAMES.filter((t) => !hidden.has(t)) : undefined;
  const filter = { scope, search: search || undefined, types };

  useEffect(() => {
    if (!uid) return;
    let live = true;
    setCountError(undefined);
    setCountsLoading(true);
    countByType(uid, { scope, search: search || undefined }, fromMs, toMs).then(
      (b) => {
        if (!live) return;
        setBuckets(b);
        setCountsLoading(false);
      },
      (e: Error) => {
        if (!live) return;
        setCountError(`Counting the events per type failed. ${e.message}`);
        setCountsLoading(false);
      }
    );
    return () => {
      live = false;
    };
    // scopeKey stands for scope
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [uid, scopeKey, search, fromMs, toMs, attempt]);

  useEffect(() => {
    if (!uid) return;
    const my = ++gen.current;
    setLoading(true);
    setError(undefined);
    const r = (reader.current = new EventReader(uid, filter, msToNs(fromMs), msToNs(toMs)));
    r.nextPage(FIRST_PAGE_SIZE).then(
      (page) => {
        if (my !== gen.current) return;
        setEvents(page.events);
        setEventsKey(key);
        if (!hiddenKey) setBase({ key: baseKey, events: page.events });
        setMore(!r.done);
        setUnreadable(r.unreadableCount);
        setLoading(false);
      },
      (e: Error) => {
        if (my !== gen.current) return;
        setError(`Reading the events failed. ${e.message}`);
        setEvents([]);
        setMore(false);
        setUnreadable(0);
        setLoading(false);
      }
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [uid, scopeKey, search, hiddenKey, fromMs, toMs, attempt]);

  const loadMore = useCallback(() => {
    const r = reader.current;
    if (!uid || !r || r.done || loading || events.length >= MAX_GRID_EVENTS) return;
    const my = gen.current;
    setLoading(true);
    r.nextPage().then(
      (page) => {
        if (my !== gen.current) return;
        setEvents((prev) => prev.concat(page.events));
        if (!hiddenKey) setBase((b) => ({ key: b.key, events: b.events.concat(page.events) }));
        setMore(!r.done);
        setUnreadable(r.unreadableCount);
        setLoading(false);
      },
      (e: Error) => {
        if (my !== gen.current) return;
        setError(`Reading more events failed. ${e.message}`);
        setLoading(false);
      }
    );
  }, [uid, loading, events, hiddenKey]);

  const shown = useMemo(
    () =>
      eventsKey !== key && eventsKey.startsWith(`${baseKey}|`) && base.key === baseKey
        ? mergeEvents(events, base.events)
        : events,
    [events, eventsKey, key, baseKey, base]
  );
  const errors = [countError, error].filter(Boolean).join(' ');
  return {
    buckets,
    events: shown,
    more,
    unreadable,
    loading,
    countsLoading,
    countsFailed: Boolean(countError),
    error: errors || undefined,
    loadMore,
    retry,
  };
}
