/**
 * The pipeline into a real Loki: hostile command lines arrive intact (or cut
 * with the marker), secrets arrive masked, invalid events are counted and do
 * not stop the collector, and every event arrives exactly once.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decodeBytes, type NewEvent } from '@casefile/schema';
import { startLoki, type Loki } from '../../test/loki/loki-server';
import { createLogger } from '../src/observability/logger';
import { Collector } from '../src/pipeline/collector';
import type { Emit, Source } from '../src/pipeline/types';
import { idCounts, readHost, testConfig, until } from './helpers';

/** A source that emits a fixed list of events: the real pipeline after the parser. */
class ListSource implements Source {
  readonly name = 'synthetic' as const;
  constructor(private readonly events: unknown[]) {}
  async available() {
    return { ok: true as const };
  }
  async start(emit: Emit) {
    for (const e of this.events) emit(e as NewEvent);
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

const proc = (id: string, commandLine: string, extra: Partial<NewEvent> = {}) =>
  ({
    id,
    type: 'process.start',
    pid: 4242,
    executable: '/bin/sh',
    message: commandLine,
    commandLine,
    args: commandLine.split(' '),
    ...extra,
  }) as NewEvent;

test('hostile command lines, invalid UTF-8, 1 MB argv and secrets through the pipeline into Loki', async () => {
  const host = `export-${Date.now()}`;
  const hostile = {
    newlines: 'sh -c "echo a\nb\r\nc"',
    quotes: `sh -c 'echo "double" and \\'single\\' \`tick\`'`,
    ansi: 'printf \u001b[31mred\u001b[0m \u0007bell \u001b]0;title\u0007',
    logql: '"} |= "x" or {job=~".+"}',
    unicode: 'echo ✓ 日本語 🧪 \u202eevil\u202c',
  };
  const raw: Record<string, string> = {};
  const badExe = decodeBytes(
    'executable',
    Uint8Array.from([0x2f, 0x74, 0x6d, 0x70, 0x2f, 0xff, 0xfe, 0x78]),
    raw
  );
  const big = 'A'.repeat(1 << 20);
  const events: unknown[] = [
    ...Object.entries(hostile).map(([k, v]) => proc(`hostile-${k}`, v)),
    proc('bad-utf8', '/tmp/\\xff\\xfex', { executable: badExe, rawBase64: JSON.stringify(raw) }),
    proc('big-argv', `sh -c ${big}`, { args: ['sh', '-c', big], message: 'big argv' }),
    proc('secret', 'mysql -u root -phunter2 --password=hunter2 postgres://app:hunter2@db/x'),
    { id: 'invalid-no-pid', type: 'process.start', message: 'no pid', executable: '/bin/x' },
    { id: 'invalid-type', type: 'no.such.type', message: 'x' },
    {
      id: 'invalid-surrogate',
      type: 'process.start',
      pid: 1,
      executable: '/bin/x',
      message: 'lone \ud800 surrogate',
    },
  ];
  const config = testConfig(['--otlp-endpoint', `${loki.url}/otlp`, '--host-name', host]);
  const collector = new Collector(config, createLogger('warn'), { sources: [new ListSource(events)] });
  await collector.start();
  try {
    await until('queue drained', () => collector.queue!.depth === 0, 30_000);
  } finally {
    await collector.stop();
  }
  const got = await until(
    'events in Loki',
    async () => {
      const all = (await readHost(loki.url, host)).filter((e) => e.type === 'process.start');
      return all.length >= 8 ? all : undefined;
    },
    30_000
  );
  const byId = new Map(got.map((e) => [e.id, e]));
  for (const n of idCounts(got).values()) equal(n, 1, 'each event exactly once');
  for (const [k, v] of Object.entries(hostile)) {
    const e = byId.get(`hostile-${k}`);
    ok(e, `hostile-${k} arrived`);
    equal(e.commandLine, v, k);
    equal(e.message, v, k);
    deepStrictEqual(e.args, v.split(' '), k);
  }
  const bad = byId.get('bad-utf8')!;
  equal(bad.executable, '/tmp/\\xff\\xfex');
  deepStrictEqual(
    [...Buffer.from(JSON.parse(bad.rawBase64!).executable, 'base64')],
    [0x2f, 0x74, 0x6d, 0x70, 0x2f, 0xff, 0xfe, 0x78]
  );
  const b = byId.get('big-argv')!;
  ok(b.commandLine!.endsWith(`…[truncated, ${(1 << 20) + 6} bytes]`), b.commandLine!.slice(-50));
  ok(b.args![2].includes('…[truncated,'), 'the big argument is cut with the marker');
  ok(b.truncated!.includes('commandLine:'), b.truncated);
  const s = byId.get('secret')!;
  ok(!JSON.stringify(s).includes('hunter2'), JSON.stringify(s));
  equal(s.commandLine, 'mysql -u root -p[REDACTED] --password=[REDACTED] postgres://app:[REDACTED]@db/x');
  for (const id of ['invalid-no-pid', 'invalid-type', 'invalid-surrogate'])
    ok(!byId.has(id), `${id} not exported`);
  const text = await collector.metrics.registry.getSingleMetricAsString('casefile_events_invalid_total');
  ok(/source="synthetic"\} 3/.test(text), text);
});
