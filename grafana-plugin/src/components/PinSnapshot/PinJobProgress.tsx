import React from 'react';
import { VizOrientation } from '@grafana/data';
import { BarGauge, LoadingBar, Stack, Text, useTheme2 } from '@grafana/ui';
import { BarGaugeDisplayMode } from '@grafana/schema';
import type { PinJob } from '../../queries/server';
import { pinJobTestIds } from './testIds';

const n = (x: number) => x.toLocaleString('en-US');

/** Seconds and minutes as a reader says them: `8 s`, `2 min 05 s`. */
export function elapsedText(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * Where a pin job stands, in words.
 *
 * @example progressText({ state: 'running', phase: 'reading', eventsRead: 1200, estimatedTotal: 4800, elapsedMs: 3200 } as never) // => 'Reading events from Loki: 1,200 of about 4,800 (25 %) · 3 s'
 */
export function progressText(job: PinJob): string {
  const t = elapsedText(job.elapsedMs);
  if (job.state === 'queued') return `Waiting for a free slot (other pins are running) · ${t}`;
  if (job.phase === 'storing') return `Storing ${n(job.eventsRead)} events in one transaction · ${t}`;
  if (job.estimatedTotal === null)
    return `Reading events from Loki: ${n(job.eventsRead)} so far (counting the window…) · ${t}`;
  const pct =
    job.estimatedTotal > 0 ? Math.min(100, Math.floor((job.eventsRead / job.estimatedTotal) * 100)) : 100;
  return `Reading events from Loki: ${n(job.eventsRead)} of about ${n(job.estimatedTotal)} (${pct} %) · ${t}`;
}

/** A running pin job's bar (Grafana's bar gauge; a loading bar until Loki has counted the window) and its words. */
export function PinJobProgress({ job, width = 320 }: { job: PinJob; width?: number }) {
  const theme = useTheme2();
  const total = job.estimatedTotal === null ? undefined : Math.max(job.estimatedTotal, job.eventsRead);
  return (
    <div
      role="progressbar"
      aria-label={`Pinning “${job.title}”`}
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={job.eventsRead}
      aria-valuetext={progressText(job)}
      data-testid={pinJobTestIds.progress}
      data-events-read={job.eventsRead}
      data-estimated-total={job.estimatedTotal ?? ''}
    >
      <Stack direction="column" gap={0.5}>
        {total === undefined ? (
          <div style={{ position: 'relative', width, height: 4 }}>
            <LoadingBar width={width} />
          </div>
        ) : (
          <BarGauge
            width={width}
            height={16}
            theme={theme}
            orientation={VizOrientation.Horizontal}
            displayMode={BarGaugeDisplayMode.Basic}
            field={{ min: 0, max: total || 1 }}
            value={{ numeric: job.eventsRead, text: '', color: theme.colors.primary.main }}
            showUnfilled
          />
        )}
        <span data-testid={pinJobTestIds.progressText}>
          <Text variant="bodySmall" color="secondary">
            {progressText(job)}
          </Text>
        </span>
      </Stack>
    </div>
  );
}
