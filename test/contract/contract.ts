/**
 * The contract test: for every event type, an event whose string fields are
 * hostile goes through the real OpenTelemetry JS exporter into Loki's
 * OTLP endpoint, is read back with schema's own LogQL builders and decoder,
 * and must come back field for field.
 *
 * Prints TAP-style `ok` / `not ok` lines, then exactly:
 *   contract: N event types round-tripped through <backend>   (the Loki stand-in, or Loki <version> at <LOKI_URL>)
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import {
  EVENT_TYPES,
  EVENT_TYPE_NAMES,
  FIELDS,
  STREAM_LABELS,
  decodeBytes,
  makeEvent,
  msToNs,
  type CasefileEvent,
  type EventType,
  type FieldName,
  type FieldSpec,
} from '@casefile/schema';
import { LokiClient } from '../../server/src/loki/loki-client';
import { startLoki } from '../loki/loki-server';
import { seedEvents } from '../loki/seed';

/** Strings that have broken log pipelines, query languages and spreadsheets. */
const HOSTILE = [
  `quote " and 'single' and \`backtick\``,
  'back\\slash \\n not-a-newline \\\\',
  'new\nline\r\ncrlf\ttab',
  'ansi \u001b[31mred\u001b[0m \u0007bell',
  '"} |= "x" or {job=~".+"}',
  'regex .*[(?i)^$|+{2}',
  '=HYPERLINK("http://x","y")',
  'unicode ✓ 日本語 🧪 \u202eevil\u202c \ufffd',
  '{{ .SecureJsonData.token }} ${HOME} $(id)',
];
const HOST = 'contract-host';

function hostileValue(f: FieldName, i: number): unknown {
  const kind = (FIELDS[f] as FieldSpec).kind;
  if (kind === 'int') return f === 'exitCode' ? -1 : 1000 + i;
  if (kind === 'bool') return true;
  if (kind === 'string[]') return HOSTILE.slice(0, 4);
  return `${f}: ${HOSTILE[i % HOSTILE.length]}`;
}

function buildEvent(type: EventType, t: number): CasefileEvent {
  const spec = EVENT_TYPES[type];
  const e: Record<string, unknown> = {
    type,
    timeNs: (BigInt(msToNs(t)) + 123_457n).toString(), // sub-millisecond digits must survive
    message: `${spec.title}: ${HOSTILE.join(' | ')}`,
    containerId: 'c'.repeat(64),
    containerName: `name ${HOSTILE[0]}`,
    imageName: 'registry.example/app:1.0',
    imageDigest: 'sha256:' + 'ab'.repeat(32),
    namespace: 'payments',
    pod: `pod-${HOSTILE[4]}`,
  };
  [...spec.required, ...spec.fields].forEach((f, i) => (e[f] = hostileValue(f, i)));
  if (type === 'process.start') {
    // A 1 MiB command line is cut with a visible marker and the original length.
    e.commandLine = '/bin/sh -c ' + 'A'.repeat(1 << 20);
    // Invalid UTF-8 from the kernel: replaced in the string, kept byte for byte in `rawBase64`.
    const raw: Record<string, string> = {};
    e.executable = decodeBytes(
      'executable',
      Uint8Array.from([0x2f, 0x74, 0x6d, 0x70, 0x2f, 0xff, 0xfe, 0x78]),
      raw
    );
    e.rawBase64 = JSON.stringify(raw);
  }
  return makeEvent(e as unknown as CasefileEvent);
}

async function main() {
  const loki = await startLoki();
  let failed = 0;
  let n = 0;
  const check = (name: string, fn: () => void) => {
    n++;
    try {
      fn();
      console.log(`ok ${n} - ${name}`);
    } catch (err) {
      failed++;
      console.log(
        `not ok ${n} - ${name}\n  ${String((err as Error).message)
          .split('\n')
          .join('\n  ')}`
      );
    }
  };
  try {
    const start = Date.now() - 60_000;
    const sent = EVENT_TYPE_NAMES.map((t, i) => buildEvent(t, start + i * 1000));
    await seedEvents(loki.url, HOST, sent, { serviceName: 'casefile-contract' });

    const client = new LokiClient({ url: loki.url });
    const window = { fromNs: msToNs(start - 1000), toNs: msToNs(Date.now() + 1000) };
    // Loki makes entries queryable a moment after the push returns.
    let got: CasefileEvent[] = [];
    for (let i = 0; i < 40 && got.length < sent.length; i++) {
      got = await client.readAll({ scope: { host: HOST } }, window);
      if (got.length < sent.length) await new Promise((r) => setTimeout(r, 250));
    }
    for (const e of sent) {
      check(`${e.type} round-trips field for field`, () => {
        const back = got.filter((g) => g.id === e.id);
        equal(back.length, 1, `expected exactly one ${e.type} with id ${e.id}, got ${back.length}`);
        deepStrictEqual({ ...back[0], host: undefined }, { ...e, host: undefined });
        equal(back[0].host, HOST);
      });
    }
    // Per-type and search queries built by schema, with hostile input.
    for (const e of sent) {
      const byType = await client.readAll(
        { scope: { host: HOST, containerName: e.containerName }, types: [e.type] },
        window
      );
      check(`${e.type}: type + hostile scope filter finds exactly it`, () =>
        deepStrictEqual(
          byType.map((x) => x.id),
          [e.id]
        )
      );
    }
    for (const needle of HOSTILE.slice(0, 7)) {
      const hits = await client.readAll({ scope: { host: HOST }, search: needle.toUpperCase() }, window);
      check(`search ${JSON.stringify(needle.slice(0, 24))} matches every message, case-insensitively`, () =>
        equal(hits.length, sent.length)
      );
    }
    const none = await client.readAll({ scope: { host: HOST }, search: '"} |= "' + 'not there' }, window);
    check('a search that is not in any message finds nothing', () => equal(none.length, 0));
    const ps = sent.find((e) => e.type === 'process.start')!;
    check('1 MiB command line truncated with marker and original length', () => {
      ok(ps.commandLine!.endsWith(`…[truncated, ${(1 << 20) + 11} bytes]`), ps.commandLine!.slice(-40));
      ok(ps.truncated!.includes(`commandLine:${(1 << 20) + 11}`));
    });
    check('invalid UTF-8 kept byte for byte in casefile.raw', () => {
      const back = got.find((g) => g.id === ps.id)!;
      const raw = JSON.parse(back.rawBase64!);
      deepStrictEqual(
        [...Buffer.from(raw.executable, 'base64')],
        [0x2f, 0x74, 0x6d, 0x70, 0x2f, 0xff, 0xfe, 0x78]
      );
    });
    const labels = (
      await client.get<{ data: string[] }>('/loki/api/v1/labels', { start: window.fromNs, end: window.toNs })
    ).data;
    check('stream labels are exactly the documented low-cardinality set', () =>
      deepStrictEqual([...labels].sort(), STREAM_LABELS.map((l) => l.label).sort())
    );
  } finally {
    await loki.stop();
  }
  console.log(`# pass ${n - failed}\n# fail ${failed}`);
  if (failed) {
    console.log(`contract: ${failed} of ${n} checks failed against ${loki.backend}`);
    process.exit(1);
  }
  console.log(`contract: ${EVENT_TYPE_NAMES.length} event types round-tripped through ${loki.backend}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
