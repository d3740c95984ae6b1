import React, { useEffect, useRef, useState } from 'react';
import { Alert, Button, Stack, Text } from '@grafana/ui';
import { PinJobProgress } from '../../components/PinSnapshot/PinJobProgress';
import { pinJobTestIds } from '../../components/PinSnapshot/testIds';
import { canEdit } from '../../queries/roles';
import { cancelPinJob, listPinJobs, type PinJob } from '../../queries/server';
import { scopeText } from './Snapshots';

/** How often the running pins are read again. */
export const RUNNING_POLL_MS = 1000;

/**
 * The pins still running on the server (anyone's, also those whose page was
 * closed), with their progress and Cancel; `onFinished` when one of them ends,
 * so the list of snapshots shows it; `onCount` with how many run, as read.
 */
export function RunningPins({
  onFinished,
  onCount,
}: {
  onFinished: () => void;
  onCount?: (running: number) => void;
}) {
  const [jobs, setJobs] = useState<PinJob[]>([]);
  const [error, setError] = useState<string>();
  const editor = canEdit();
  const seen = useRef(new Set<string>());
  const finished = useRef(onFinished);
  finished.current = onFinished;
  const count = useRef(onCount);
  count.current = onCount;

  const read = () =>
    listPinJobs(true).then(
      (r) => {
        const now = new Set(r.items.map((j) => j.id));
        if ([...seen.current].some((id) => !now.has(id))) finished.current();
        seen.current = now;
        setJobs(r.items);
        count.current?.(r.items.length);
        setError(undefined);
      },
      (e: Error) => setError(e.message)
    );

  useEffect(() => {
    read();
    const t = setInterval(read, RUNNING_POLL_MS);
    return () => clearInterval(t);
  }, []);

  if (error)
    return (
      <Alert severity="warning" title="Could not read the pins in progress">
        {error}
      </Alert>
    );
  if (!jobs.length) return null;
  return (
    <div data-testid={pinJobTestIds.running} style={{ marginBottom: 16 }}>
      <Text element="h4">Pins in progress ({jobs.length})</Text>
      {jobs.map((j) => (
        <div key={j.id} data-testid={pinJobTestIds.runningRow} data-job-id={j.id}>
          <Stack direction="row" alignItems="center" wrap="wrap" gap={2}>
            <Stack direction="column" gap={0}>
              <Text weight="medium">{j.title}</Text>
              <Text variant="bodySmall" color="secondary">
                {scopeText(j.scope ?? {})} · by {j.createdBy ?? 'unknown'}
              </Text>
            </Stack>
            <PinJobProgress job={j} />
            <Button
              size="sm"
              variant="destructive"
              fill="outline"
              icon="times"
              disabled={!editor || j.phase === 'storing'}
              tooltip={
                !editor
                  ? 'Needs the Editor role'
                  : j.phase === 'storing'
                    ? 'Being stored in one transaction: no longer cancellable'
                    : 'Stop this pin: nothing is stored'
              }
              onClick={() => cancelPinJob(j.id).then(read, (e: Error) => setError(e.message))}
              data-testid={pinJobTestIds.cancel}
            >
              Cancel pin
            </Button>
          </Stack>
        </div>
      ))}
    </div>
  );
}
