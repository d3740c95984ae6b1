import React, { useMemo, useState } from 'react';
import type { PanelProps } from '@grafana/data';
import { Alert } from '@grafana/ui';
import { stepFor, type CasefileEvent, type EventType } from '@casefile/schema';
import { ForensicView, bucketEvents, testIds, toggleHidden } from '@casefile/timeline-ui';
import { eventsFromFrames } from './frames';

/** Panel options: none yet; the query (a Casefile LogQL log query) is the configuration. */
export type TimelinePanelOptions = Record<string, never>;

const STEP_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A Loki log query's results as the Casefile timeline, toggles and grid. */
export function TimelinePanel({
  data,
  timeRange,
  height,
  onChangeTimeRange,
}: PanelProps<TimelinePanelOptions>) {
  const [hidden, setHidden] = useState<ReadonlySet<EventType>>(new Set());
  const [selected, setSelected] = useState<CasefileEvent>();
  const { events, skipped } = useMemo(() => eventsFromFrames(data.series), [data.series]);
  const fromMs = timeRange.from.valueOf();
  const toMs = Math.max(fromMs + 1, timeRange.to.valueOf());
  const buckets = useMemo(() => {
    const step = stepFor(toMs - fromMs, 60);
    const m = /^(\d+)([smhd])$/.exec(step)!;
    return bucketEvents(events, fromMs, toMs, Number(m[1]) * STEP_MS[m[2]]);
  }, [events, fromMs, toMs]);
  const chartHeight = Math.max(40, Math.min(120, height * 0.25));
  const error = data.errors?.map((e) => e.message).join('; ') || data.error?.message;

  return (
    <div data-testid={testIds.panel.container} style={{ height, overflow: 'hidden' }}>
      <ForensicView
        buckets={buckets}
        events={events}
        hidden={hidden}
        onToggle={(t) => setHidden(toggleHidden(hidden, t))}
        selected={selected}
        onSelect={setSelected}
        onZoom={(from, to) => onChangeTimeRange({ from, to })}
        error={error}
        chartHeight={chartHeight}
        height={height}
        notice={
          skipped > 0 && (
            <Alert severity="info" title={`${skipped} entries are not Casefile events`}>
              Use a query built by Casefile (service_namespace="casefile").
            </Alert>
          )
        }
      />
    </div>
  );
}
