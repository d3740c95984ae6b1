import React, { useEffect, useMemo, useState } from 'react';
import { useLocation } from 'react-router-dom';
import { css } from '@emotion/css';
import { GrafanaTheme2, rangeUtil } from '@grafana/data';
import { PluginPage, locationService } from '@grafana/runtime';
import {
  Alert,
  Badge,
  Button,
  Card,
  LoadingPlaceholder,
  Stack,
  TimeRangePicker,
  useStyles2,
} from '@grafana/ui';
import { nsToIso, nsToMs, type CasefileEvent } from '@casefile/schema';
import { testIds } from '@casefile/timeline-ui';
import { ROUTES, prefixRoute } from '../../constants';
import { readAllEvents } from '../../queries/loki';
import { useSettings } from '../../settings';
import { stateQuery } from '../Timeline/urlState';
import { buildModels, type ModelView } from './models';

const MODEL_TYPES = ['model.state', 'model.learned', 'runtime.audit'] as const;
/** Minutes around an audit shown when jumping to the timeline. */
const AUDIT_WINDOW_MIN = 5;

/** Runtime models per image: state, learned behaviours with when each was learned, and audits against the model. */
export function Models() {
  const styles = useStyles2(getStyles);
  const { lokiUid } = useSettings();
  const location = useLocation();
  const params = new URLSearchParams(location.search);
  const image = params.get('image') || undefined;
  const from = params.get('from') || 'now-24h';
  const to = params.get('to') || 'now';
  const range = useMemo(() => rangeUtil.convertRawToRange({ from, to }), [from, to]);
  const [models, setModels] = useState<ModelView[]>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!lokiUid) return;
    let live = true;
    setModels(undefined);
    setError(undefined);
    readAllEvents(
      lokiUid,
      { types: [...MODEL_TYPES], scope: image ? { imageName: image } : undefined },
      range.from.valueOf(),
      range.to.valueOf(),
      50_000
    ).then(
      (evs) => live && setModels(buildModels(evs)),
      (e: Error) => live && setError(e.message)
    );
    return () => {
      live = false;
    };
  }, [lokiUid, image, range]);

  const toAudit = (a: CasefileEvent) => {
    const t = nsToMs(a.timeNs);
    const q = stateQuery({
      from: String(t - AUDIT_WINDOW_MIN * 60_000),
      to: String(t + AUDIT_WINDOW_MIN * 60_000),
      scope: a.containerId ? { containerId: a.containerId } : a.imageName ? { imageName: a.imageName } : {},
      event: a.id,
    });
    locationService.push(`${prefixRoute(ROUTES.Timeline)}?${q}`);
  };

  return (
    <PluginPage>
      <div data-testid={testIds.models.page}>
        <Stack direction="row" justifyContent="space-between" alignItems="center">
          <div>
            {image ? (
              <>
                Image <b>{image}</b>{' '}
                <Button size="sm" fill="text" onClick={() => locationService.partial({ image: null })}>
                  all images
                </Button>
              </>
            ) : (
              'All images'
            )}
          </div>
          <TimeRangePicker
            value={range}
            onChange={(r) =>
              locationService.partial({ from: String(r.from.valueOf()), to: String(r.to.valueOf()) })
            }
            onMoveBackward={() => undefined}
            onMoveForward={() => undefined}
            onZoom={() => undefined}
            timeZone="utc"
            onChangeTimeZone={() => undefined}
          />
        </Stack>
        {!lokiUid && (
          <Alert severity="warning" title="No Loki data source configured">
            Pick one on the app's Configuration page.
          </Alert>
        )}
        {error && (
          <Alert severity="error" title="Could not load runtime models">
            {error}
          </Alert>
        )}
        {lokiUid && !models && !error && <LoadingPlaceholder text="Loading runtime models…" />}
        {models?.length === 0 && (
          <Alert severity="info" title="No runtime models in this range">
            The collector emits model events while it learns an image.
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
                />
              </span>
              {m.stateSinceMs !== undefined ? `since ${new Date(m.stateSinceMs).toISOString()}` : ''}
              {`model ${m.id}`}
            </Card.Meta>
            <Card.Description>
              <h5>Learned behaviours ({m.behaviours.length})</h5>
              <table className={styles.table}>
                <tbody>
                  {m.behaviours.map((b) => (
                    <tr key={b.event.id} data-testid={testIds.models.behaviour}>
                      <td>{new Date(b.timeMs).toISOString()}</td>
                      <td>{b.kind}</td>
                      <td className={styles.mono}>{b.value}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <h5>Audits ({m.audits.length})</h5>
              <table className={styles.table}>
                <tbody>
                  {m.audits.map((a) => (
                    <tr key={a.id} data-testid={testIds.models.audit}>
                      <td>{nsToIso(a.timeNs)}</td>
                      <td>
                        <Badge
                          text={a.severity ?? '?'}
                          color={a.severity === 'critical' || a.severity === 'high' ? 'red' : 'orange'}
                        />
                      </td>
                      <td>{a.attackType}</td>
                      <td className={styles.mono}>{a.message}</td>
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
    td: { padding: theme.spacing(0.25, 1, 0.25, 0), verticalAlign: 'top' },
  }),
  mono: css({ fontFamily: theme.typography.fontFamilyMonospace, wordBreak: 'break-all' }),
});
