import type { FieldName } from './fields';

/**
 * The forensic vocabulary. Values are the wire form (`casefile.event.type`).
 * Add a type here, give it a title, colour and fields, and every consumer
 * (grid, timeline, CSV, docs) picks it up.
 */
export const EVENT_TYPES = {
  'container.start': {
    title: 'Container started',
    color: '#3274D9',
    required: ['containerId'],
    fields: ['containerName', 'imageName', 'imageDigest', 'labels', 'pid'],
  },
  'container.stop': {
    title: 'Container stopped',
    color: '#1F60C4',
    required: ['containerId'],
    fields: ['containerName', 'imageName', 'imageDigest', 'exitCode', 'reason'],
  },
  'process.start': {
    title: 'Process started',
    color: '#56A64B',
    required: ['pid', 'executable'],
    fields: [
      'ppid',
      'processKey',
      'parentProcessKey',
      'processName',
      'commandLine',
      'args',
      'cwd',
      'uid',
      'user',
      'parentExecutable',
      'parentCommandLine',
      'processEntry',
      'processAncestry',
      'source',
    ],
  },
  'container.exec': {
    title: "Process exec'd into a container",
    color: '#5AA9E6',
    required: ['containerId', 'pid', 'executable'],
    fields: [
      'processKey',
      'commandLine',
      'args',
      'uid',
      'user',
      'parentProcessKey',
      'parentExecutable',
      'parentCommandLine',
      'operatorProcessKey',
      'operatorCommandLine',
      'source',
    ],
  },
  'process.exit': {
    title: 'Process exited',
    color: '#37872D',
    required: ['pid'],
    fields: ['processKey', 'processName', 'executable', 'exitCode', 'source'],
  },
  'port.listen': {
    title: 'Listening port opened',
    color: '#FF9830',
    required: ['listenPort'],
    fields: [
      'listenAddress',
      'transport',
      'networkType',
      'pid',
      'processKey',
      'executable',
      'processName',
      'processAncestry',
      'source',
    ],
  },
  'port.close': {
    title: 'Listening port closed',
    color: '#C4162A',
    required: ['listenPort'],
    fields: [
      'listenAddress',
      'transport',
      'networkType',
      'pid',
      'processKey',
      'executable',
      'processName',
      'source',
    ],
  },
  'network.connect': {
    title: 'Outbound connection',
    color: '#8F3BB8',
    required: ['destAddress', 'destPort'],
    fields: [
      'destDomain',
      'transport',
      'networkType',
      'pid',
      'processKey',
      'executable',
      'processName',
      'processAncestry',
      'source',
    ],
  },
  'process.syscall': {
    title: 'Security-relevant syscall',
    color: '#B877D9',
    required: ['pid', 'syscall'],
    fields: [
      'ppid',
      'processKey',
      'executable',
      'processName',
      'uid',
      'filePath',
      'targetPid',
      'syscallArg',
      'processAncestry',
      'source',
    ],
  },
  'host.login': {
    title: 'Host login',
    color: '#FADE2A',
    required: ['activity', 'loginUser'],
    fields: [
      'sourceAddress',
      'sourcePort',
      'authMethod',
      'authKey',
      'userExists',
      'sessionId',
      'reason',
      'pid',
      'source',
    ],
  },
  'host.activity': {
    title: 'Host activity',
    color: '#F2CC0C',
    required: ['activity'],
    fields: [
      'loginUser',
      'targetUser',
      'outcome',
      'reason',
      'tty',
      'pamService',
      'sourceAddress',
      'pid',
      'processKey',
      'executable',
      'commandLine',
      'uid',
      'user',
      'cwd',
      'source',
    ],
  },
  'model.learned': {
    title: 'Runtime model learned',
    color: '#73BF69',
    required: ['modelId', 'behaviorKind', 'behavior'],
    fields: ['modelState', 'pid', 'processKey', 'executable', 'parentExecutable', 'processEntry'],
  },
  'model.state': {
    title: 'Runtime model state',
    color: '#96D98D',
    required: ['modelId', 'modelState'],
    fields: ['model', 'reason'],
  },
  'runtime.audit': {
    title: 'Runtime audit',
    color: '#E02F44',
    required: ['attackType', 'severity', 'ruleId', 'action'],
    fields: [
      'mitreTechnique',
      'modelId',
      'suppressed',
      'pid',
      'ppid',
      'processKey',
      'executable',
      'commandLine',
      'parentProcessKey',
      'parentExecutable',
      'processEntry',
      'processAncestry',
      'uid',
      'user',
      'listenPort',
      'destAddress',
      'destPort',
      'destDomain',
      'filePath',
      'syscall',
    ],
  },
  'runtime.action': {
    title: 'Runtime action taken',
    color: '#AD0317',
    required: ['action', 'auditId'],
    fields: ['ruleId', 'pid', 'processKey', 'executable', 'reason'],
  },
  'snapshot.pinned': {
    title: 'Snapshot pinned',
    color: '#5794F2',
    required: ['snapshotId', 'loginUser'],
    fields: ['snapshotTitle', 'eventCount'],
  },
  'snapshot.custody': {
    title: 'Snapshot custody',
    color: '#8AB8FF',
    required: ['snapshotId', 'custodyAction', 'custodySeq', 'custodyHash', 'tokenName'],
    fields: ['snapshotTitle', 'eventCount', 'contentSha256', 'loginUser'],
  },
} as const satisfies Record<
  string,
  { title: string; color: string; required: readonly FieldName[]; fields: readonly FieldName[] }
>;

export type EventType = keyof typeof EVENT_TYPES;
export const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as EventType[];

export function isEventType(s: string): s is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_TYPES, s);
}

/** OTel severity per type: audits and actions are warnings, the rest info. */
export function severityOf(type: EventType): { number: number; text: string } {
  return type === 'runtime.audit' || type === 'runtime.action'
    ? { number: 13, text: 'WARN' }
    : { number: 9, text: 'INFO' };
}
