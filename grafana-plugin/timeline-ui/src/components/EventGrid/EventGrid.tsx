import React, { useEffect, useState } from 'react';
import { css, cx } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { useStyles2 } from '@grafana/ui';
import { EVENT_TYPES, nsToIso, type CasefileEvent } from '@casefile/schema';
import { testIds } from '../../testIds';

interface Props {
  events: readonly CasefileEvent[];
  onSelect: (e: CasefileEvent) => void;
  selectedId?: string;
  /** Called when the last rows come into view, to page more events in. */
  onEndReached?: () => void;
  /** A line under the rows: "1,000 of 5,000 loaded", "loading…". */
  status?: React.ReactNode;
  height?: number;
}

/** Fixed row height lets the grid render only the rows in view: 100k events cost ~40 DOM rows. */
export const ROW_HEIGHT = 28;
const OVERSCAN = 10;

/** The events as a virtualised table: time, type, scope, message. Click a row for its details. */
export const EventGrid = React.memo(function EventGrid({
  events,
  onSelect,
  selectedId,
  onEndReached,
  status,
  height = 420,
}: Props) {
  const styles = useStyles2(getStyles);
  const [scrollTop, setScrollTop] = useState(0);
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(events.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const atEnd = last >= events.length;

  useEffect(() => {
    if (atEnd && events.length > 0) onEndReached?.();
  }, [atEnd, events.length, onEndReached]);

  const rows: React.ReactNode[] = [];
  for (let i = first; i < last; i++) {
    const e = events[i];
    rows.push(
      <div
        key={e.id}
        role="row"
        aria-selected={e.id === selectedId}
        data-testid={testIds.view.gridRow}
        data-event-id={e.id}
        data-event-type={e.type}
        className={cx(styles.row, e.id === selectedId && styles.selected)}
        style={{ top: i * ROW_HEIGHT }}
        onClick={() => onSelect(e)}
      >
        <span className={styles.time}>{nsToIso(e.timeNs).replace('T', ' ').slice(0, 23)}</span>
        <span className={styles.type}>
          <span className={styles.dot} style={{ background: EVENT_TYPES[e.type].color }} />
          <span className={styles.typeName}>{EVENT_TYPES[e.type].title}</span>
        </span>
        <span className={styles.scope}>{e.containerName ?? e.imageName ?? e.host ?? ''}</span>
        <span className={styles.message}>{e.message}</span>
      </div>
    );
  }

  return (
    <div data-testid={testIds.view.grid}>
      <div className={cx(styles.row, styles.header)} role="row">
        <span className={styles.time}>Time (UTC)</span>
        <span className={styles.type}>Type</span>
        <span className={styles.scope}>Container / host</span>
        <span className={styles.message}>Message</span>
      </div>
      <div
        className={styles.viewport}
        style={{ height }}
        role="grid"
        aria-rowcount={events.length}
        onScroll={(ev) => setScrollTop(ev.currentTarget.scrollTop)}
      >
        <div style={{ height: events.length * ROW_HEIGHT, position: 'relative' }}>{rows}</div>
      </div>
      <div className={styles.status} data-testid={testIds.view.gridStatus}>
        {status ?? `${events.length.toLocaleString('en-US')} events`}
      </div>
    </div>
  );
});

const getStyles = (theme: GrafanaTheme2) => ({
  viewport: css({ overflowY: 'auto', border: `1px solid ${theme.colors.border.weak}` }),
  row: css({
    position: 'absolute',
    left: 0,
    right: 0,
    height: ROW_HEIGHT,
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(1),
    padding: theme.spacing(0, 1),
    borderBottom: `1px solid ${theme.colors.border.weak}`,
    cursor: 'pointer',
    fontSize: theme.typography.bodySmall.fontSize,
    whiteSpace: 'nowrap',
    '&:hover': { background: theme.colors.action.hover },
  }),
  header: css({
    position: 'static',
    fontWeight: theme.typography.fontWeightMedium,
    cursor: 'default',
    background: theme.colors.background.secondary,
  }),
  selected: css({ background: theme.colors.action.selected }),
  time: css({ flex: '0 0 180px', fontVariantNumeric: 'tabular-nums' }),
  type: css({
    flex: '0 0 190px',
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(0.5),
    minWidth: 0,
  }),
  // A long type title ends in an ellipsis instead of pushing the next column.
  typeName: css({ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }),
  dot: css({ width: 10, height: 10, borderRadius: '50%', flex: '0 0 10px' }),
  scope: css({ flex: '0 0 160px', overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }),
  message: css({ flex: 1, overflow: 'hidden', textOverflow: 'ellipsis' }),
  status: css({
    fontSize: theme.typography.bodySmall.fontSize,
    color: theme.colors.text.secondary,
    padding: theme.spacing(0.5, 0),
  }),
});
