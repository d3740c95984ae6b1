/**
 * Real events for the browser tests and the benchmark: built with schema's makeEvent,
 * mapped with toLogRecord and sent through the real OpenTelemetry JS exporter into
 * Loki's OTLP endpoint (one LoggerProvider per host, as one collector per node would).
 * The batch path is flushed every few thousand records: left alone, the default
 * exporter drops bursts (shared/MACHINE.md).
 */
import {
  EVENT_TYPES,
  FIELDS,
  makeEvent,
  msToNs,
  streamSelector,
  type CasefileEvent,
  type EventType,
  type FieldName,
  type FieldSpec,
} from '@casefile/schema';
import { seedEvents } from '../../../test/loki/seed';

/** Strings that have broken log pipelines, query languages, HTML and spreadsheets. */
export const HOSTILE = [
  `<img src=x onerror="window.__xss=1">`,
  '=HYPERLINK("http://evil.example","click")',
  '"} |= "x" or {job=~".+"}',
  'regex .*[(?i)^$|+{2}',
  'new\nline\ttab',
  'unicode ✓ 日本語 🧪',
];

const PER_FLUSH = 4096;

/** Every required field of a type, filled by kind: types added to the schema later still validate. */
function requiredFields(type: EventType, i: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of EVENT_TYPES[type].required as readonly FieldName[]) {
    const kind = (FIELDS[f] as FieldSpec).kind;
    out[f] =
      kind === 'int' ? 1000 + i : kind === 'bool' ? true : kind === 'string[]' ? [`${f}-${i}`] : `${f}-${i}`;
  }
  return out;
}

/** Fields an event of each type gets, so every type is valid and every detail is shown. */
function fieldsFor(type: EventType, i: number, hostile: boolean): Record<string, unknown> {
  return { ...requiredFields(type, i), ...knownFields(type, i, hostile) };
}

function knownFields(type: EventType, i: number, hostile: boolean): Record<string, unknown> {
  const h = (s: string) => (hostile ? `${s} ${HOSTILE[i % HOSTILE.length]}` : s);
  const pid = 1000 + (i % 5000);
  const common = {
    pid,
    processKey: `boot:${pid}:${i}`,
    executable: '/usr/bin/nc',
    processName: 'nc',
    source: 'ebpf',
  };
  switch (type) {
    case 'container.start':
      return { containerId: 'c'.repeat(64), pid, labels: JSON.stringify({ app: 'web' }) };
    case 'container.stop':
      return { containerId: 'c'.repeat(64), exitCode: 137, reason: 'killed' };
    case 'process.start':
      return {
        ...common,
        ppid: 1,
        commandLine: h('/usr/bin/nc -l -p 4444'),
        args: ['nc', '-l', '-p', '4444'],
        cwd: '/',
        uid: 0,
        user: 'root',
        parentExecutable: '/bin/sh',
      };
    case 'process.exit':
      return { ...common, exitCode: 0 };
    case 'port.listen':
    case 'port.close':
      return { ...common, listenPort: 4444, listenAddress: '0.0.0.0', transport: 'tcp', networkType: 'ipv4' };
    case 'network.connect':
      return {
        ...common,
        destAddress: '203.0.113.9',
        destPort: 443,
        destDomain: 'evil.example',
        transport: 'tcp',
        networkType: 'ipv4',
      };
    case 'host.login':
      return {
        activity: 'login',
        loginUser: 'alice',
        sourceAddress: '198.51.100.7',
        sourcePort: 50522,
        authMethod: 'publickey',
        pid,
        source: 'journal',
      };
    case 'host.activity':
      return {
        activity: 'sudo',
        loginUser: 'alice',
        targetUser: 'root',
        pid,
        commandLine: h('sudo cat /etc/shadow'),
        source: 'journal',
      };
    case 'model.learned':
      return {
        modelId: 'model-web',
        behaviorKind: 'exec',
        behavior: '/usr/bin/nginx',
        modelState: 'learning',
        pid,
        executable: '/usr/bin/nginx',
      };
    case 'model.state':
      return { modelId: 'model-web', modelState: 'active', reason: 'learning window over' };
    case 'runtime.audit':
      return {
        attackType: h('unexpected listening port'),
        severity: 'high',
        ruleId: 'model.port',
        action: 'alert',
        mitreTechnique: 'T1571',
        modelId: 'model-web',
        ...common,
        ppid: 1,
        commandLine: h('/usr/bin/nc -l -p 4444'),
        uid: 0,
        // A cell that starts with a formula: the CSV exports must neutralise it.
        user: hostile ? HOSTILE[1] : 'root',
        listenPort: 4444,
      };
    case 'runtime.action':
      return { action: 'kill', auditId: `audit-${i}`, ruleId: 'model.port', pid, reason: 'policy' };
    case 'snapshot.pinned':
      return { snapshotId: `snap-${i}`, loginUser: 'alice', snapshotTitle: 'earlier', eventCount: 3 };
    default:
      return {};
  }
}

