import React, { useEffect, useRef, useState } from 'react';
import { css, cx } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { Checkbox, Icon, Toggletip, useStyles2 } from '@grafana/ui';
import { EVENT_TYPES, nsToMs, type CasefileEvent } from '@casefile/schema';
import { COLUMN_SPECS, DEFAULT_COLUMNS, OPTIONAL_COLUMNS, type OptionalColumn } from '../../model/columns';
import { eventColor } from '../../model/palette';
import { formatMs, subMs, zoneLabel, type TimeZone } from '../../model/time';
import { testIds } from '../../testIds';

interface Props {
  events: readonly CasefileEvent[];
  onSelect: (e: CasefileEvent) => void;
  selectedId?: string;
  /** Called when the last rows come into view, to page more events in. */
  onEndReached?: () => void;
  /** A line under the rows: "1,000 of 5,000 loaded", "loading…". */
  status?: React.ReactNode;
  /** Shown in the rows' place when there are no rows (loading, empty, how to widen). */
  empty?: React.ReactNode;
  height?: number;
  /** The optional columns shown (default: all). */
  columns?: readonly OptionalColumn[];
  onColumns?: (c: OptionalColumn[]) => void;
  timeZone?: TimeZone;
  /** Audits of one action (by event id): a row shows its place in the group. */
  groups?: ReadonlyMap<string, readonly CasefileEvent[]>;
  /** Narrow (details open beside it): times without their date, which the header then names. */
  compact?: boolean;
}

/** Fixed row height lets the grid render only the rows in view: 100k events cost ~40 DOM rows. */
export const ROW_HEIGHT = 28;
const OVERSCAN = 10;

/**
 * A message with each sha256 digest cut to 12 digits: a model id leads every "learned" message
 * and would fill the column before what was learned. The full message is the cell's title.
 *
 * @example shortDigests(`Model sha256:${'ab'.repeat(32)} learned /bin/sh`) // => 'Model sha256:abababababab… learned /bin/sh'
 */
export function shortDigests(message: string): string {
  return message.replace(/\bsha256:([0-9a-f]{12})[0-9a-f]{52}\b/g, 'sha256:$1…');
}

/** The DOM id of a row, for aria-activedescendant. */
const rowId = (id: string) => `cf-row-${id.replace(/[^\w-]/g, '_')}`;

/**
 * The events as a virtualised table: time (to the nanosecond where milliseconds
 * collide), type, the chosen columns, message. Click a row, or focus the grid and
 * move with the arrow keys, Page Up/Down, Home/End, and press Enter, to open its details.
 */
