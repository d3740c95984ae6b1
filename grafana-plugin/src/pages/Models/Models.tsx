import React, { useEffect, useMemo, useState } from 'react';
import { useLocation } from 'react-router-dom';
import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { PluginPage, locationService } from '@grafana/runtime';
import {
  Alert,
  Badge,
  Button,
  Card,
  InlineField,
  LoadingPlaceholder,
  Select,
  Stack,
  TimeRangePicker,
  useStyles2,
} from '@grafana/ui';
import { getTimeZone, type SelectableValue } from '@grafana/data';
import { nsToMs, type CasefileEvent } from '@casefile/schema';
import { formatMs, testIds } from '@casefile/timeline-ui';
import { ROUTES, prefixRoute } from '../../constants';
import { readAllEvents } from '../../queries/loki';
import { useSettings } from '../../settings';
import { stateQuery, urlRange } from '../Timeline/urlState';
import { buildModels, selectModels, shortId, type ModelScope, type ModelView } from './models';

const MODEL_TYPES = ['model.state', 'model.learned', 'runtime.audit'] as const;
const SCOPE_PARAMS = [
  { key: 'image', label: 'Image' },
  { key: 'container', label: 'Container' },
  { key: 'host', label: 'Host' },
] as const;
/** Minutes around an audit shown when jumping to the timeline. */
const AUDIT_WINDOW_MIN = 5;