export interface EventSpec {
  type: EventType;
  /** Epoch ms of the event. */
  atMs: number;
  host: string;
  message?: string;
  hostile?: boolean;
  extra?: Record<string, unknown>;
}

/** A valid event of `type` with the scope of a web container in the payments namespace. */
export function buildEvent(s: EventSpec, i: number): CasefileEvent {
  return makeEvent({
    type: s.type,
    timeNs: (BigInt(msToNs(s.atMs)) + BigInt(i % 1_000_000)).toString(),
    message:
      s.message ?? `${EVENT_TYPES[s.type].title} #${i}${s.hostile ? ` ${HOSTILE[i % HOSTILE.length]}` : ''}`,
    host: s.host,
    containerId: 'c'.repeat(64),
    containerName: 'web',
    imageName: 'registry.example/web:1.0',
    imageDigest: 'sha256:' + 'ab'.repeat(32),
    namespace: 'payments',
    pod: 'web-0',
    ...fieldsFor(s.type, i, s.hostile ?? false),
    ...s.extra,
  } as never);
}

/** Send events through the OTel exporter to Loki, grouped by host; resolves once all were exported. */
export async function sendEvents(lokiUrl: string, events: CasefileEvent[]): Promise<void> {
  const byHost = new Map<string, CasefileEvent[]>();
  // In time order, as a collector sends them: this Loki drops entries far behind a stream's newest.
  const sorted = [...events].sort((a, b) => (BigInt(a.timeNs) < BigInt(b.timeNs) ? -1 : 1));
  for (const e of sorted) {
    const host = e.host ?? 'unknown';
    if (!byHost.has(host)) byHost.set(host, []);
    byHost.get(host)!.push(e);
  }
  for (const [host, list] of byHost) {
    await seedEvents(lokiUrl, host, list, {
      serviceName: 'casefile-collector',
      flushEvery: PER_FLUSH,
      batchSize: 1024,
    });
  }
}

/** Poll Loki until `count_over_time` for the host sees `n` events (ingestion is asynchronous). */
export async function waitForCount(
  lokiUrl: string,
  host: string,
  n: number,
  fromMs: number,
  toMs: number,
  deadlineMs = 60_000
) {
  const until = Date.now() + deadlineMs;
  let got = -1;
  const rangeS = Math.ceil((toMs - fromMs) / 1000) + 1;
  const q = `sum by (host_name) (count_over_time(${streamSelector({ host })} [${rangeS}s]))`;
  while (Date.now() < until) {
    const u = `${lokiUrl}/loki/api/v1/query?query=${encodeURIComponent(q)}&time=${BigInt(toMs) * 1_000_000n}`;
    const body = (await (await fetch(u)).json()) as { data: { result: { value: [number, string] }[] } };
    got = Number(body.data.result[0]?.value[1] ?? 0);
    if (got >= n) return got;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`Loki has ${got} of ${n} events for ${host} after ${deadlineMs} ms`);
}