export const EventGrid = React.memo(function EventGrid({
  events,
  onSelect,
  selectedId,
  onEndReached,
  status,
  empty,
  height = 420,
  columns = DEFAULT_COLUMNS,
  onColumns,
  timeZone = 'utc',
  groups,
  compact,
}: Props) {
  const styles = useStyles2(getStyles);
  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [active, setActive] = useState(-1);
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(events.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const atEnd = last >= events.length;

  useEffect(() => {
    if (atEnd && events.length > 0) onEndReached?.();
  }, [atEnd, events.length, onEndReached]);

  /** Scroll row `n` into view (the least distance), if it is not. */
  const reveal = (n: number) => {
    const el = viewport.current;
    if (!el) return;
    const top = n * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + height) el.scrollTop = top + ROW_HEIGHT - height;
    setScrollTop(el.scrollTop);
  };

  // The keyboard cursor follows the selection (a click, a link that names an event), and the
  // selected row is in view: a shared link to an audit deep in the range opens on its row.
  const revealed = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (!selectedId) return;
    const i = events.findIndex((e) => e.id === selectedId);
    if (i < 0) return;
    setActive(i);
    if (revealed.current !== selectedId) reveal(i);
    revealed.current = selectedId;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selectedId, events]);

  const moveTo = (i: number) => {
    const n = Math.max(0, Math.min(events.length - 1, i));
    setActive(n);
    reveal(n);
  };

  const onKeyDown = (ev: React.KeyboardEvent) => {
    if (events.length === 0) return;
    const page = Math.max(1, Math.floor(height / ROW_HEIGHT) - 1);
    const at = active < 0 ? 0 : active;
    const keys: Record<string, () => void> = {
      ArrowDown: () => moveTo(active < 0 ? 0 : at + 1),
      ArrowUp: () => moveTo(at - 1),
      PageDown: () => moveTo(at + page),
      PageUp: () => moveTo(at - page),
      Home: () => moveTo(0),
      End: () => moveTo(events.length - 1),
      Enter: () => events[at] && onSelect(events[at]),
    };
    const act = keys[ev.key];
    if (!act) return;
    ev.preventDefault();
    act();
  };

  // The date the compact times leave out, when all rows share it.
  const day = (e?: CasefileEvent) => (e ? formatMs(nsToMs(e.timeNs), timeZone, 'YYYY-MM-DD') : '');
  const oneDay = compact && day(events[0]) === day(events[events.length - 1]) ? day(events[0]) : '';

  const rows: React.ReactNode[] = [];
  for (let i = first; i < last; i++) {
    const e = events[i];
    const ms = nsToMs(e.timeNs);
    // Nanoseconds only where they decide the order: a neighbour in the same millisecond.
    const collides =
      (i > 0 && nsToMs(events[i - 1].timeNs) === ms) ||
      (i + 1 < events.length && nsToMs(events[i + 1].timeNs) === ms);
    const group = groups?.get(e.id);
    rows.push(
      <div
        key={e.id}
        id={rowId(e.id)}
        role="row"
        aria-rowindex={i + 1}
        aria-selected={e.id === selectedId}
        data-testid={testIds.view.gridRow}
        data-event-id={e.id}
        data-event-type={e.type}
        data-active={i === active || undefined}
        className={cx(
          styles.row,
          e.id === selectedId && styles.selected,
          i === active && styles.active,
          group && styles.grouped
        )}
        style={{ top: i * ROW_HEIGHT }}
        onClick={() => {
          setActive(i);
          onSelect(e);
        }}
      >
        <span
          role="gridcell"
          className={cx(styles.time, oneDay && styles.timeCompact)}
          title={`${formatMs(ms, timeZone)} (${e.timeNs} ns)`}
        >
          {formatMs(ms, timeZone, oneDay ? 'HH:mm:ss.SSS' : undefined)}
          {collides && <span className={styles.ns}>{subMs(e.timeNs)}</span>}
        </span>
        <span role="gridcell" className={styles.type}>
          <span className={styles.dot} style={{ background: eventColor(e) }} />
          <span className={styles.typeName} title={EVENT_TYPES[e.type].title}>
            {EVENT_TYPES[e.type].title}
          </span>
        </span>
        {columns.map((c) => (
          <span
            key={c}
            role="gridcell"
            className={cx(styles.cell, c === 'severity' && e.severity && styles.severity)}
            style={{ flexBasis: COLUMN_SPECS[c].width }}
            data-column={c}
          >
            {COLUMN_SPECS[c].value(e)}
          </span>
        ))}
        <span role="gridcell" className={styles.message}>
          {group && (
            <span className={styles.groupTag} title="Audits raised by the same action">
              {group.indexOf(e) + 1}/{group.length}
            </span>
          )}
          <span title={e.message}>{shortDigests(e.message)}</span>
        </span>
      </div>
    );
  }

  return (
    <div data-testid={testIds.view.grid} className={styles.wrap}>
      <div className={cx(styles.row, styles.header)} role="row">
        <span className={cx(styles.time, oneDay && styles.timeCompact)}>
          Time ({zoneLabel(timeZone)}
          {compact && oneDay ? `, ${oneDay}` : ''})
        </span>
        <span className={styles.type}>Type</span>
        {columns.map((c) => (
          <span key={c} className={styles.cell} style={{ flexBasis: COLUMN_SPECS[c].width }}>
            {COLUMN_SPECS[c].label}
          </span>
        ))}
        <span className={styles.message}>Message</span>
        {onColumns && (
          <Toggletip
            placement="bottom-end"
            content={
              <div data-testid={testIds.view.gridColumns}>
                {OPTIONAL_COLUMNS.map((c) => (
                  <div key={c}>
                    <Checkbox
                      label={COLUMN_SPECS[c].label}
                      value={columns.includes(c)}
                      onChange={() =>
                        onColumns(
                          OPTIONAL_COLUMNS.filter((x) =>
                            x === c ? !columns.includes(c) : columns.includes(x)
                          )
                        )
                      }
                    />
                  </div>
                ))}
              </div>
            }
          >
            <button
              type="button"
              className={styles.columnsButton}
              aria-label="Choose columns"
              data-testid={testIds.view.gridColumnsButton}
            >
              <Icon name="columns" />
            </button>
          </Toggletip>
        )}
      </div>
      <div
        ref={viewport}
        className={styles.viewport}
        style={{ height }}
        role="grid"
        aria-label="Events"
        aria-rowcount={events.length}
        aria-activedescendant={events[active] ? rowId(events[active].id) : undefined}
        tabIndex={0}
        onKeyDown={onKeyDown}
        onFocus={() => active < 0 && events.length > 0 && setActive(0)}
        onScroll={(ev) => setScrollTop(ev.currentTarget.scrollTop)}
      >
        {events.length === 0 && empty ? (
          <div className={styles.empty} data-testid={testIds.view.gridEmpty}>
            {empty}
          </div>
        ) : (
          <div style={{ height: events.length * ROW_HEIGHT, position: 'relative' }}>{rows}</div>
        )}
      </div>
      <div className={styles.status} data-testid={testIds.view.gridStatus}>
        {status ?? `${events.length.toLocaleString('en-US')} events`}
      </div>
    </div>
  );
});

