/**
 * The collector's export on the OTel SDK boundary, into the Loki stand-in
 * (or LOKI_URL): the resource comes from the OTel detectors and
 * OTEL_RESOURCE_ATTRIBUTES without shadowing event fields, the protocol flag
 * picks protobuf, and a queue written before the DeliveryProcessor (events as
 * JSON lines) is delivered after the upgrade, a line that is no record
 * counted and skipped.
 */
import { equal, ok } from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeEvent, msToNs, type NewEvent } from '@casefile/schema';
import { startLoki, type Loki } from '../../test/loki/loki-server';
import { DiskQueue } from '../src/export/disk-queue';
import { createLogger } from '../src/observability/logger';
import { Collector } from '../src/pipeline/collector';
import type { Emit, Source } from '../src/pipeline/types';
import { idCounts, readHost, testConfig, until } from './helpers';

class ListSource implements Source {
  readonly name = 'synthetic' as const;
  constructor(private readonly events: NewEvent[]) {}
  async available() {
    return { ok: true as const };
  }
  async start(emit: Emit) {
    for (const e of this.events) emit(e);
  }
  async stop() {}
}

let loki: Loki;
before(async () => {
  loki = await startLoki();
});
after(async () => {
  await loki?.stop();
});

/** Labels and structured metadata of every entry of `host`, as Loki answers a plain query_range. */
async function entryLabels(host: string): Promise<Record<string, string>[]> {
  const q = new URLSearchParams({
    query: `{host_name="${host}"}`,
    start: msToNs(Date.now() - 3_600_000),
    end: msToNs(Date.now() + 60_000),
    limit: '1000',
  });
  const res = await fetch(`${loki.url}/loki/api/v1/query_range?${q}`);
  ok(res.ok, `query_range ${res.status}`);
  const body = (await res.json()) as {
    data: { result: { stream: Record<string, string>; values: unknown[] }[] };
  };
  return body.data.result.flatMap((s) => s.values.map(() => s.stream));
}

test('resource from the OTel detectors and OTEL_RESOURCE_ATTRIBUTES; event fields never shadowed; protobuf by flag', async () => {
  const host = `export-otel-${Date.now()}`;
  const config = testConfig([
    '--otlp-endpoint',
    `${loki.url}/otlp`,
    '--host-name',
    host,
    '--otlp-protocol',
    'http/protobuf',
  ]);
  equal(config.otlp.protocol, 'http/protobuf');
  const saved = process.env.OTEL_RESOURCE_ATTRIBUTES;
  process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment=forensics-test,casefile.test.team=blue';
  let collector: Collector;
  try {
    collector = new Collector(config, createLogger('warn'), {
      sources: [
        new ListSource([
          {
            id: 'res-1',
            type: 'process.start',
            pid: 4242,
            executable: '/bin/true',
            message: 'true',
          } as NewEvent,
        ]),
      ],
    });
  } finally {
    if (saved === undefined) delete process.env.OTEL_RESOURCE_ATTRIBUTES;
    else process.env.OTEL_RESOURCE_ATTRIBUTES = saved;
  }
  await collector.start();
  try {
    await until('queue drained', () => collector.queue!.depth === 0, 30_000);
  } finally {
    await collector.stop();
  }
  const labels = await until(
    'the event in Loki',
    async () => (await entryLabels(host)).find((l) => l.casefile_event_id === 'res-1'),
    30_000
  );
  equal(labels.deployment_environment, 'forensics-test', 'OTEL_RESOURCE_ATTRIBUTES');
  equal(labels.casefile_test_team, 'blue', 'OTEL_RESOURCE_ATTRIBUTES');
  equal(labels.os_type, 'linux', 'the os detector');
  equal(labels.process_runtime_name, 'nodejs', 'the process detector');
  equal(labels.host_arch !== undefined, true, 'the host detector');
  equal(labels.service_name, 'casefile-collector');
  equal(labels.host_name, host, "Casefile's host wins over the detected one");
  equal(labels.process_pid, '4242', "the event's pid, not the collector's");
  equal(labels.process_executable_path, '/bin/true', "the event's executable, not node");
  ok(!('process_command_args' in labels), "the collector's own command line is not sent");
  const e = (await readHost(loki.url, host)).find((x) => x.id === 'res-1');
  equal(e?.pid, 4242, 'decoded as the event sent');
});

test('a queue written before the DeliveryProcessor (events as JSON lines) is delivered after the upgrade', async () => {
  const host = `export-legacy-${Date.now()}`;
  const config = testConfig(['--otlp-endpoint', `${loki.url}/otlp`, '--host-name', host]);
  const old = new DiskQueue(join(config.stateDir, 'queue'));
  const t0 = Date.now() - 10_000;
  for (let i = 0; i < 50; i++) {
    const e = makeEvent({
      id: `legacy-${i}`,
      type: 'process.start',
      timeNs: msToNs(t0 + i),
      pid: 100 + i,
      executable: '/bin/sh',
      message: `legacy ${i}`,
      host,
    });
    void old.append(JSON.stringify(e));
    if (i === 25) void old.append('{"neither":"record nor event"}');
  }
  old.close();
  const collector = new Collector(config, createLogger('fatal'), { sources: [] });
  await collector.start();
  try {
    await until('queue drained', () => collector.queue!.depth === 0, 30_000);
  } finally {
    await collector.stop();
  }
  equal(collector.export!.records.undecodable, 1, 'the line that is no record is counted');
  const text = await collector.metrics.registry.getSingleMetricAsString('casefile_events_dropped_total');
  ok(/reason="queue_corrupt"\} 1/.test(text), text);
  const got = await until(
    'legacy events in Loki',
    async () => {
      const all = await readHost(loki.url, host);
      return all.length >= 50 ? all : undefined;
    },
    30_000
  );
  const counts = idCounts(got);
  for (let i = 0; i < 50; i++) equal(counts.get(`legacy-${i}`), 1, `legacy-${i}`);
  const e = got.find((x) => x.id === 'legacy-7')!;
  equal(e.pid, 107);
  equal(e.timeNs, msToNs(t0 + 7));
});
