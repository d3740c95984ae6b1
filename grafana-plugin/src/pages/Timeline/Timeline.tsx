import React, { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useLocation } from 'react-router-dom';
import { css } from '@emotion/css';
import { GrafanaTheme2, getTimeZone, type TimeRange, type TimeZone } from '@grafana/data';
import { PluginPage, locationService } from '@grafana/runtime';
import { Alert, Button, Icon, Input, LinkButton, Stack, TimeRangePicker, useStyles2 } from '@grafana/ui';
import { EVENT_TYPE_NAMES, eventsQuery, nsToMs, type CasefileEvent, type EventType } from '@casefile/schema';
import {
  ForensicView,
  bucketsRange,
  testIds,
  toggleHidden,
  totalsByType,
  type Buckets,
} from '@casefile/timeline-ui';
import { LED_UP_TO_MINUTES, ROUTES, prefixRoute } from '../../constants';
import { ScopePickers } from '../../components/ScopePickers/ScopePickers';
import { PinSnapshot } from '../../components/PinSnapshot/PinSnapshot';
import { useSettings } from '../../settings';
import { exploreUrl } from '../../queries/explore';
import { absoluteUrl } from '../../queries/http';
import { readEventById } from '../../queries/loki';
import { liveCsvUrl } from '../../queries/server';
import { parseState, stateParams, urlRange, type TimelineState } from './urlState';
import { useTimelineData } from './useTimelineData';

/** The forensic timeline over Loki: scope, time range, type toggles, search, grid, details, pin and export. */
export function Timeline() {
  const { lokiUid } = useSettings();
  const location = useLocation();
  const state = useMemo(() => parseState(location.search), [location.search]);
  if (!lokiUid) {
    return (
      <PluginPage>
        <Alert
          severity="warning"
          title="No Loki data source configured"
          data-testid={testIds.timeline.notice}
        >
          Pick the Loki data source that holds Casefile's events on the app's Configuration page.
        </Alert>
      </PluginPage>
    );
  }
  return (
    <PluginPage>
      <TimelineView lokiUid={lokiUid} state={state} />
    </PluginPage>
  );
}

function update(s: Partial<TimelineState>, replace = false) {
  locationService.partial(stateParams(s), replace);
}

