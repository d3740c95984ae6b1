/** Test events for the server's suites, and waiting for Loki to have them; seeding is test/loki/seed.ts. */
import {
  makeEvent,
  msToNs,
  resourceAttributes,
  type CasefileEvent,
  type EventFilter,
} from '@casefile/schema';
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
    for await (const p of client.readEvents(filter, window)) got += p.events.length + p.unreadable.length;
    if (got >= n || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A raw OTLP log record: what a collector this build does not know might send. */
export interface RawRecord {
  timeNs: string;
  body: string;
  attributes: Record<string, string>;
}

/** POST raw records to Loki's OTLP endpoint as `host` (OTLP/HTTP JSON), e.g. entries of a newer event type. */
export async function pushRaw(lokiUrl: string, host: string, records: readonly RawRecord[]): Promise<void> {
  const kv = (o: Record<string, string>) =>
    Object.entries(o).map(([key, v]) => ({ key, value: { stringValue: v } }));
  const body = {
    resourceLogs: [
      {
        resource: { attributes: kv(resourceAttributes({ serviceName: 'casefile-collector-next', host })) },
        scopeLogs: [
          {
            scope: { name: 'casefile-test' },
            logRecords: records.map((r) => ({
              timeUnixNano: r.timeNs,
              observedTimeUnixNano: r.timeNs,
              severityNumber: 9,
              severityText: 'INFO',
              body: { stringValue: r.body },
              attributes: kv(r.attributes),
            })),
          },
        ],
      },
    ],
  };
  const res = await fetch(`${lokiUrl}/otlp/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`OTLP push: ${res.status} ${await res.text()}`);
}
