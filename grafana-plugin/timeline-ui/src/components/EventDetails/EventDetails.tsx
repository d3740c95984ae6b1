import React from 'react';
import { css, cx } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { Badge, ClipboardButton, IconButton, useStyles2 } from '@grafana/ui';
import {
  EVENT_TYPES,
  FIELDS,
  FIELD_NAMES,
  nsToIso,
  nsToMs,
  type CasefileEvent,
  type FieldName,
} from '@casefile/schema';
import { eventColor } from '../../model/palette';
import type { ProcessNode, ProcessTree } from '../../model/processTree';
import { formatMs, subMs, zoneLabel, type TimeZone } from '../../model/time';
import { testIds } from '../../testIds';

interface Props {
  event: CasefileEvent;
  onClose: () => void;
  /** Buttons under the header, e.g. "What led up to this". */
  actions?: React.ReactNode;
  /** The event's process, its ancestors up to the container's entry, and its children. */
  tree?: ProcessTree;
  /** Other audits raised by the same action. */
  related?: readonly CasefileEvent[];
  /** Open another event (a process of the tree, a related audit). */
  onOpen?: (e: CasefileEvent) => void;
  timeZone?: TimeZone;
}

/** Values copied often enough to deserve a button of their own. */
const COPYABLE = new Set([
  'id',
  'commandLine',
  'executable',
  'containerId',
  'processKey',
  'destAddress',
  'filePath',
  'imageDigest',
  'message',
]);

