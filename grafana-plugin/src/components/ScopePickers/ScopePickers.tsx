import React, { useState } from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2, SelectableValue } from '@grafana/data';
import { Button, InlineField, Select, useStyles2 } from '@grafana/ui';
import { FIELDS, SCOPE_KEYS, type Scope, type ScopeKey } from '@casefile/schema';
import { testIds } from '@casefile/timeline-ui';
import { distinctValues } from '../../queries/loki';

/**
 * InlineField hands its child `invalid`, `disabled` and `loading`: a plain div would put them
 * on the DOM (React warns about `invalid={false}`); the box keeps only the aria links.
 */
function PickerBox(props: {
  testId: string;
  children: React.ReactNode;
  invalid?: boolean;
  disabled?: boolean;
  loading?: boolean;
  'aria-labelledby'?: string;
  'aria-describedby'?: string;
}) {
  return (
    <div
      data-testid={props.testId}
      aria-labelledby={props['aria-labelledby']}
      aria-describedby={props['aria-describedby']}
    >
      {props.children}
    </div>
  );
}

/** The pickers shown, with their labels: host, container, image, namespace, pod. */
export const PICKERS: ReadonlyArray<{ key: ScopeKey; label: string }> = [
  { key: 'host', label: 'Host' },
  { key: 'containerName', label: 'Container' },
  { key: 'imageName', label: 'Image' },
  { key: 'namespace', label: 'Namespace' },
  { key: 'pod', label: 'Pod' },
];

interface Props {
  lokiUid: string;
  scope: Scope;
  fromMs: number;
  toMs: number;
  onChange: (scope: Scope) => void;
}

/** Scope pickers whose options come from Loki (values seen in the range within the rest of the scope), loaded when opened. */
export const ScopePickers = React.memo(function ScopePickers({
  lokiUid,
  scope,
  fromMs,
  toMs,
  onChange,
}: Props) {
  const styles = useStyles2(getStyles);
  return (
    <div className={styles.row}>
      {PICKERS.map(({ key, label }) => (
        <ScopePicker
          key={key}
          k={key}
          label={label}
          lokiUid={lokiUid}
          scope={scope}
          fromMs={fromMs}
          toMs={toMs}
          onChange={onChange}
        />
      ))}
      {/* Scope set by a link (an event's container id, an image digest) but without a picker: shown, removable. */}
      {SCOPE_KEYS.filter((k) => scope[k] && !PICKERS.some((p) => p.key === k)).map((k) => (
        <Button
          key={k}
          size="sm"
          variant="secondary"
          icon="times"
          onClick={() => onChange({ ...scope, [k]: undefined })}
          tooltip={`Remove ${FIELDS[k].attr} from the scope`}
          data-testid={testIds.timeline.scopeChip(k)}
        >
          {FIELDS[k].attr}={scope[k]!.length > 16 ? `${scope[k]!.slice(0, 12)}…` : scope[k]}
        </Button>
      ))}
    </div>
  );
});

function ScopePicker({
  k,
  label,
  lokiUid,
  scope,
  fromMs,
  toMs,
  onChange,
}: Props & { k: ScopeKey; label: string }) {
  const [options, setOptions] = useState<Array<SelectableValue<string>>>([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string>();
  const load = () => {
    const rest: Scope = { ...scope, [k]: undefined };
    setLoading(true);
    distinctValues(lokiUid, k, { scope: rest }, fromMs, toMs).then(
      (vals) => {
        setOptions(vals.map((v) => ({ label: v, value: v })));
        setError(undefined);
        setLoading(false);
      },
      (e: Error) => {
        setError(e.message);
        setLoading(false);
      }
    );
  };
  const value = scope[k];
  return (
    <InlineField label={label} invalid={Boolean(error)} error={error} title={error}>
      <PickerBox testId={testIds.timeline.scope(k)}>
        <Select
          invalid={Boolean(error)}
          width={24}
          isClearable
          allowCustomValue
          isLoading={loading}
          placeholder="any"
          options={
            value && !options.some((o) => o.value === value) ? [{ label: value, value }, ...options] : options
          }
          value={value ?? null}
          onOpenMenu={load}
          onChange={(v) => onChange({ ...scope, [k]: v?.value || undefined })}
          noOptionsMessage={error ?? 'No values in this range'}
          aria-label={`${label} scope`}
        />
      </PickerBox>
    </InlineField>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  row: css({ display: 'flex', flexWrap: 'wrap', gap: theme.spacing(0.5) }),
});
