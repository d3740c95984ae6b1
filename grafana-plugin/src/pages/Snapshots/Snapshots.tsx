import React, { useCallback, useEffect, useState } from 'react';
import { PluginPage, locationService } from '@grafana/runtime';
import { Alert, Badge, Button, ConfirmButton, LinkButton, LoadingPlaceholder, Stack } from '@grafana/ui';
import { getTimeZone } from '@grafana/data';
import { nsToMs, type Scope } from '@casefile/schema';
import { formatMs, testIds, zoneLabel, type TimeZone } from '@casefile/timeline-ui';
import { ROUTES, prefixRoute } from '../../constants';
import { absoluteUrl } from '../../queries/http';
import { canEdit } from '../../queries/roles';
import {
  deleteSnapshot,
  listSnapshots,
  setLocked,
  snapshotCsvUrl,
  snapshotPackageUrl,
  type Snapshot,
} from '../../queries/server';
import { RunningPins } from './RunningPins';

/** A snapshot's scope in a few words: `container web · host node-1`, or `everything`. */
export function scopeText(scope: Scope): string {
  const parts: string[] = [];
  if (scope.containerName) parts.push(`container ${scope.containerName}`);
  if (scope.containerId) parts.push(`container ${scope.containerId.slice(0, 12)}`);
  if (scope.imageName) parts.push(`image ${scope.imageName}`);
  if (scope.imageDigest) parts.push(`image ${scope.imageDigest.slice(0, 19)}`);
  if (scope.pod) parts.push(`pod ${scope.pod}`);
  if (scope.namespace) parts.push(`namespace ${scope.namespace}`);
  if (scope.host) parts.push(`host ${scope.host}`);
  return parts.join(' · ') || 'everything';
}

/** A window as a reader says it: `2026-12-01 09:01 → 10:01 (60 min)`, the day once when it does not change. */
export function windowText(fromNs: string, toNs: string, tz: TimeZone): string {
  const a = nsToMs(fromNs);
  const b = nsToMs(toNs);
  const sameDay = formatMs(a, tz, 'YYYY-MM-DD') === formatMs(b, tz, 'YYYY-MM-DD');
  const min = Math.round((b - a) / 60_000);
  const len =
    min < 120 ? `${min} min` : min < 2880 ? `${Math.round(min / 60)} h` : `${Math.round(min / 1440)} d`;
  return `${formatMs(a, tz, 'YYYY-MM-DD HH:mm:ss')} → ${formatMs(b, tz, sameDay ? 'HH:mm:ss' : 'YYYY-MM-DD HH:mm:ss')} (${len})`;
}

/** Pinned snapshots from the server: open, export CSV, download the forensic package, lock, delete. */
export function Snapshots() {
  const [items, setItems] = useState<Snapshot[]>();
  const [error, setError] = useState<string>();
  /** Pins still running (RunningPins): while any run, an empty list is not "nothing pinned". */
  const [running, setRunning] = useState(0);
  const editor = canEdit();
  const tz = getTimeZone();
  const reload = useCallback(() => {
    listSnapshots().then(
      (r) => {
        setItems(r.items);
        setError(undefined);
      },
      (e: Error) => setError(e.message)
    );
  }, []);
  useEffect(reload, [reload]);
  const act = (p: Promise<unknown>) => p.then(reload, (e: Error) => setError(e.message));

  return (
    <PluginPage>
      <div data-testid={testIds.snapshots.page}>
        {error && (
          <Alert severity="error" title="Could not reach the snapshots" data-testid={testIds.view.error}>
            <div>{error}</div>
            <Button size="sm" variant="secondary" icon="sync" onClick={reload}>
              Retry
            </Button>
          </Alert>
        )}
        <RunningPins onFinished={reload} onCount={setRunning} />
        {!items && !error && <LoadingPlaceholder text="Loading snapshots…" />}
        {items?.length === 0 && (
          <Alert severity="info" title={running ? 'No finished snapshots yet' : 'No snapshots yet'}>
            {running
              ? 'The pins in progress above are listed here when they finish.'
              : 'Pin one from the Timeline page.'}
          </Alert>
        )}
        {items && items.length > 0 && (
          <table className="filter-table">
            <thead>
              <tr>
                <th>Title</th>
                <th>Scope</th>
                <th>Window ({zoneLabel(tz)})</th>
                <th>Events</th>
                <th>Pinned by</th>
                <th>Pinned at</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id} data-testid={testIds.snapshots.row} data-snapshot-id={s.id}>
                  <td>
                    {s.title} {s.locked && <Badge text="locked" icon="lock" color="blue" />}
                  </td>
                  <td data-testid={testIds.snapshots.scope}>
                    {scopeText(s.scope ?? {})}
                    {s.search ? ` · “${s.search}”` : ''}
                    {s.types?.length ? ` · ${s.types.length} types` : ''}
                  </td>
                  <td title={`${s.from} → ${s.to}`}>{windowText(s.fromNs, s.toNs, tz)}</td>
                  <td>{s.eventCount.toLocaleString('en-US')}</td>
                  <td>{s.createdBy ?? ''}</td>
                  <td title={s.createdAt}>{formatMs(Date.parse(s.createdAt), tz, 'YYYY-MM-DD HH:mm:ss')}</td>
                  <td>
                    <Stack direction="row" gap={1}>
                      <Button
                        size="sm"
                        onClick={() => locationService.push(`${prefixRoute(ROUTES.Snapshots)}/${s.id}`)}
                        data-testid={testIds.snapshots.open}
                      >
                        Open
                      </Button>
                      <LinkButton
                        size="sm"
                        variant="secondary"
                        icon="download-alt"
                        href={absoluteUrl(snapshotCsvUrl(s.id))}
                        download
                        data-testid={testIds.snapshots.exportCsv}
                      >
                        CSV
                      </LinkButton>
                      <LinkButton
                        size="sm"
                        variant="secondary"
                        icon="archive-alt"
                        href={absoluteUrl(snapshotPackageUrl(s.id))}
                        download
                        data-testid={testIds.snapshots.downloadPackage}
                      >
                        Forensic package
                      </LinkButton>
                      <Button
                        size="sm"
                        variant="secondary"
                        icon={s.locked ? 'unlock' : 'lock'}
                        disabled={!editor}
                        tooltip={editor ? undefined : 'Needs the Editor role'}
                        onClick={() => act(setLocked(s.id, !s.locked))}
                        data-testid={testIds.snapshots.lock}
                      >
                        {s.locked ? 'Unlock' : 'Lock'}
                      </Button>
                      <span data-testid={testIds.snapshots.delete}>
                        <ConfirmButton
                          size="sm"
                          confirmText="Delete"
                          confirmVariant="destructive"
                          disabled={!editor}
                          onConfirm={() => act(deleteSnapshot(s.id))}
                        >
                          Delete
                        </ConfirmButton>
                      </span>
                    </Stack>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </PluginPage>
  );
}
