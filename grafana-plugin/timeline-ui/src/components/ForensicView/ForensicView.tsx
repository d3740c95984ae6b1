import React, { useMemo } from 'react';
import { Alert, LoadingBar } from '@grafana/ui';
import type { CasefileEvent, EventType } from '@casefile/schema';
import { totalsByType, type Buckets } from '../../model/buckets';
import { filterByType } from '../../model/filter';
import { testIds } from '../../testIds';
import { EventDetails } from '../EventDetails/EventDetails';
import { EventGrid } from '../EventGrid/EventGrid';
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
}

/** The timeline, its type toggles, the grid that follows them, and the details drawer: shared by every view of events. */
export function ForensicView(p: ForensicViewProps) {
  const totals = useMemo(() => totalsByType(p.buckets), [p.buckets]);
  const shown = useMemo(() => filterByType(p.events, p.hidden), [p.events, p.hidden]);
  return (
    <div data-testid={testIds.view.container}>
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
        height={p.gridHeight}
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
