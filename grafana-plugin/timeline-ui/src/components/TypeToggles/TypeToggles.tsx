import React from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { useStyles2, useTheme2 } from '@grafana/ui';
import { EVENT_TYPES, EVENT_TYPE_NAMES, type EventType } from '@casefile/schema';
import { TYPE_COLORS } from '../../model/palette';
import { testIds } from '../../testIds';

interface Props {
  /** Events per type in the range (from Loki's metric query, or counted in memory). */
  totals: Record<EventType, number>;
  hidden: ReadonlySet<EventType>;
  onToggle: (type: EventType) => void;
}

/** One toggle per event type, in its timeline colour, with its count. Types with no events are left out. */
export const TypeToggles = React.memo(function TypeToggles({ totals, hidden, onToggle }: Props) {
  const styles = useStyles2(getStyles);
  const theme = useTheme2();
  const shown = EVENT_TYPE_NAMES.filter((t) => totals[t] > 0 || hidden.has(t));
  if (shown.length === 0) return null;
  return (
    <div className={styles.row} role="group" aria-label="Event types">
      {shown.map((t) => {
        const on = !hidden.has(t);
        return (
          <button
            key={t}
            type="button"
            className={styles.toggle}
            aria-pressed={on}
            data-testid={testIds.view.toggle(t)}
            onClick={() => onToggle(t)}
            title={on ? `Hide ${EVENT_TYPES[t].title}` : `Show ${EVENT_TYPES[t].title}`}
          >
            <span
              className={styles.swatch}
              style={{
                background: on ? TYPE_COLORS[t] : 'transparent',
                borderColor: on ? theme.colors.border.strong : TYPE_COLORS[t],
              }}
            />
            <span className={on ? undefined : styles.off}>{EVENT_TYPES[t].title}</span>
            <span className={styles.count} data-testid={testIds.view.toggleCount(t)}>
              {totals[t].toLocaleString('en-US')}
            </span>
          </button>
        );
      })}
    </div>
  );
});

const getStyles = (theme: GrafanaTheme2) => ({
  row: css({ display: 'flex', flexWrap: 'wrap', gap: theme.spacing(1), margin: theme.spacing(1, 0) }),
  toggle: css({
    display: 'inline-flex',
    alignItems: 'center',
    gap: theme.spacing(0.75),
    padding: theme.spacing(0.5, 1),
    border: `1px solid ${theme.colors.border.medium}`,
    borderRadius: theme.shape.radius.default,
    background: theme.colors.background.secondary,
    color: theme.colors.text.primary,
    cursor: 'pointer',
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  swatch: css({ width: 12, height: 12, borderRadius: 2, border: '1px solid' }),
  off: css({ color: theme.colors.text.disabled, textDecoration: 'line-through' }),
  count: css({ fontVariantNumeric: 'tabular-nums', color: theme.colors.text.secondary }),
});
