import React, { useState } from 'react';
import { locationService } from '@grafana/runtime';
import { Alert, Button, Input, Stack } from '@grafana/ui';
import type { EventType, Scope } from '@casefile/schema';
import { testIds } from '@casefile/timeline-ui';
import { ROUTES, prefixRoute } from '../../constants';
import { canEdit } from '../../queries/roles';
import { pinSnapshot, type Snapshot } from '../../queries/server';

interface Props {
  scope: Scope;
  fromMs: number;
  toMs: number;
  types?: EventType[];
  search?: string;
}

/** A default title naming the scope and window. */
export function defaultTitle(scope: Scope, fromMs: number): string {
  const what = scope.containerName ?? scope.imageName ?? scope.pod ?? scope.host ?? 'all scopes';
  return `${what} at ${new Date(fromMs).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "Pin snapshot": asks for a title, then has the server copy the current filter's events out of Loki (Editor only). */
export function PinSnapshot({ scope, fromMs, toMs, types, search }: Props) {
  const [title, setTitle] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<Snapshot>();
  const [error, setError] = useState<string>();
  const allowed = canEdit();

  const pin = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setDone(
        await pinSnapshot({
          title: title || defaultTitle(scope, fromMs),
          scope,
          from: fromMs,
          to: toMs,
          types,
          search,
        })
      );
      setTitle(undefined);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Stack direction="row" alignItems="center" wrap="wrap">
      {title === undefined ? (
        <Button
          icon="gf-pin"
          onClick={() => {
            setDone(undefined);
            setTitle(defaultTitle(scope, fromMs));
          }}
          disabled={!allowed}
          tooltip={
            allowed
              ? 'Copy these events into a snapshot that outlives Loki retention'
              : 'Pinning needs the Editor role'
          }
          data-testid={testIds.timeline.pin}
        >
          Pin snapshot
        </Button>
      ) : (
        <>
          <Input
            width={40}
            value={title}
            onChange={(e) => setTitle(e.currentTarget.value)}
            aria-label="Snapshot title"
            data-testid={testIds.timeline.pinTitle}
          />
          <Button onClick={pin} disabled={busy || !title.trim()} data-testid={testIds.timeline.pinConfirm}>
            {busy ? 'Pinning…' : 'Pin'}
          </Button>
          <Button variant="secondary" fill="text" onClick={() => setTitle(undefined)}>
            Cancel
          </Button>
        </>
      )}
      {done && (
        <Button
          variant="success"
          fill="text"
          onClick={() => locationService.push(`${prefixRoute(ROUTES.Snapshots)}/${done.id}`)}
        >
          Pinned {done.eventCount.toLocaleString('en-US')} events as “{done.title}”
        </Button>
      )}
      {error && (
        <Alert severity="error" title="Pinning failed">
          {error}
        </Alert>
      )}
    </Stack>
  );
}
