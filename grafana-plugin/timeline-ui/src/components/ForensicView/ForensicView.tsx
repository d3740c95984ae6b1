import React, { useLayoutEffect, useMemo, useRef, useState } from 'react';
import { Alert, LoadingBar } from '@grafana/ui';
import type { CasefileEvent, EventType } from '@casefile/schema';
import { totalsByType, type Buckets } from '../../model/buckets';
import { filterByType } from '../../model/filter';
import { testIds } from '../../testIds';
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
  loading?: boolean;
  /** Shown in words above the view (never a blank page). */
  error?: string;
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
 * The grid height that makes the view exactly `total` tall: measured from the rendered view
 * (toggles wrap, errors come and go), so nothing overflows. Without `total`, `fallback`.
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

/** The timeline, its type toggles, the grid that follows them, and the details drawer: shared by every view of events. */
export function ForensicView(p: ForensicViewProps) {
  const totals = useMemo(() => totalsByType(p.buckets), [p.buckets]);
  const shown = useMemo(() => filterByType(p.events, p.hidden), [p.events, p.hidden]);
  const fill = useFillHeight(p.height, p.gridHeight ?? 420);
  return (
    <div
      ref={fill.ref}
      data-testid={testIds.view.container}
      style={p.height === undefined ? undefined : { maxHeight: p.height, overflow: 'hidden' }}
    >
      {p.notice}
      {p.loading && (
        <div data-testid={testIds.view.loading}>
          <LoadingBar width={300} />
        </div>
      )}
      {p.error && (
        <Alert severity="error" title="Could not load events" data-testid={testIds.view.error}>
          {p.error}
        </Alert>
      )}
      <TypeToggles totals={totals} hidden={p.hidden} onToggle={p.onToggle} />
      <TimelineChart buckets={p.buckets} hidden={p.hidden} onZoom={p.onZoom} height={p.chartHeight} />
      <EventGrid
        events={shown}
        onSelect={p.onSelect}
        selectedId={p.selected?.id}
        onEndReached={p.onEndReached}
        status={p.gridStatus}
        height={fill.gridHeight}
      />
      {p.selected && (
        <EventDetails
          event={p.selected}
          onClose={() => p.onSelect(undefined)}
          actions={p.detailActions?.(p.selected)}
        />
      )}
    </div>
  );
}
