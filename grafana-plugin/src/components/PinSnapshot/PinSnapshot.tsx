import React, { useEffect, useState } from 'react';
import { locationService } from '@grafana/runtime';
import { Alert, Button, Input, Stack, Text } from '@grafana/ui';
import { nsToMs, type CasefileEvent, type EventType, type Scope } from '@casefile/schema';
import { testIds } from '@casefile/timeline-ui';
import { ROUTES, prefixRoute } from '../../constants';
import { canEdit } from '../../queries/roles';
import { cancelPinJob, getPinJob, startPinJob, type PinJob, type PinRequest } from '../../queries/server';
import { PinJobProgress } from './PinJobProgress';
import { pinJobTestIds } from './testIds';

interface Props {
  scope: Scope;
  fromMs: number;
  toMs: number;
  types?: EventType[];
  search?: string;
  /** The event the investigation is about (the open audit, else the worst one in view): it names the snapshot. */
  incident?: CasefileEvent;
}

/** How often a running pin is asked for its progress. */
export const PIN_POLL_MS = 500;

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

const running = (j?: PinJob) => j?.state === 'queued' || j?.state === 'running';

/**
 * "Pin snapshot": asks for a title, then has the server copy the current filter's events out of Loki as a
 * background job (Editor only): its progress, Cancel, and a link to the snapshot when done.
 */
export function PinSnapshot({ scope, fromMs, toMs, types, search, incident }: Props) {
  const [title, setTitle] = useState<string>();
  const [starting, setStarting] = useState(false);
  const [job, setJob] = useState<PinJob>();
  const [done, setDone] = useState<{ id: string; title: string; eventCount: number }>();
  /** What failed, in words, and what Retry does. */
  const [error, setError] = useState<{ text: string; retry: () => void }>();
  const allowed = canEdit();
  const [request, setRequest] = useState<PinRequest>();

  const start = async (req: PinRequest) => {
    setStarting(true);
    setError(undefined);
    setDone(undefined);
    setJob(undefined);
    setRequest(req);
    try {
      const a = await startPinJob(req);
      setTitle(undefined);
      if (a.snapshot)
        setDone({ id: a.snapshot.id, title: a.snapshot.title, eventCount: a.snapshot.eventCount });
      else follow(a.job);
    } catch (e) {
      setError({ text: (e as Error).message, retry: () => start(req) });
    } finally {
      setStarting(false);
    }
  };

  const follow = (j: PinJob) => {
    setJob(j);
    if (j.state === 'done' && j.snapshotId)
      setDone({ id: j.snapshotId, title: j.title, eventCount: j.eventsRead });
  };

  // Follow a running job until it ends; leaving the page stops following, not the pin.
  const jobId = running(job) ? job!.id : undefined;
  useEffect(() => {
    if (!jobId) return;
    let live = true;
    const t = setInterval(() => {
      getPinJob(jobId).then(
        (j) => {
          if (!live) return;
          setError(undefined);
          follow(j);
        },
        (e: Error) =>
          live &&
          setError({
            text: `Could not read the pin's progress: ${e.message}. The pin may still be running on the server (see the Snapshots page).`,
            retry: () => getPinJob(jobId).then(follow, () => {}),
          })
      );
    }, PIN_POLL_MS);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [jobId]);

  const cancel = (j: PinJob) =>
    cancelPinJob(j.id).then(follow, (e: Error) =>
      setError({ text: `Could not cancel: ${e.message}`, retry: () => cancel(j) })
    );

  const again = request && (() => start(request));

  return (
    <Stack direction="column" gap={1}>
      <Stack direction="row" alignItems="center" wrap="wrap">
        {title === undefined ? (
          <Button
            icon="gf-pin"
            onClick={() => {
              setDone(undefined);
              setError(undefined);
              setTitle(defaultTitle(scope, fromMs, incident));
            }}
            disabled={!allowed || running(job)}
            tooltip={
              !allowed
                ? 'Pinning needs the Editor role'
                : running(job)
                  ? 'A pin is running; wait for it or cancel it'
                  : 'Copy these events into a snapshot that outlives Loki retention'
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
            <Button
              onClick={() => start({ title: title.trim(), scope, from: fromMs, to: toMs, types, search })}
              disabled={starting || !title.trim()}
              data-testid={testIds.timeline.pinConfirm}
            >
              {starting ? 'Starting…' : 'Pin'}
            </Button>
            <Button variant="secondary" fill="text" onClick={() => setTitle(undefined)}>
              Close
            </Button>
          </>
        )}
        {done && (
          <Button
            variant="success"
            fill="text"
            onClick={() => locationService.push(`${prefixRoute(ROUTES.Snapshots)}/${done.id}`)}
            data-testid={pinJobTestIds.done}
          >
            Pinned {done.eventCount.toLocaleString('en-US')} events as “{done.title}”: open
          </Button>
        )}
      </Stack>
      {running(job) && (
        <Stack direction="row" alignItems="center" wrap="wrap">
          <PinJobProgress job={job!} />
          <Button
            size="sm"
            variant="destructive"
            fill="outline"
            icon="times"
            disabled={job!.phase === 'storing'}
            tooltip={
              job!.phase === 'storing'
                ? 'Everything is read; it is being stored in one transaction and can no longer be cancelled'
                : 'Stop this pin: nothing is stored'
            }
            onClick={() => cancel(job!)}
            data-testid={pinJobTestIds.cancel}
          >
            Cancel pin
          </Button>
          <Text variant="bodySmall" color="secondary">
            Leaving this page does not cancel the pin: running pins are listed on the Snapshots page.
          </Text>
        </Stack>
      )}
      {job?.state === 'cancelled' && (
        <Alert severity="info" title="Pin cancelled" data-testid={pinJobTestIds.cancelled}>
          <div>{job.error?.message ?? 'Nothing was stored.'}</div>
          {again && (
            <Button size="sm" variant="secondary" icon="sync" onClick={again}>
              Pin again
            </Button>
          )}
        </Alert>
      )}
      {job?.state === 'failed' && (
        <Alert severity="error" title="Pinning failed" data-testid={pinJobTestIds.error}>
          <div>{job.error?.message ?? 'The server gave no reason.'}</div>
          {again && (
            <Button
              size="sm"
              variant="secondary"
              icon="sync"
              onClick={again}
              data-testid={pinJobTestIds.retry}
            >
              Retry
            </Button>
          )}
        </Alert>
      )}
      {error && (
        <Alert severity="error" title="Pinning failed" data-testid={pinJobTestIds.error}>
          <div>{error.text}</div>
          <Button
            size="sm"
            variant="secondary"
            icon="sync"
            onClick={error.retry}
            data-testid={pinJobTestIds.retry}
          >
            Retry
          </Button>
        </Alert>
      )}
    </Stack>
  );
}
