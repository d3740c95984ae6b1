import React, { useRef, useState } from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { useStyles2 } from '@grafana/ui';
import { EVENT_TYPES, EVENT_TYPE_NAMES, type EventType } from '@casefile/schema';
import { bucketCount, bucketSpan, bucketsRange, stackTotals, type Buckets } from '../../model/buckets';
import { SEVERITIES, SEVERITY_COLORS, TYPE_COLORS } from '../../model/palette';
import { formatMs, zoneLabel, type TimeZone } from '../../model/time';
import { testIds } from '../../testIds';

interface Props {
  buckets: Buckets;
  hidden: ReadonlySet<EventType>;
  /** Called with the brushed (or clicked bucket's) range; omit to disable zooming. */
  onZoom?: (fromMs: number, toMs: number) => void;
  height?: number;
  /** The selected event's time: a marker on the chart. */
  markerMs?: number;
  /** While the counts load the chart says so instead of "no events". */
  loading?: boolean;
  /** The counts could not be read: said instead of "no events". */
  failed?: boolean;
  timeZone?: TimeZone;
  /** Per bucket, the loaded audits by severity: the audit segment is split in those shares. */
  severities?: ReadonlyArray<Record<string, number> | undefined>;
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
  markerMs,
  loading,
  failed,
  timeZone = 'utc',
  severities,
}: Props) {
  const styles = useStyles2(getStyles);
  const svgRef = useRef<SVGSVGElement>(null);
  const [brush, setBrush] = useState<{ a: number; b: number } | null>(null);
  const n = bucketCount(buckets.fromMs, buckets.toMs, buckets.stepMs);
  const totals = stackTotals(buckets, (t) => !hidden.has(t));
  const max = Math.max(0, ...totals);
  const view = bucketsRange(buckets);
  const span = Math.max(1, view.toMs - view.fromMs);
  const x = (ms: number) => ((Math.min(view.toMs, Math.max(view.fromMs, ms)) - view.fromMs) / span) * W;

  const frac = (clientX: number) => {
    const r = svgRef.current!.getBoundingClientRect();
    return r.width > 0 ? Math.min(1, Math.max(0, (clientX - r.left) / r.width)) : 0;
  };
  const toMs = (f: number) => view.fromMs + f * span;

  const onUp = (clientX: number) => {
    if (!brush) return;
    const b = frac(clientX);
    setBrush(null);
    if (!onZoom) return;
    const [lo, hi] = brush.a < b ? [brush.a, b] : [b, brush.a];
    if (hi - lo > 0.005) return onZoom(Math.round(toMs(lo)), Math.round(toMs(hi)));
    // A click: zoom into the bucket under the pointer.
    const t = toMs(b);
    const i = Math.min(n - 1, Math.max(0, Math.floor((t - buckets.fromMs) / buckets.stepMs)));
    if (totals[i] > 0) {
      const s = bucketSpan(buckets, i);
      onZoom(s.fromMs, s.toMs);
    }
  };

  const bars: React.ReactNode[] = [];
  for (let i = 0; i < n; i++) {
    if (totals[i] === 0) continue;
    let y = H;
    const at = bucketSpan(buckets, i);
    const bx = x(at.fromMs);
    const bw = x(at.toMs) - bx;
    const segs: React.ReactNode[] = [];
    for (const t of EVENT_TYPE_NAMES) {
      const c = buckets.counts[t]?.[i] ?? 0;
      if (c === 0 || hidden.has(t)) continue;
      const h = Math.max(MIN_SEGMENT, (c / max) * (H - MIN_SEGMENT * 4));
      y -= h;
      const when = `from ${formatMs(at.fromMs, timeZone, 'YYYY-MM-DD HH:mm:ss')} to ${formatMs(at.toMs, timeZone, 'HH:mm:ss')}`;
      const rect = (key: string, top: number, height: number, fill: string, title: string) => (
        <rect
          key={key}
          x={bx + bw * 0.1}
          y={top}
          width={Math.max(bw * 0.8, 0.8)}
          height={height}
          fill={fill}
          className={t === 'runtime.audit' || t === 'runtime.action' ? styles.alarm : styles.segment}
          data-severity={key.startsWith('sev-') ? key.slice(4) : undefined}
        >
          <title>{title}</title>
        </rect>
      );
      const sev = t === 'runtime.audit' ? severities?.[i] : undefined;
      const known = sev ? SEVERITIES.reduce((a, k) => a + (sev[k] ?? 0), 0) : 0;
      if (!sev || known === 0) {
        segs.push(
          rect(t, y, h, TYPE_COLORS[t], `${EVENT_TYPES[t].title}: ${c.toLocaleString('en-US')} ${when}`)
        );
        continue;
      }
      // Worst on top: the share of each severity among the loaded audits of this bucket.
      let top = y;
      for (const k of SEVERITIES) {
        const n = sev[k] ?? 0;
        if (!n) continue;
        const part = (n / known) * h;
        segs.push(
          rect(
            `sev-${k}`,
            top,
            part,
            SEVERITY_COLORS[k],
            `${EVENT_TYPES[t].title} (${k}): ${n} of ${c.toLocaleString('en-US')} ${when}`
          )
        );
        top += part;
      }
    }
    bars.push(
      <g
        key={i}
        data-testid={testIds.view.chartBucket}
        data-count={totals[i]}
        data-from={at.fromMs}
        data-to={at.toMs}
      >
        {segs}
      </g>
    );
  }

  return (
    <div className={styles.wrap} data-testid={testIds.view.chart}>
      <div className={styles.axisY} data-testid={testIds.view.chartMax}>
        {loading
          ? 'counting events…'
          : failed
            ? 'the counts could not be read (see above)'
            : max > 0
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
        {markerMs !== undefined && markerMs >= view.fromMs && markerMs < view.toMs && (
          <line
            data-testid={testIds.view.chartMarker}
            x1={x(markerMs)}
            x2={x(markerMs)}
            y1={0}
            y2={H}
            className={styles.marker}
          />
        )}
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
        <span>{formatMs(view.fromMs, timeZone, 'YYYY-MM-DD HH:mm:ss')}</span>
        <span>
          {formatMs(view.toMs, timeZone, 'YYYY-MM-DD HH:mm:ss')} {zoneLabel(timeZone, view.toMs)}
        </span>
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
  marker: css({
    stroke: theme.colors.text.primary,
    strokeWidth: 2,
    strokeDasharray: '4 2',
    vectorEffect: 'non-scaling-stroke',
  }),
  // A hairline edge, so a pale type (model state) stays visible on the light theme's background.
  segment: css({ stroke: theme.colors.border.medium, strokeWidth: 0.5, vectorEffect: 'non-scaling-stroke' }),
  // Audits and actions carry an outline in the theme's text colour: they stand out in either theme.
  alarm: css({ stroke: theme.colors.text.primary, strokeWidth: 1, vectorEffect: 'non-scaling-stroke' }),
  axisY: css({ fontSize: theme.typography.bodySmall.fontSize, color: theme.colors.text.secondary }),
  axisX: css({
    display: 'flex',
    justifyContent: 'space-between',
    fontSize: theme.typography.bodySmall.fontSize,
    color: theme.colors.text.secondary,
  }),
});