function TimelineView({ lokiUid, state }: { lokiUid: string; state: TimelineState }) {
  const styles = useStyles2(getStyles);
  const range: TimeRange = useMemo(() => urlRange(state.from, state.to), [state.from, state.to]);
  const fromMs = range.from.valueOf();
  const toMs = range.to.valueOf();
  const timeZone: TimeZone = state.tz || getTimeZone();
  // Hidden types apply at once (in memory); the Loki query follows.
  const [hidden, setHidden] = useState(state.hidden);
  useEffect(() => setHidden(state.hidden), [state.hidden]);
  // Keep the scope object stable while only other URL params change, so the pickers do not re-render on a toggle.
  const scopeKey = JSON.stringify(state.scope);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const scope = useMemo(() => state.scope, [scopeKey]);
  const onScope = useCallback((s: TimelineState['scope']) => update({ scope: s, event: undefined }), []);
  const onSearch = useCallback((q: string) => update({ search: q, event: undefined }), []);
  const data = useTimelineData({
    uid: lokiUid,
    scope,
    search: state.search,
    hidden: state.hidden,
    fromMs,
    toMs,
  });
  const [selected, setSelected] = useState<CasefileEvent>();
  useEffect(() => {
    if (!state.event) setSelected(undefined);
  }, [state.event]);

  // Opened without a range of its own: fit the range to where the events are. The first fit is
  // as coarse as the hour's buckets (a 15 s attack in a 2-minute range), so it is fitted again
  // on the finer buckets of the fitted range, until they fill it (at most FIT_ROUNDS times).
  const fits = useRef(state.explicitRange ? FIT_ROUNDS : 0);
  useEffect(() => {
    if (fits.current >= FIT_ROUNDS || data.countsLoading) return;
    const counted = bucketsRange(data.buckets);
    if (counted.fromMs !== fromMs || counted.toMs !== toMs) return; // the counts of the range before
    const fit = fitRange(data.buckets);
    fits.current = fit ? fits.current + 1 : FIT_ROUNDS;
    if (fit) update({ from: String(fit.fromMs), to: String(fit.toMs) }, true);
  }, [data.countsLoading, data.buckets, fromMs, toMs]);

  // A link may name an event: open it once it is loaded (or read it by id).
  useEffect(() => {
    if (!state.event || selected?.id === state.event) return;
    const hit = data.events.find((e) => e.id === state.event);
    if (hit) return setSelected(hit);
    let live = true;
    readEventById(lokiUid, state.event, fromMs, toMs).then(
      (e) => live && e && setSelected(e),
      () => undefined
    );
    return () => {
      live = false;
    };
  }, [state.event, data.events, lokiUid, fromMs, toMs, selected?.id]);

  const toggle = (t: EventType) => {
    const next = toggleHidden(hidden, t);
    setHidden(next);
    update({ hidden: next }, true);
  };
  const shownTypes = hidden.size ? EVENT_TYPE_NAMES.filter((t) => !hidden.has(t)) : undefined;
  const expr = eventsQuery({ scope, types: shownTypes, search: state.search || undefined });
  const totals = totalsByType(data.buckets);
  const total = EVENT_TYPE_NAMES.filter((t) => !hidden.has(t)).reduce((a, t) => a + totals[t], 0);

  // The container by its id alone: events the collector saw before the runtime named the container carry only the id.
  const ledUpTo = (e: CasefileEvent) => {
    const t = nsToMs(e.timeNs);
    setSelected(undefined);
    update({
      from: String(t - LED_UP_TO_MINUTES * 60_000),
      to: String(t + 1000),
      scope: e.containerId ? { containerId: e.containerId } : e.host ? { host: e.host } : scope,
      hidden: new Set(),
      event: e.id,
    });
  };
  const onSelect = useCallback((e: CasefileEvent | undefined) => {
    setSelected(e);
    update({ event: e?.id }, true);
  }, []);
  const countsKnown = !data.countsLoading && !data.error;
  const fit = useMemo(
    () => (data.countsLoading ? undefined : fitRange(data.buckets)),
    [data.countsLoading, data.buckets]
  );
  const incident = useMemo(
    () => (selected?.type === 'runtime.audit' ? selected : worstAudit(data.events)),
    [selected, data.events]
  );
  const what = (n: number) => n.toLocaleString('en-US');

  return (
    <div data-testid={testIds.timeline.page}>
      <Stack direction="row" wrap="wrap" alignItems="center" justifyContent="space-between">
        <ScopePickers lokiUid={lokiUid} scope={scope} fromMs={fromMs} toMs={toMs} onChange={onScope} />
        <RangePicker range={range} timeZone={timeZone} />
      </Stack>
      <Stack direction="row" alignItems="center" wrap="wrap">
        <SearchBox value={state.search} onCommit={onSearch} />
        <LinkButton
          variant="secondary"
          icon="compass"
          href={exploreUrl(lokiUid, expr, fromMs, toMs)}
          data-testid={testIds.timeline.explore}
          target="_blank"
        >
          Open in Explore
        </LinkButton>
        <LinkButton
          variant="secondary"
          icon="download-alt"
          href={absoluteUrl(liveCsvUrl(scope, fromMs, toMs, shownTypes, state.search || undefined))}
          download
          disabled={hidden.size === EVENT_TYPE_NAMES.length}
          data-testid={testIds.timeline.exportCsv}
        >
          Export CSV
        </LinkButton>
        <PinSnapshot
          scope={scope}
          fromMs={fromMs}
          toMs={toMs}
          types={shownTypes}
          search={state.search || undefined}
          incident={incident}
        />
      </Stack>
      <ForensicView
        buckets={data.buckets}
        events={data.events}
        hidden={hidden}
        onToggle={toggle}
        selected={selected}
        onSelect={onSelect}
        onZoom={(f, t) => update({ from: String(f), to: String(t) })}
        onEndReached={data.loadMore}
        loading={data.loading}
        countsLoading={data.countsLoading}
        countsFailed={data.countsFailed}
        error={data.error}
        onRetry={data.retry}
        timeZone={timeZone}
        emptyHint={
          <span>
            No events in this range{state.search ? ` matching “${state.search}”` : ''}
            {Object.values(scope).some(Boolean) ? ' within this scope' : ''}. Widen the time range
            {state.search ? ', clear the search' : ''}
            {Object.values(scope).some(Boolean) ? ', remove a scope filter' : ''}
            {hidden.size ? ', turn hidden types back on' : ''}.{' '}
            <Button
              size="sm"
              variant="secondary"
              fill="text"
              onClick={() =>
                update({ from: String(fromMs - (toMs - fromMs)), to: String(toMs + (toMs - fromMs)) })
              }
            >
              Widen ×3
            </Button>
          </span>
        }
        gridStatus={
          <span>
            {data.loading && data.events.length === 0
              ? 'Loading events…'
              : `${what(data.events.length)} loaded`}
            {countsKnown ? ` of ${what(total)} events in range` : data.countsLoading ? ', counting…' : ''}
            {data.more ? ' — scroll for more' : ''}
            {data.loading && data.events.length > 0 ? ' — loading more…' : ''}
            {data.unreadable > 0 && (
              <span data-testid="casefile-timeline-unreadable">
                {' — '}
                {data.unreadable.toLocaleString('en-US')} {data.unreadable === 1 ? 'entry' : 'entries'} could
                not be read as Casefile events (a newer collector?); the CSV export and snapshots keep them
              </span>
            )}
          </span>
        }
        detailActions={(e) => (
          <>
            <Button size="sm" icon="history" onClick={() => ledUpTo(e)} data-testid={testIds.view.ledUpTo}>
              What led up to this
            </Button>
            {(e.imageName || e.host) && (
              <Button
                size="sm"
                variant="secondary"
                icon="cube"
                onClick={() =>
                  locationService.push(
                    `${prefixRoute(ROUTES.Models)}?${new URLSearchParams({
                      ...(e.imageName ? { image: e.imageName } : { host: e.host! }),
                      from: String(fromMs),
                      to: String(toMs),
                    }).toString()}`
                  )
                }
              >
                Runtime model of {e.imageName ?? `host ${e.host}`}
              </Button>
            )}
          </>
        )}
      />
      <div className={styles.hint}>
        Drag across the timeline to zoom into a range; click a bar to zoom into it.
        {fit && (
          <Button
            size="sm"
            variant="secondary"
            fill="text"
            icon="crosshair"
            onClick={() => update({ from: String(fit.fromMs), to: String(fit.toMs) })}
            data-testid={testIds.timeline.fit}
          >
            Zoom to where the events are
          </Button>
        )}
      </div>
    </div>
  );
}