/** Runtime models per image: state, learned behaviours with when each was learned, and audits against the model. */
export function Models() {
  const styles = useStyles2(getStyles);
  const { lokiUid } = useSettings();
  const location = useLocation();
  const params = new URLSearchParams(location.search);
  const scope: ModelScope = {
    image: params.get('image') || undefined,
    container: params.get('container') || undefined,
    host: params.get('host') || undefined,
  };
  const from = params.get('from') || 'now-24h';
  const to = params.get('to') || 'now';
  const timeZone = params.get('tz') || getTimeZone();
  const range = useMemo(() => urlRange(from, to), [from, to]);
  const [all, setAll] = useState<ModelView[]>();
  const [error, setError] = useState<string>();
  const [attempt, setAttempt] = useState(0);

  // Every model event of the range, then narrowed here: model.state names only its model, so a
  // Loki filter by image or container would drop it.
  useEffect(() => {
    if (!lokiUid) return;
    let live = true;
    setAll(undefined);
    setError(undefined);
    readAllEvents(
      lokiUid,
      { types: [...MODEL_TYPES] },
      range.from.valueOf(),
      range.to.valueOf(),
      50_000
    ).then(
      (evs) => live && setAll(buildModels(evs)),
      (e: Error) => live && setError(`Reading the runtime models failed. ${e.message}`)
    );
    return () => {
      live = false;
    };
  }, [lokiUid, range, attempt]);
  const scopeKey = JSON.stringify(scope);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const models = useMemo(() => all && selectModels(all, scope), [all, scopeKey]);
  const options = (k: keyof ModelScope): Array<SelectableValue<string>> => {
    const vals = new Set<string>();
    for (const m of all ?? [])
      for (const v of k === 'image' ? m.images : k === 'container' ? m.containers : m.hosts) vals.add(v);
    return [...vals].sort().map((v) => ({ label: v.length > 40 ? shortId(v) : v, value: v }));
  };

  const toAudit = (a: CasefileEvent) => {
    const t = nsToMs(a.timeNs);
    const q = stateQuery({
      from: String(t - AUDIT_WINDOW_MIN * 60_000),
      to: String(t + AUDIT_WINDOW_MIN * 60_000),
      scope: a.containerId ? { containerId: a.containerId } : a.host ? { host: a.host } : {},
      event: a.id,
    });
    locationService.push(`${prefixRoute(ROUTES.Timeline)}?${q}`);
  };

  return (
    <PluginPage>
      <div data-testid={testIds.models.page}>
        <Stack direction="row" justifyContent="space-between" alignItems="center">
          <Stack direction="row" gap={0.5} wrap="wrap">
            {SCOPE_PARAMS.map(({ key, label }) => (
              <InlineField key={key} label={label}>
                <Select
                  width={28}
                  isClearable
                  placeholder="any"
                  aria-label={`${label} of the models`}
                  data-testid={testIds.models.scope(key)}
                  options={options(key)}
                  value={scope[key] ?? null}
                  allowCustomValue
                  onChange={(v) => locationService.partial({ [key]: v?.value || null })}
                />
              </InlineField>
            ))}
          </Stack>
          <TimeRangePicker
            value={range}
            onChange={(r) =>
              locationService.partial({ from: String(r.from.valueOf()), to: String(r.to.valueOf()) })
            }
            onMoveBackward={() => undefined}
            onMoveForward={() => undefined}
            onZoom={() => undefined}
            timeZone={timeZone}
            onChangeTimeZone={(tz) => locationService.partial({ tz: tz || null }, true)}
          />
        </Stack>
        {!lokiUid && (
          <Alert severity="warning" title="No Loki data source configured">
            Pick one on the app's Configuration page.
          </Alert>
        )}
        {error && (
          <Alert severity="error" title="Could not load runtime models" data-testid={testIds.view.error}>
            <div>{error}</div>
            <Button size="sm" variant="secondary" icon="sync" onClick={() => setAttempt((a) => a + 1)}>
              Retry
            </Button>
          </Alert>
        )}
        {lokiUid && !models && !error && <LoadingPlaceholder text="Loading runtime models…" />}
        {models?.length === 0 && (
          <Alert severity="info" title="No runtime models here">
            {all?.length
              ? `${all.length} models in this range, none for this image, container or host: clear a filter.`
              : 'The collector emits model events while it learns an image: widen the time range.'}
          </Alert>
        )}
        {models?.map((m) => (
          <Card key={m.id} data-testid={testIds.models.model} className={styles.card}>
            <Card.Heading>{m.image}</Card.Heading>
            <Card.Meta>
              <span data-testid={testIds.models.state}>
                <Badge
                  text={m.state}
                  color={m.state === 'active' ? 'green' : m.state === 'learning' ? 'blue' : 'orange'}
                  tooltip={
                    m.state === 'no model' ? 'Audits on this host that name no runtime model' : undefined
                  }
                />
              </span>
              {m.stateSinceMs !== undefined
                ? `since ${formatMs(m.stateSinceMs, timeZone, 'YYYY-MM-DD HH:mm:ss')}`
                : ''}
              <span title={m.id}>{`model ${shortId(m.id)}`}</span>
            </Card.Meta>
            <Card.Description>
              <h5>Learned behaviours ({m.behaviours.length})</h5>
              <table className={styles.table}>
                <tbody>
                  {m.behaviours.map((b) => (
                    <tr key={b.event.id} data-testid={testIds.models.behaviour}>
                      <td>{formatMs(b.timeMs, timeZone, 'YYYY-MM-DD HH:mm:ss')}</td>
                      <td>{b.kind}</td>
                      <td className={`${styles.mono} ${styles.grow}`}>{b.value}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <h5>Audits ({m.audits.length})</h5>
              <table className={styles.table}>
                <tbody>
                  {m.audits.map((a) => (
                    <tr key={a.id} data-testid={testIds.models.audit}>
                      <td>{formatMs(nsToMs(a.timeNs), timeZone, 'YYYY-MM-DD HH:mm:ss.SSS')}</td>
                      <td>
                        <Badge
                          text={a.severity ?? '?'}
                          color={a.severity === 'critical' || a.severity === 'high' ? 'red' : 'orange'}
                        />
                      </td>
                      <td>{a.attackType}</td>
                      <td className={`${styles.mono} ${styles.grow}`}>
                        {a.message.split(m.id).join(shortId(m.id))}
                      </td>
                      <td>
                        <Button
                          size="sm"
                          variant="secondary"
                          icon="history"
                          onClick={() => toAudit(a)}
                          data-testid={testIds.models.auditLink}
                        >
                          Timeline at this moment
                        </Button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Card.Description>
          </Card>
        ))}
      </div>
    </PluginPage>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  card: css({ marginTop: theme.spacing(2) }),
  table: css({
    width: '100%',
    fontSize: theme.typography.bodySmall.fontSize,
    td: { padding: theme.spacing(0.25, 2, 0.25, 0), verticalAlign: 'top', whiteSpace: 'nowrap' },
  }),
  // The value column takes the room left, so the short columns stay side by side.
  grow: css({ width: '100%', '&&': { whiteSpace: 'normal' } }),
  mono: css({ fontFamily: theme.typography.fontFamilyMonospace, wordBreak: 'break-all' }),
});