const getStyles = (theme: GrafanaTheme2) => ({
  wrap: css({ minWidth: 0 }),
  viewport: css({
    overflowY: 'auto',
    border: `1px solid ${theme.colors.border.weak}`,
    '&:focus-visible': { outline: `2px solid ${theme.colors.primary.main}`, outlineOffset: -2 },
  }),
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
  active: css({ boxShadow: `inset 3px 0 0 ${theme.colors.primary.main}` }),
  grouped: css({ borderLeft: `3px solid ${theme.colors.error.main}` }),
  time: css({ flex: '0 0 200px', fontVariantNumeric: 'tabular-nums' }),
  timeCompact: css({ flexBasis: 150 }),
  ns: css({ marginLeft: 2, color: theme.colors.text.secondary, fontSize: '0.9em' }),
  type: css({
    flex: '0 1 170px',
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(0.5),
    minWidth: 0,
  }),
  // A long type title ends in an ellipsis instead of pushing the next column.
  typeName: css({ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }),
  dot: css({ width: 10, height: 10, borderRadius: '50%', flex: '0 0 10px' }),
  // Optional columns give way first when the grid is narrow (details open beside it).
  cell: css({
    flexGrow: 0,
    flexShrink: 1,
    minWidth: 36,
    overflow: 'hidden',
    textOverflow: 'ellipsis',
    whiteSpace: 'nowrap',
  }),
  severity: css({ fontWeight: theme.typography.fontWeightMedium, textTransform: 'uppercase' }),
  message: css({ flex: '1 0 180px', overflow: 'hidden', textOverflow: 'ellipsis', minWidth: 0 }),
  groupTag: css({
    marginRight: theme.spacing(0.5),
    padding: '0 4px',
    borderRadius: theme.shape.radius.default,
    background: theme.colors.error.transparent,
    color: theme.colors.error.text,
  }),
  columnsButton: css({
    background: 'none',
    border: 'none',
    color: theme.colors.text.secondary,
    cursor: 'pointer',
    padding: 0,
  }),
  empty: css({ padding: theme.spacing(2), color: theme.colors.text.secondary }),
  status: css({
    fontSize: theme.typography.bodySmall.fontSize,
    color: theme.colors.text.secondary,
    padding: theme.spacing(0.5, 0),
  }),
});
