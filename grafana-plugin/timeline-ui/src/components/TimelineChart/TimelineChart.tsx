import React, { useRef, useState } from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { useStyles2 } from '@grafana/ui';
import { EVENT_TYPES, EVENT_TYPE_NAMES, type EventType } from '@casefile/schema';
import { bucketCount, stackTotals, type Buckets } from '../../model/buckets';
import { testIds } from '../../testIds';

interface Props {
  buckets: Buckets;
  hidden: ReadonlySet<EventType>;
  /** Called with the brushed (or clicked bucket's) range; omit to disable zooming. */
  onZoom?: (fromMs: number, toMs: number) => void;
  height?: number;
}

// The SVG is drawn in a fixed coordinate space and stretched to the container's width.
const W = 1000;
const H = 100;
/** A non-empty cluster is never thinner than this, so one event among a million stays visible. */
const MIN_SEGMENT = 2;

/**
 * Clusters of events over time: one stacked bar per bucket, one colour per
 * type. Linear scale with a floor for non-empty segments; hover a segment for
 * its count; drag to zoom into a range, click a bar to zoom into its bucket.
 */
export const TimelineChart = React.memo(function TimelineChart({
  buckets,
  hidden,
  onZoom,
  height = 140,
}: Props) {
  const styles = useStyles2(getStyles);
  const svgRef = useRef<SVGSVGElement>(null);
  const [brush, setBrush] = useState<{ a: number; b: number } | null>(null);
  const n = bucketCount(buckets.fromMs, buckets.toMs, buckets.stepMs);
  const totals = stackTotals(buckets, (t) => !hidden.has(t));
  const max = Math.max(0, ...totals);
  const bw = W / n;

  const frac = (clientX: number) => {
    const r = svgRef.current!.getBoundingClientRect();
    return r.width > 0 ? Math.min(1, Math.max(0, (clientX - r.left) / r.width)) : 0;
  };
  const toMs = (f: number) => buckets.fromMs + f * (buckets.toMs - buckets.fromMs);

  const onUp = (clientX: number) => {
    if (!brush) return;
    const b = frac(clientX);
    setBrush(null);
    if (!onZoom) return;
    const [lo, hi] = brush.a < b ? [brush.a, b] : [b, brush.a];
    if (hi - lo > 0.005) return onZoom(Math.round(toMs(lo)), Math.round(toMs(hi)));
    // A click: zoom into the bucket under the pointer.
    const i = Math.min(n - 1, Math.floor(b * n));
    if (totals[i] > 0)
      onZoom(
        buckets.fromMs + i * buckets.stepMs,
        Math.min(buckets.toMs, buckets.fromMs + (i + 1) * buckets.stepMs)
      );
  };

  const bars: React.ReactNode[] = [];
  for (let i = 0; i < n; i++) {
    if (totals[i] === 0) continue;
    let y = H;
    const segs: React.ReactNode[] = [];
    for (const t of EVENT_TYPE_NAMES) {
      const c = buckets.counts[t]?.[i] ?? 0;
      if (c === 0 || hidden.has(t)) continue;
      const h = Math.max(MIN_SEGMENT, (c / max) * (H - MIN_SEGMENT * 4));
      y -= h;
      segs.push(
        <rect
          key={t}
          x={i * bw + bw * 0.1}
          y={y}
          width={Math.max(bw * 0.8, 0.8)}
          height={h}
          fill={EVENT_TYPES[t].color}
        >
          <title>{`${EVENT_TYPES[t].title}: ${c.toLocaleString('en-US')} at ${new Date(buckets.fromMs + i * buckets.stepMs).toISOString()}`}</title>
        </rect>
      );
    }
    bars.push(
      <g key={i} data-testid={testIds.view.chartBucket} data-count={totals[i]}>
        {segs}
      </g>
    );
  }

  return (
    <div className={styles.wrap} data-testid={testIds.view.chart}>
      <div className={styles.axisY} data-testid={testIds.view.chartMax}>
        {max > 0
          ? `max ${max.toLocaleString('en-US')} / ${formatStep(buckets.stepMs)}`
          : 'no events in range'}
      </div>
      <svg
        ref={svgRef}
        className={styles.svg}
        style={{ height }}
        viewBox={`0 0 ${W} ${H}`}
        preserveAspectRatio="none"
        role="img"
        aria-label="Event timeline"
        onMouseDown={(e) => {
          const a = frac(e.clientX);
          setBrush({ a, b: a });
        }}
        onMouseMove={(e) => brush && setBrush({ a: brush.a, b: frac(e.clientX) })}
        onMouseUp={(e) => onUp(e.clientX)}
        onMouseLeave={() => setBrush(null)}
      >
        <line x1={0} x2={W} y1={H - 0.5} y2={H - 0.5} className={styles.base} />
        {bars}
        {brush && Math.abs(brush.b - brush.a) > 0 && (
          <rect
            data-testid={testIds.view.chartBrush}
            x={Math.min(brush.a, brush.b) * W}
            y={0}
            width={Math.abs(brush.b - brush.a) * W}
            height={H}
            className={styles.brush}
          />
        )}
      </svg>
      <div className={styles.axisX}>
        <span>{new Date(buckets.fromMs).toISOString().replace('T', ' ').slice(0, 19)}</span>
        <span>{new Date(buckets.toMs).toISOString().replace('T', ' ').slice(0, 19)} UTC</span>
      </div>
    </div>
  );
});

function formatStep(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

const getStyles = (theme: GrafanaTheme2) => ({
  wrap: css({ userSelect: 'none', margin: theme.spacing(1, 0) }),
  svg: css({
    width: '100%',
    display: 'block',
    cursor: 'crosshair',
    background: theme.colors.background.secondary,
  }),
  base: css({ stroke: theme.colors.border.medium, strokeWidth: 1, vectorEffect: 'non-scaling-stroke' }),
  brush: css({
    fill: theme.colors.primary.transparent,
    stroke: theme.colors.primary.border,
    vectorEffect: 'non-scaling-stroke',
  }),
  axisY: css({ fontSize: theme.typography.bodySmall.fontSize, color: theme.colors.text.secondary }),
  axisX: css({
    display: 'flex',
    justifyContent: 'space-between',
    fontSize: theme.typography.bodySmall.fontSize,
    color: theme.colors.text.secondary,
  }),
});
