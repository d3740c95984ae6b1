import React from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { Drawer, useStyles2 } from '@grafana/ui';
import {
  EVENT_TYPES,
  FIELDS,
  FIELD_NAMES,
  nsToIso,
  type CasefileEvent,
  type FieldName,
} from '@casefile/schema';
import { testIds } from '../../testIds';

interface Props {
  event: CasefileEvent;
  onClose: () => void;
  /** Buttons under the header, e.g. "What led up to this". */
  actions?: React.ReactNode;
}

/** The fields a responder looks at first, in this order; every other field follows. */
const FIRST: readonly FieldName[] = [
  'attackType',
  'severity',
  'ruleId',
  'action',
  'user',
  'loginUser',
  'commandLine',
  'executable',
  'pid',
  'ppid',
  'parentExecutable',
  'listenPort',
  'destAddress',
  'destPort',
  'imageName',
  'containerName',
  'containerId',
  'host',
  'namespace',
  'pod',
];

/** Every field of an event as rows: [label, OTel name, value]. */
export function detailRows(
  e: CasefileEvent
): Array<{ key: string; label: string; attr: string; value: string }> {
  const rows = [
    { key: 'message', label: 'Message', attr: 'body', value: e.message },
    {
      key: 'time',
      label: 'Timestamp (UTC)',
      attr: 'time_unix_nano',
      value: `${nsToIso(e.timeNs)} (${e.timeNs})`,
    },
    {
      key: 'type',
      label: 'Type',
      attr: 'casefile.event.type',
      value: `${EVENT_TYPES[e.type].title} (${e.type})`,
    },
    { key: 'id', label: 'Event id', attr: 'casefile.event.id', value: e.id },
  ];
  const order = [...FIRST, ...FIELD_NAMES.filter((f) => !FIRST.includes(f))];
  for (const f of order) {
    const v = e[f];
    if (v === undefined || v === null || v === '') continue;
    rows.push({
      key: f,
      label: f,
      attr: FIELDS[f].attr,
      value: Array.isArray(v) ? JSON.stringify(v) : String(v),
    });
  }
  return rows;
}

/** A drawer with everything the collector knew about one event. */
export function EventDetails({ event, onClose, actions }: Props) {
  const styles = useStyles2(getStyles);
  return (
    <Drawer
      title={EVENT_TYPES[event.type].title}
      subtitle={nsToIso(event.timeNs)}
      onClose={onClose}
      size="md"
    >
      <div data-testid={testIds.view.details}>
        {actions && <div className={styles.actions}>{actions}</div>}
        <table className={styles.table}>
          <tbody>
            {detailRows(event).map((r) => (
              <tr key={r.key} data-testid={testIds.view.detailsField(r.key)}>
                <th className={styles.label}>
                  {r.label}
                  <div className={styles.attr}>{r.attr}</div>
                </th>
                <td className={styles.value}>{r.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Drawer>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  actions: css({ display: 'flex', gap: theme.spacing(1), marginBottom: theme.spacing(2) }),
  // Fixed layout: a long unbroken value or attribute name wraps instead of widening the drawer.
  table: css({ width: '100%', borderCollapse: 'collapse', tableLayout: 'fixed' }),
  label: css({
    textAlign: 'left',
    verticalAlign: 'top',
    padding: theme.spacing(0.5, 1, 0.5, 0),
    width: '35%',
    fontWeight: theme.typography.fontWeightMedium,
    overflowWrap: 'anywhere',
  }),
  attr: css({
    fontSize: theme.typography.bodySmall.fontSize,
    color: theme.colors.text.secondary,
    fontWeight: 'normal',
  }),
  value: css({
    padding: theme.spacing(0.5, 0),
    wordBreak: 'break-all',
    overflowWrap: 'anywhere',
    whiteSpace: 'pre-wrap',
    fontFamily: theme.typography.fontFamilyMonospace,
  }),
});
