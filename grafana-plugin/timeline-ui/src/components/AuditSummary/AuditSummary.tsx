import React, { useMemo } from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { Button, useStyles2 } from '@grafana/ui';
import type { CasefileEvent } from '@casefile/schema';
import { SEVERITIES, SEVERITY_COLORS } from '../../model/palette';
import { testIds } from '../../testIds';

interface Props {
  /** Audits in range, exactly (Loki's count). */
  total: number;
  /** The audits loaded so far, in time order. */
  audits: readonly CasefileEvent[];
  onOpen: (e: CasefileEvent) => void;
}

/** The worst severity's first audit: where a responder starts. */
export function firstWorstAudit(audits: readonly CasefileEvent[]): CasefileEvent | undefined {
  for (const s of SEVERITIES) {
    const hit = audits.find((a) => a.severity === s);
    if (hit) return hit;
  }
  return audits[0];
}

/**
 * The range's audits in one line above the grid, by severity, with the first of the worst a
 * click away: a short attack among hundreds of routine events is found at a glance.
 */
export const AuditSummary = React.memo(function AuditSummary({ total, audits, onOpen }: Props) {
  const styles = useStyles2(getStyles);
  const { by, first } = useMemo(() => {
    const by = new Map<string, number>();
    for (const a of audits) if (a.severity) by.set(a.severity, (by.get(a.severity) ?? 0) + 1);
    return { by, first: firstWorstAudit(audits) };
  }, [audits]);
  if (total === 0) return null;
  return (
    <div className={styles.line} data-testid={testIds.view.auditSummary} role="status">
      <strong>
        {total.toLocaleString('en-US')} runtime audit{total === 1 ? '' : 's'}
      </strong>
      {SEVERITIES.filter((s) => by.has(s)).map((s) => (
        <span key={s} className={styles.severity} data-severity={s}>
          <span className={styles.dot} style={{ background: SEVERITY_COLORS[s] }} />
          {by.get(s)!.toLocaleString('en-US')} {s}
        </span>
      ))}
      {audits.length < total && (
        <span className={styles.note}>({audits.length.toLocaleString('en-US')} loaded)</span>
      )}
      {first && (
        <Button
          size="sm"
          variant="secondary"
          icon="arrow-right"
          onClick={() => onOpen(first)}
          data-testid={testIds.view.auditSummaryOpen}
        >
          Open the first {first.severity ?? 'audit'}
          {first.severity ? ' audit' : ''}
        </Button>
      )}
    </div>
  );
});

const getStyles = (theme: GrafanaTheme2) => ({
  line: css({
    display: 'flex',
    flexWrap: 'wrap',
    alignItems: 'center',
    gap: theme.spacing(1.5),
    padding: theme.spacing(0.5, 0),
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  severity: css({ display: 'inline-flex', alignItems: 'center', gap: theme.spacing(0.5) }),
  dot: css({ width: 10, height: 10, borderRadius: '50%' }),
  note: css({ color: theme.colors.text.secondary }),
});
