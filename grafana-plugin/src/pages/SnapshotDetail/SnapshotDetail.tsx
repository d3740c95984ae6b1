import React, { useEffect, useMemo, useState } from 'react';
import { useParams } from 'react-router-dom';
import { PluginPage, locationService } from '@grafana/runtime';
import { css } from '@emotion/css';
import { GrafanaTheme2, getTimeZone } from '@grafana/data';
import { Alert, Button, LinkButton, Stack, useStyles2 } from '@grafana/ui';
import { nsToMs, stepFor, type CasefileEvent, type EventType } from '@casefile/schema';
import {
  ForensicView,
  bucketEvents,
  formatMs,
  testIds,
  toggleHidden,
  zoneLabel,
} from '@casefile/timeline-ui';
import { MAX_GRID_EVENTS, ROUTES, prefixRoute } from '../../constants';
import { absoluteUrl } from '../../queries/http';
import { durationMs } from '../../queries/loki';
import { scopeText, windowText } from '../Snapshots/Snapshots';
import {
  getSnapshot,
  snapshotCsvUrl,
  snapshotEvents,
  snapshotPackageUrl,
  type Snapshot,
} from '../../queries/server';

/** One snapshot opened as the same timeline, fed by the server instead of Loki. */
export function SnapshotDetail() {
  const { id = '' } = useParams();
  const [snap, setSnap] = useState<Snapshot>();
  const [events, setEvents] = useState<CasefileEvent[]>([]);
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [hidden, setHidden] = useState<ReadonlySet<EventType>>(new Set());
  const [selected, setSelected] = useState<CasefileEvent>();
  const styles = useStyles2(getStyles);
  const tz = getTimeZone();

  useEffect(() => {
    let live = true;
    setLoading(true);
    Promise.all([getSnapshot(id), snapshotEvents(id, MAX_GRID_EVENTS)]).then(
      ([s, evs]) => {
        if (!live) return;
        setSnap(s);
        setEvents(evs);
        setLoading(false);
      },
      (e: Error) => {
        if (!live) return;
        setError(e.message);
        setLoading(false);
      }
    );
    return () => {
      live = false;
    };
  }, [id]);

  const buckets = useMemo(() => {
    const from = snap ? nsToMs(snap.fromNs) : 0;
    const to = snap ? Math.max(from + 1, nsToMs(snap.toNs)) : 1;
    return bucketEvents(events, from, to, durationMs(stepFor(to - from)));
  }, [snap, events]);

  return (
    <PluginPage>
      <div data-testid={testIds.snapshots.detail}>
        <Stack direction="row" alignItems="center" wrap="wrap">
          <Button
            variant="secondary"
            fill="text"
            icon="arrow-left"
            onClick={() => locationService.push(prefixRoute(ROUTES.Snapshots))}
          >
            All snapshots
          </Button>
          {snap && (
            <>
              <h3 className={styles.title}>{snap.title}</h3>
              <LinkButton
                size="sm"
                variant="secondary"
                icon="download-alt"
                href={absoluteUrl(snapshotCsvUrl(snap.id))}
                download
                data-testid={testIds.snapshots.exportCsv}
              >
                Export CSV
              </LinkButton>
              <LinkButton
                size="sm"
                variant="secondary"
                icon="archive-alt"
                href={absoluteUrl(snapshotPackageUrl(snap.id))}
                download
                data-testid={testIds.snapshots.downloadPackage}
              >
                Forensic package
              </LinkButton>
            </>
          )}
        </Stack>
        {snap && (
          <div className={styles.meta}>
            {scopeText(snap.scope ?? {})} · {windowText(snap.fromNs, snap.toNs, tz)} {zoneLabel(tz)} ·{' '}
            {snap.eventCount.toLocaleString('en-US')} events · pinned by {snap.createdBy ?? 'unknown'} at{' '}
            {formatMs(Date.parse(snap.createdAt), tz, 'YYYY-MM-DD HH:mm:ss')}
          </div>
        )}
        {snap?.query && <pre className={styles.query}>{snap.query}</pre>}
        {error && !snap ? (
          <Alert severity="error" title="Could not open the snapshot">
            {error}
          </Alert>
        ) : (
          <ForensicView
            buckets={buckets}
            events={events}
            hidden={hidden}
            onToggle={(t) => setHidden(toggleHidden(hidden, t))}
            selected={selected}
            onSelect={setSelected}
            loading={loading}
            error={error}
            timeZone={tz}
            emptyHint="This snapshot holds no events."
          />
        )}
      </div>
    </PluginPage>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  title: css({ margin: 0, flex: '1 1 auto', minWidth: 0, overflowWrap: 'anywhere' }),
  meta: css({ color: theme.colors.text.secondary, margin: theme.spacing(0.5, 0) }),
  query: css({ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }),
});