const SEVERITY_RANK: Record<string, number> = { critical: 4, high: 3, medium: 2, low: 1 };

/** The most severe audit (the earliest of equals): what an investigation of this view is most likely about. */
function worstAudit(events: readonly CasefileEvent[]): CasefileEvent | undefined {
  let worst: CasefileEvent | undefined;
  for (const e of events)
    if (
      e.type === 'runtime.audit' &&
      (!worst || (SEVERITY_RANK[e.severity ?? ''] ?? 0) > (SEVERITY_RANK[worst.severity ?? ''] ?? 0))
    )
      worst = e;
  return worst;
}

/** Grafana's time range picker on the URL's from/to; memoised so type toggles do not re-render it. */
const RangePicker = React.memo(function RangePicker({
  range,
  timeZone,
}: {
  range: TimeRange;
  timeZone: TimeZone;
}) {
  const fromMs = range.from.valueOf();
  const toMs = range.to.valueOf();
  const shift = (dir: 1 | -1) => {
    const d = (toMs - fromMs) / 2;
    update({ from: String(fromMs + dir * d), to: String(toMs + dir * d) });
  };
  return (
    <TimeRangePicker
      value={range}
      onChange={(r) => update({ from: String(r.raw.from.valueOf()), to: String(r.raw.to.valueOf()) })}
      onMoveBackward={() => shift(-1)}
      onMoveForward={() => shift(1)}
      onZoom={() =>
        update({ from: String(fromMs - (toMs - fromMs) / 2), to: String(toMs + (toMs - fromMs) / 2) })
      }
      timeZone={timeZone}
      onChangeTimeZone={(tz) => update({ tz: tz || undefined }, true)}
    />
  );
});

/** How often a page opened without a range refits it to where the events are. */
const FIT_ROUNDS = 3;

/**
 * A range around where the events are, when they fill less than half of the buckets' range
 * (a short attack at the end of the last hour): the first to the last non-empty bucket,
 * with a bucket of margin on each side, kept within the range.
 */
export function fitRange(b: Buckets): { fromMs: number; toMs: number } | undefined {
  const r = b.range ?? { fromMs: b.fromMs, toMs: b.toMs };
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of Object.values(b.counts))
    row?.forEach((c, i) => {
      if (c === 0) return;
      lo = Math.min(lo, i);
      hi = Math.max(hi, i);
    });
  if (lo > hi) return undefined;
  const fromMs = Math.max(r.fromMs, b.fromMs + (lo - 1) * b.stepMs);
  const toMs = Math.min(r.toMs, b.fromMs + (hi + 2) * b.stepMs);
  return toMs - fromMs < (r.toMs - r.fromMs) / 2 ? { fromMs, toMs } : undefined;
}

/** The search box: commits on Enter or after a pause in typing; the search itself runs in Loki (escaped by schema). */
function SearchBox({ value, onCommit }: { value: string; onCommit: (q: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (text === value) return;
    const t = setTimeout(() => onCommit(text), 500);
    return () => clearTimeout(t);
  }, [text, value, onCommit]);
  return (
    <Input
      width={40}
      prefix={<Icon name="search" />}
      placeholder="Search messages"
      value={text}
      onChange={(e) => setText(e.currentTarget.value)}
      onKeyDown={(e) => e.key === 'Enter' && onCommit(text)}
      data-testid={testIds.timeline.search}
      aria-label="Search messages"
    />
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  hint: css({ color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize }),
});
