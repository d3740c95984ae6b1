import React, { useState } from 'react';
import { locationService } from '@grafana/runtime';
import { Alert, Button, Input, Stack } from '@grafana/ui';
import { nsToMs, type CasefileEvent, type EventType, type Scope } from '@casefile/schema';
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
  /** The event the investigation is about (the open audit, else the worst one in view): it names the snapshot. */
  incident?: CasefileEvent;
}

const minute = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * A default title: the incident's own words (its attack and where, at its minute), else the scope and window.
 *
 * @example defaultTitle({}, 0, { type: 'runtime.audit', attackType: 'reverse_shell', containerName: 'web', timeNs: '0' } as never) // => 'reverse_shell in web at 1970-01-01 00:00 UTC'
 */
export function defaultTitle(scope: Scope, fromMs: number, incident?: CasefileEvent): string {
  if (incident) {
    const what = incident.attackType ?? incident.message.slice(0, 60);
    const where = incident.containerName ?? incident.containerId?.slice(0, 12) ?? incident.host;
    return `${what}${where ? ` in ${where}` : ''} at ${minute(nsToMs(incident.timeNs))}`;
  }
  const what = scope.containerName ?? scope.imageName ?? scope.pod ?? scope.host ?? 'all scopes';
  return `${what} at ${minute(fromMs)}`;
}

/** A window's length in words. */
function fmtWindow(fromMs: number, toMs: number): string {
  const min = Math.round((toMs - fromMs) / 60_000);
  return min < 120 ? `${min} min` : `${Math.round(min / 60)} h`;
}

/** "Pin snapshot": asks for a title, then has the server copy the current filter's events out of Loki (Editor only). */
export function PinSnapshot({ scope, fromMs, toMs, types, search, incident }: Props) {
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
          title: title || defaultTitle(scope, fromMs, incident),
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
            setTitle(defaultTitle(scope, fromMs, incident));
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
            {busy
              ? `Pinning ${fmtWindow(fromMs, toMs)}… (the server copies every event; a large window takes a while)`
              : 'Pin'}
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
