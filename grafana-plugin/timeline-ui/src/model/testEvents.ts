import { makeEvent, msToNs, type CasefileEvent, type EventType } from '@casefile/schema';

/** Valid events for component tests, built through the contract's makeEvent. */
export function ev(type: EventType, ms: number, extra: Record<string, unknown> = {}): CasefileEvent {
  const base = {
    'container.start': { containerId: 'c1' },
    'container.stop': { containerId: 'c1' },
    'process.start': { pid: 7, executable: '/bin/sh' },
    'process.exit': { pid: 7 },
    'port.listen': { listenPort: 8080 },
    'port.close': { listenPort: 8080 },
    'network.connect': { destAddress: '10.0.0.1', destPort: 443 },
    'host.login': { activity: 'ssh_login', loginUser: 'root' },
    'host.activity': { activity: 'sudo' },
    'model.learned': { modelId: 'm1', behaviorKind: 'process', behavior: '/bin/sh' },
    'model.state': { modelId: 'm1', modelState: 'learning' },
    'runtime.audit': { attackType: 'unexpected_process', severity: 'high', ruleId: 'r1', action: 'alert' },
    'runtime.action': { action: 'prevent', auditId: 'a1' },
    'snapshot.pinned': { snapshotId: 's1', loginUser: 'admin' },
  } as Partial<Record<EventType, Record<string, unknown>>>;
  return makeEvent({
    type,
    message: `${type} at ${ms}`,
    timeNs: msToNs(ms),
    ...(base[type] ?? {}),
    ...extra,
  } as never);
}

/** Many minimal events cheaply (no validation), for the 100k-event cases. */
export function manyEvents(
  n: number,
  typeOf: (i: number) => EventType,
  startMs = 1_700_000_000_000
): CasefileEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `e${i}`,
    type: typeOf(i),
    timeNs: msToNs(startMs + i),
    message: `${typeOf(i)} at ${startMs + i}`,
    containerName: `c${i % 5}`,
  }));
}
