/** Test events for the server's suites, and waiting for Loki to have them; seeding is test/loki/seed.ts. */
import { makeEvent, msToNs, type CasefileEvent, type EventFilter } from '@casefile/schema';
import { LokiClient, type Window } from '../../src/loki/loki-client';

/** `n` process.start events 1 ms apart from `startMs`, on `host`, in container `container`. */
export function processEvents(
  n: number,
  startMs: number,
  container: string,
  extra: Partial<CasefileEvent> = {}
): CasefileEvent[] {
  const out: CasefileEvent[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      makeEvent({
        type: 'process.start',
        timeNs: (BigInt(msToNs(startMs + i)) + BigInt(i % 1000)).toString(),
        message: `exec /usr/bin/worker --n ${i}`,
        pid: 1000 + (i % 30000),
        executable: '/usr/bin/worker',
        commandLine: `/usr/bin/worker --n ${i}`,
        containerId: container.padEnd(64, '0').slice(0, 64),
        containerName: container,
        ...extra,
      } as CasefileEvent)
    );
  }
  return out;
}

/** Poll Loki until it returns `n` events for the filter (entries become queryable shortly after the push). */
export async function waitForEvents(
  lokiUrl: string,
  filter: EventFilter,
  window: Window,
  n: number,
  timeoutMs = 60_000
): Promise<number> {
  const client = new LokiClient({ url: lokiUrl });
  const deadline = Date.now() + timeoutMs;
  let got = 0;
  for (;;) {
    got = 0;
    for await (const p of client.readEvents(filter, window)) got += p.length;
    if (got >= n || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 300));
  }
}
