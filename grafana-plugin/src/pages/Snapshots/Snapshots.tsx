import React, { useCallback, useEffect, useState } from 'react';
import { PluginPage, locationService } from '@grafana/runtime';
import { Alert, Badge, Button, ConfirmButton, LinkButton, LoadingPlaceholder, Stack } from '@grafana/ui';
import { testIds } from '@casefile/timeline-ui';
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

/** Pinned snapshots from the server: open, export CSV, download the forensic package, lock, delete. */
export function Snapshots() {
  const [items, setItems] = useState<Snapshot[]>();
  const [error, setError] = useState<string>();
  const editor = canEdit();
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
          <Alert severity="error" title="Snapshot server">
            {error}
          </Alert>
        )}
        {!items && !error && <LoadingPlaceholder text="Loading snapshots…" />}
        {items?.length === 0 && (
          <Alert severity="info" title="No snapshots yet">
            Pin one from the Timeline page.
          </Alert>
        )}
        {items && items.length > 0 && (
          <table className="filter-table">
            <thead>
              <tr>
                <th>Title</th>
                <th>Window (UTC)</th>
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
                  <td>
                    {s.from} → {s.to}
                  </td>
                  <td>{s.eventCount.toLocaleString('en-US')}</td>
                  <td>{s.createdBy ?? ''}</td>
                  <td>{s.createdAt}</td>
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
