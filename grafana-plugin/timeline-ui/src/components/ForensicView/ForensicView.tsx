import React, { useCallback, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { Alert, Button, LoadingBar, useStyles2 } from '@grafana/ui';
import { nsToMs, type CasefileEvent, type EventType } from '@casefile/schema';
import { auditGroups } from '../../model/auditGroups';
import { bucketsRange, totalsByType, type Buckets } from '../../model/buckets';
import { parseColumns, type OptionalColumn } from '../../model/columns';
import { filterByType } from '../../model/filter';
import { processTree, startsByKey } from '../../model/processTree';
import type { TimeZone } from '../../model/time';
import { testIds } from '../../testIds';
import { AuditSummary } from '../AuditSummary/AuditSummary';
import { EventDetails } from '../EventDetails/EventDetails';
import { EventGrid, ROW_HEIGHT } from '../EventGrid/EventGrid';
import { TimelineChart } from '../TimelineChart/TimelineChart';
import { TypeToggles } from '../TypeToggles/TypeToggles';

export interface ForensicViewProps {
  buckets: Buckets;
  /** Events loaded so far (all types); the grid hides toggled-off types in memory. */
  events: readonly CasefileEvent[];
  hidden: ReadonlySet<EventType>;
  onToggle: (type: EventType) => void;
  selected?: CasefileEvent;
  onSelect: (e: CasefileEvent | undefined) => void;
  onZoom?: (fromMs: number, toMs: number) => void;
  onEndReached?: () => void;
  gridStatus?: React.ReactNode;
  /** Events are being read: the grid says so instead of "no events". */
  loading?: boolean;
  /** The counts are being read: the chart says so instead of "no events in range". */
  countsLoading?: boolean;
  /** The counts could not be read. */
  countsFailed?: boolean;
  /** Shown in words above the view (never a blank page). */
  error?: string;
  /** Offered beside an error. */
  onRetry?: () => void;
  /** What the grid says when the range holds no events (how to widen). */
  emptyHint?: React.ReactNode;
  timeZone?: TimeZone;
  /** Buttons in the details drawer for the selected event. */
  detailActions?: (e: CasefileEvent) => React.ReactNode;
  gridHeight?: number;
  chartHeight?: number;
  /** Shown above the toggles, inside the view's height. */
  notice?: React.ReactNode;
  /** The height the whole view must fit in (a dashboard panel): the grid takes what the rest leaves. */
  height?: number;
}

/**
 * The grid height that makes the view exactly `total` tall: measured from the rendered content
 * (toggles wrap, errors come and go), so nothing overflows. The measured element must not be the
 * one whose height is capped: a capped box reads as already fitting while its last lines (the
 * grid's status) are clipped. Without `total`, `fallback`.
 */
function useFillHeight(total: number | undefined, fallback: number) {
  const ref = useRef<HTMLDivElement>(null);
  const [grid, setGrid] = useState(fallback);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el || total === undefined || typeof ResizeObserver === 'undefined') return;
    const fit = () => {
      const rendered = el.offsetHeight;
      if (!rendered) return;
      setGrid((g) => {
        const next = Math.max(ROW_HEIGHT * 2, Math.floor(total - (rendered - g)));
        return Math.abs(next - g) >= 1 ? next : g;
      });
    };
    const ro = new ResizeObserver(fit);
    ro.observe(el);
    fit();
    return () => ro.disconnect();
  }, [total]);
  return { ref, gridHeight: total === undefined ? fallback : grid };
}

/** The loaded audits by severity in each of the buckets' buckets (audits are few: one pass over the events). */
function auditSeverities(b: Buckets, events: readonly CasefileEvent[]) {
  if (!b.counts['runtime.audit']) return undefined;
  const out: Array<Record<string, number> | undefined> = [];
  const r = bucketsRange(b);
  for (const e of events) {
    if (e.type !== 'runtime.audit' || !e.severity) continue;
    const t = nsToMs(e.timeNs);
    if (t < r.fromMs || t >= r.toMs) continue;
    const i = Math.floor((t - b.fromMs) / b.stepMs);
    const row = (out[i] ??= {});
    row[e.severity] = (row[e.severity] ?? 0) + 1;
  }
  return out;
}

const COLUMNS_KEY = 'casefile.grid.columns';