/** The fields a responder looks at first, in this order; every other field follows. */
const FIRST: readonly FieldName[] = [
  'attackType',
  'severity',
  'mitreTechnique',
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

/** Everything the collector knew about one event, in a panel beside the timeline (never over it). */
export function EventDetails({ event, onClose, actions, tree, related, onOpen, timeZone = 'utc' }: Props) {
  const styles = useStyles2(getStyles);
  const ms = nsToMs(event.timeNs);
  return (
    <section className={styles.panel} data-testid={testIds.view.details} aria-label="Event details">
      <header className={styles.header}>
        <span className={styles.swatch} style={{ background: eventColor(event) }} />
        <div className={styles.titles}>
          <h4 className={styles.title}>{EVENT_TYPES[event.type].title}</h4>
          <div className={styles.subtitle}>
            {formatMs(ms, timeZone)} {subMs(event.timeNs)} {zoneLabel(timeZone, ms)}
          </div>
        </div>
        <IconButton
          name="times"
          aria-label="Close details"
          tooltip="Close details (Esc)"
          onClick={onClose}
          data-testid={testIds.view.closeDetails}
        />
      </header>
      {event.type === 'runtime.audit' && (
        <div className={styles.verdict}>
          {event.severity && (
            <Badge text={event.severity} color={event.severity === 'low' ? 'orange' : 'red'} />
          )}
          {event.mitreTechnique && (
            <a
              className={styles.mitre}
              href={`https://attack.mitre.org/techniques/${event.mitreTechnique.replace('.', '/')}/`}
              target="_blank"
              rel="noreferrer"
            >
              MITRE {event.mitreTechnique}
            </a>
          )}
          <span>{event.attackType}</span>
        </div>
      )}
      {actions && <div className={styles.actions}>{actions}</div>}
      {tree?.self && <ProcessTreeView tree={tree} current={event} onOpen={onOpen} />}
      {related && related.length > 1 && (
        <div data-testid={testIds.view.relatedAudits}>
          <h5 className={styles.section}>Audits of the same action ({related.length})</h5>
          <ul className={styles.list}>
            {related.map((a) => (
              <li key={a.id}>
                <button
                  type="button"
                  className={cx(styles.link, a.id === event.id && styles.current)}
                  onClick={() => onOpen?.(a)}
                  disabled={a.id === event.id}
                >
                  <span className={styles.dot} style={{ background: eventColor(a) }} />
                  {a.severity} · {a.attackType} · {a.message}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
      <table className={styles.table}>
        <tbody>
          {detailRows(event).map((r) => (
            <tr key={r.key} data-testid={testIds.view.detailsField(r.key)}>
              <th className={styles.label}>
                {r.label}
                <div className={styles.attr}>{r.attr}</div>
              </th>
              <td className={styles.value}>
                {r.value}
                {COPYABLE.has(r.key) && (
                  <ClipboardButton
                    className={styles.copy}
                    size="sm"
                    variant="secondary"
                    fill="text"
                    icon="copy"
                    aria-label={`Copy ${r.label}`}
                    getText={() => (r.key === 'time' ? event.timeNs : r.value)}
                    data-testid={testIds.view.copy(r.key)}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function nodeLabel(n: ProcessNode): string {
  const s = n.start;
  const what = s?.commandLine ?? s?.executable ?? 'start not loaded';
  return `${n.pid ?? '?'} ${what}`;
}

const ENTRY: Record<string, string> = {
  container_init: "container's init",
  runtime_exec: 'runtime exec',
  container_entry: "container's entry",
};

/** The parent chain (the container's entry first) down to the event's process, then its children. */
function ProcessTreeView({
  tree,
  current,
  onOpen,
}: {
  tree: ProcessTree;
  current: CasefileEvent;
  onOpen?: (e: CasefileEvent) => void;
}) {
  const styles = useStyles2(getStyles);
  const chain = [...tree.ancestors].reverse();
  const item = (n: ProcessNode, depth: number, isSelf = false) => (
    <li
      key={`${depth}-${n.key}`}
      style={{ paddingLeft: depth * 12 }}
      data-testid={testIds.view.processNode}
      data-process-key={n.key}
      data-entry={n.entry}
      data-self={isSelf || undefined}
    >
      <button
        type="button"
        className={cx(styles.link, isSelf && styles.current)}
        disabled={!n.start || n.start.id === current.id}
        onClick={() => n.start && onOpen?.(n.start)}
        title={`${nodeLabel(n)}\n${n.key}`}
      >
        {/* Ancestors in two lines at most (a container's init script can be a paragraph); the event's own in full. */}
        <span className={isSelf ? undefined : styles.clamp}>{nodeLabel(n)}</span>
      </button>
      {n.entry && <span className={styles.entry}>{ENTRY[n.entry] ?? n.entry}</span>}
    </li>
  );
  return (
    <div data-testid={testIds.view.processTree}>
      <h5 className={styles.section}>Process tree</h5>
      <ul className={styles.list}>
        {chain.map((n, i) => item(n, i))}
        {tree.self && item(tree.self, chain.length, true)}
        {tree.children.map((n) => item(n, chain.length + 1))}
      </ul>
      {tree.children.length === 0 && <div className={styles.attr}>No children loaded in this range.</div>}
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  panel: css({
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
    background: theme.colors.background.primary,
    padding: theme.spacing(1, 1.5),
    overflowY: 'auto',
    minWidth: 0,
  }),
  header: css({ display: 'flex', alignItems: 'flex-start', gap: theme.spacing(1) }),
  swatch: css({ width: 12, height: 12, borderRadius: 2, marginTop: 6, flex: '0 0 12px' }),
  titles: css({ flex: 1, minWidth: 0 }),
  title: css({ margin: 0 }),
  subtitle: css({
    color: theme.colors.text.secondary,
    fontSize: theme.typography.bodySmall.fontSize,
    fontVariantNumeric: 'tabular-nums',
  }),
  verdict: css({
    display: 'flex',
    alignItems: 'center',
    flexWrap: 'wrap',
    gap: theme.spacing(1),
    margin: theme.spacing(1, 0),
  }),
  mitre: css({ color: theme.colors.text.link, fontWeight: theme.typography.fontWeightMedium }),
  actions: css({ display: 'flex', flexWrap: 'wrap', gap: theme.spacing(1), margin: theme.spacing(1, 0) }),
  section: css({ margin: theme.spacing(1.5, 0, 0.5) }),
  list: css({ listStyle: 'none', margin: 0, padding: 0, fontSize: theme.typography.bodySmall.fontSize }),
  clamp: css({
    display: '-webkit-box',
    WebkitLineClamp: 2,
    WebkitBoxOrient: 'vertical',
    overflow: 'hidden',
  }),
  link: css({
    background: 'none',
    border: 'none',
    padding: theme.spacing(0.25, 0),
    color: theme.colors.text.link,
    cursor: 'pointer',
    textAlign: 'left',
    fontFamily: theme.typography.fontFamilyMonospace,
    overflowWrap: 'anywhere',
    '&:disabled': { color: theme.colors.text.primary, cursor: 'default' },
  }),
  current: css({ fontWeight: theme.typography.fontWeightBold }),
  entry: css({ marginLeft: theme.spacing(1), color: theme.colors.text.secondary }),
  dot: css({
    display: 'inline-block',
    width: 8,
    height: 8,
    borderRadius: '50%',
    marginRight: theme.spacing(0.5),
  }),
  // Fixed layout: a long unbroken value or attribute name wraps instead of widening the panel.
  table: css({
    width: '100%',
    borderCollapse: 'collapse',
    tableLayout: 'fixed',
    marginTop: theme.spacing(1),
  }),
  label: css({
    textAlign: 'left',
    verticalAlign: 'top',
    padding: theme.spacing(0.5, 1, 0.5, 0),
    width: '32%',
    fontWeight: theme.typography.fontWeightMedium,
    overflowWrap: 'anywhere',
  }),
  attr: css({
    fontSize: theme.typography.bodySmall.fontSize,
    color: theme.colors.text.secondary,
    fontWeight: 'normal',
  }),
  // Commands wrap at spaces; only a token longer than the line is broken.
  value: css({
    padding: theme.spacing(0.5, 0),
    overflowWrap: 'break-word',
    wordBreak: 'normal',
    whiteSpace: 'pre-wrap',
    fontFamily: theme.typography.fontFamilyMonospace,
  }),
  copy: css({ marginLeft: theme.spacing(0.5), verticalAlign: 'middle' }),
});