/** The grid's columns, remembered in this browser. */
function useColumns(): [OptionalColumn[], (c: OptionalColumn[]) => void] {
  const [cols, setCols] = useState(() => {
    try {
      return parseColumns(window.localStorage.getItem(COLUMNS_KEY));
    } catch {
      return parseColumns(undefined);
    }
  });
  const set = useCallback((c: OptionalColumn[]) => {
    setCols(c);
    try {
      window.localStorage.setItem(COLUMNS_KEY, c.join(','));
    } catch {
      // Storage refused (private mode): the choice lasts for this page.
    }
  }, []);
  return [cols, set];
}

/**
 * The timeline, its type toggles, the grid that follows them, and the details beside the grid
 * (with the process tree and the audits of the same action): shared by every view of events.
 */
export function ForensicView(p: ForensicViewProps) {
  const styles = useStyles2(getStyles);
  const totals = useMemo(() => totalsByType(p.buckets), [p.buckets]);
  const shown = useMemo(() => filterByType(p.events, p.hidden), [p.events, p.hidden]);
  const groups = useMemo(() => auditGroups(p.events), [p.events]);
  const severities = useMemo(() => auditSeverities(p.buckets, p.events), [p.buckets, p.events]);
  const starts = useMemo(() => startsByKey(p.events), [p.events]);
  const loadedAudits = useMemo(() => p.events.filter((e) => e.type === 'runtime.audit'), [p.events]);
  const [columns, setColumns] = useColumns();
  const fill = useFillHeight(p.height, p.gridHeight ?? 420);
  const sel = p.selected;
  const tree = useMemo(() => (sel ? processTree(sel, p.events, starts) : undefined), [sel, p.events, starts]);
  const busy = p.loading && p.events.length === 0;
  return (
    <div
      data-testid={testIds.view.container}
      style={p.height === undefined ? undefined : { maxHeight: p.height, overflow: 'hidden' }}
      onKeyDown={(e) => {
        if (e.key === 'Escape' && sel) p.onSelect(undefined);
      }}
    >
      <div ref={fill.ref} className={styles.measured}>
        {p.notice}
        {p.error && (
          <Alert severity="error" title="Could not load events" data-testid={testIds.view.error}>
            <div>{p.error}</div>
            {p.onRetry && (
              <Button
                size="sm"
                variant="secondary"
                icon="sync"
                onClick={p.onRetry}
                data-testid={testIds.view.retry}
              >
                Retry
              </Button>
            )}
          </Alert>
        )}
        <TypeToggles totals={totals} hidden={p.hidden} onToggle={p.onToggle} />
        <TimelineChart
          buckets={p.buckets}
          hidden={p.hidden}
          onZoom={p.onZoom}
          height={p.chartHeight}
          markerMs={sel ? nsToMs(sel.timeNs) : undefined}
          loading={p.countsLoading}
          failed={p.countsFailed}
          timeZone={p.timeZone}
          severities={severities}
        />
        <AuditSummary total={totals['runtime.audit'] ?? 0} audits={loadedAudits} onOpen={p.onSelect} />
        <div className={styles.loadingLine}>
          {p.loading && (
            <div data-testid={testIds.view.loading}>
              <LoadingBar width={300} />
            </div>
          )}
        </div>
        <div className={sel ? styles.split : undefined}>
          <EventGrid
            events={shown}
            onSelect={p.onSelect}
            selectedId={sel?.id}
            onEndReached={p.onEndReached}
            status={p.gridStatus}
            empty={busy ? 'Loading events…' : p.error ? 'No events could be read.' : p.emptyHint}
            height={fill.gridHeight}
            columns={columns}
            onColumns={setColumns}
            timeZone={p.timeZone}
            groups={groups}
            compact={Boolean(sel)}
          />
          {sel && (
            <div className={styles.side} style={{ maxHeight: fill.gridHeight + 60 }}>
              <EventDetails
                event={sel}
                onClose={() => p.onSelect(undefined)}
                actions={p.detailActions?.(sel)}
                tree={tree}
                related={groups.get(sel.id)}
                onOpen={p.onSelect}
                timeZone={p.timeZone}
              />
            </div>
          )}
        </div>
      </div>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  // Details beside the grid, never over the timeline.
  split: css({
    display: 'grid',
    gridTemplateColumns: 'minmax(0, 1fr) minmax(320px, 34%)',
    gap: theme.spacing(1),
    alignItems: 'start',
  }),
  side: css({ display: 'flex', flexDirection: 'column', minHeight: 0, '& > section': { flex: 1 } }),
  loadingLine: css({ height: 2 }),
  // Its own block formatting context: the children's margins count in its measured height.
  measured: css({ display: 'flow-root' }),
});
