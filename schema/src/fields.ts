/**
 * Every field an event can carry, with its OpenTelemetry attribute name.
 *
 * This table is the single source of truth for names: the collector maps events
 * to OTLP log attributes with it, the decoder maps Loki's structured metadata
 * back with it, the CSV writer takes its columns from it, and docs/events.md is
 * generated from it. Attribute names follow the OpenTelemetry semantic
 * conventions where one exists; Casefile's own live under `casefile.*`.
 *
 * Loki turns an attribute name into a label name by replacing every character
 * that is not [a-zA-Z0-9_] with `_` (`process.pid` -> `process_pid`).
 */

/** How a field's value is typed in TypeScript and encoded in OTLP. */
export type FieldKind = 'string' | 'int' | 'bool' | 'string[]';

export interface FieldSpec {
  /** OpenTelemetry attribute name. */
  attr: string;
  kind: FieldKind;
  doc: string;
  /** Part of the event's scope (who/where) rather than what happened. */
  scope?: boolean;
  /**
   * Sent as an OTel resource attribute (of the producing collector) instead of
   * a log attribute; Loki indexes it as a stream label.
   */
  resource?: boolean;
}

export const FIELDS = {
  // --- scope: where the event happened -----------------------------------
  host: { attr: 'host.name', kind: 'string', scope: true, resource: true, doc: 'Host (node) name.' },
  hostId: {
    attr: 'host.id',
    kind: 'string',
    scope: true,
    resource: true,
    doc: 'Stable host id (machine-id).',
  },
  containerId: { attr: 'container.id', kind: 'string', scope: true, doc: 'Full container id.' },
  containerName: { attr: 'container.name', kind: 'string', scope: true, doc: 'Container name.' },
  containerRuntime: {
    attr: 'container.runtime',
    kind: 'string',
    scope: true,
    doc: 'Container runtime (docker, podman, containerd, cri-o).',
  },
  imageName: { attr: 'container.image.name', kind: 'string', scope: true, doc: 'Image name with tag.' },
  imageDigest: {
    attr: 'container.image.id',
    kind: 'string',
    scope: true,
    doc: 'Image id or repo digest (sha256:...).',
  },
  namespace: { attr: 'k8s.namespace.name', kind: 'string', scope: true, doc: 'Kubernetes namespace.' },
  pod: { attr: 'k8s.pod.name', kind: 'string', scope: true, doc: 'Kubernetes pod name.' },
  podUid: { attr: 'k8s.pod.uid', kind: 'string', scope: true, doc: 'Kubernetes pod uid.' },

  // --- process ----------------------------------------------------------
  pid: { attr: 'process.pid', kind: 'int', doc: 'Process id (host pid namespace).' },
  ppid: { attr: 'process.parent_pid', kind: 'int', doc: 'Parent process id.' },
  processKey: {
    attr: 'casefile.process.key',
    kind: 'string',
    doc: 'Stable process identity that survives pid reuse: `<boot id>:<pid>:<start time ticks>`.',
  },
  parentProcessKey: {
    attr: 'casefile.process.parent_key',
    kind: 'string',
    doc: "The parent's `casefile.process.key`, to rebuild the process tree.",
  },
  executable: { attr: 'process.executable.path', kind: 'string', doc: 'Absolute path of the executable.' },
  processName: { attr: 'process.executable.name', kind: 'string', doc: 'Executable name (comm).' },
  commandLine: {
    attr: 'process.command_line',
    kind: 'string',
    doc: 'Full command line, arguments joined by spaces, secrets redacted.',
  },
  args: {
    attr: 'process.command_args',
    kind: 'string[]',
    doc: 'Arguments including argv[0], secrets redacted. Sent as a JSON array string (Loki flattens arrays).',
  },
  cwd: { attr: 'process.working_directory', kind: 'string', doc: 'Working directory.' },
  uid: { attr: 'process.user.id', kind: 'int', doc: 'Real user id.' },
  user: { attr: 'process.user.name', kind: 'string', doc: 'User name resolved from /etc/passwd.' },
  exitCode: { attr: 'process.exit.code', kind: 'int', doc: 'Exit code.' },
  parentExecutable: {
    attr: 'casefile.process.parent_executable',
    kind: 'string',
    doc: "The parent's executable path.",
  },
  parentCommandLine: {
    attr: 'casefile.process.parent_command_line',
    kind: 'string',
    doc: "The parent's command line as it was when this process started (from the parent's own exec), secrets redacted.",
  },
  processEntry: {
    attr: 'casefile.process.entry',
    kind: 'string',
    doc: "How a process entered its container: `container_init` (the container's first process, started by the runtime's create/run) or `runtime_exec` (started through the runtime's exec: podman/docker/kubectl/crictl exec). Absent on processes started inside the container.",
  },
  processAncestry: {
    attr: 'casefile.process.ancestry',
    kind: 'string[]',
    doc: "`casefile.process.key`s of the process's ancestors, nearest first, up to the container's entry process (its init, or what the runtime exec'd); for host processes up to the oldest one known (at most 16). Taken from each parent's fork and exec as the kernel reported them. Sent as a JSON array string.",
  },
  operatorProcessKey: {
    attr: 'casefile.operator.process.key',
    kind: 'string',
    doc: "`container.exec`: the process that asked the runtime for the exec (`podman exec`, the CRI shim's caller), the first ancestor of the runtime's process that is not the runtime.",
  },
  operatorCommandLine: {
    attr: 'casefile.operator.command_line',
    kind: 'string',
    doc: '`container.exec`: command line of that process, secrets redacted.',
  },

  // --- network ----------------------------------------------------------
  transport: { attr: 'network.transport', kind: 'string', doc: 'tcp or udp.' },
  networkType: { attr: 'network.type', kind: 'string', doc: 'ipv4 or ipv6.' },
  listenAddress: { attr: 'server.address', kind: 'string', doc: 'Local address a listener is bound to.' },
  listenPort: { attr: 'server.port', kind: 'int', doc: 'Local port a listener is bound to.' },
  destAddress: { attr: 'destination.address', kind: 'string', doc: 'Destination of an outbound connection.' },
  destPort: { attr: 'destination.port', kind: 'int', doc: 'Destination port of an outbound connection.' },
  destDomain: {
    attr: 'casefile.destination.domain',
    kind: 'string',
    doc: 'Domain the destination address was resolved from, when DNS was seen.',
  },
  sourceAddress: { attr: 'source.address', kind: 'string', doc: 'Client address (logins).' },
  sourcePort: { attr: 'source.port', kind: 'int', doc: 'Client port (logins).' },

  // --- security-relevant syscalls (runtime audits) --------------------
  syscall: {
    attr: 'casefile.syscall.name',
    kind: 'string',
    doc: 'Syscall seen: openat, memfd_create, ptrace, unshare, setuid, bpf, symlinkat, linkat, unlink (unlink/unlinkat), truncate, mount, connect (to a unix socket).',
  },
  filePath: {
    attr: 'file.path',
    kind: 'string',
    doc: 'File a syscall touched (opened, linked), or a memfd name.',
  },
  targetPid: {
    attr: 'casefile.syscall.target_pid',
    kind: 'int',
    doc: 'Process a syscall acted on (ptrace).',
  },
  syscallArg: {
    attr: 'casefile.syscall.arg',
    kind: 'string',
    doc: 'The syscall argument that matters, decoded: open flags, ptrace request, unshare flags, uid, bpf command.',
  },

  // --- host activity ----------------------------------------------------
  activity: {
    attr: 'casefile.host.activity',
    kind: 'string',
    doc: 'Kind of host activity: ssh_login, ssh_failed, ssh_logout, sudo, su, doas, pkexec, runuser, auth_failure, session_open, session_close, package_install, user_change, group_change, docker_command, kubectl_command, interactive_shell.',
  },
  loginUser: {
    attr: 'user.name',
    kind: 'string',
    doc: 'User that logged in (or tried to), ran sudo or su, or pinned a snapshot.',
  },
  targetUser: {
    attr: 'casefile.target_user',
    kind: 'string',
    doc: 'User sudo, su, doas, pkexec or runuser ran as, or whose credentials a PAM authentication tried.',
  },
  authMethod: { attr: 'casefile.auth.method', kind: 'string', doc: 'SSH auth method (publickey, password).' },
  authKey: {
    attr: 'casefile.auth.key',
    kind: 'string',
    doc: 'Key an SSH login was accepted with: type and fingerprint (`ED25519 SHA256:...`).',
  },
  userExists: {
    attr: 'casefile.user.exists',
    kind: 'bool',
    doc: 'Whether the login user exists on the host (false: sshd said `invalid user`).',
  },
  sessionId: {
    attr: 'session.id',
    kind: 'string',
    doc: "Login session: sshd's pid for the connection (it logs the login, its PAM session and its end), so a login and its logout share it.",
  },
  tty: { attr: 'casefile.tty', kind: 'string', doc: 'Terminal of a sudo, su or PAM authentication (pts/0).' },
  outcome: {
    attr: 'casefile.outcome',
    kind: 'string',
    doc: 'granted or denied (sudo, su); `casefile.reason` says why a denial happened.',
  },
  pamService: {
    attr: 'casefile.pam.service',
    kind: 'string',
    doc: 'PAM service of an authentication failure or session (sshd, sudo, su-l, cron, runuser).',
  },

  // --- container lifecycle ----------------------------------------------
  labels: {
    attr: 'container.labels',
    kind: 'string',
    doc: 'Container labels as a JSON object string.',
  },
  reason: {
    attr: 'casefile.reason',
    kind: 'string',
    doc: 'Why: container stop/die reason, signal, model change, sudo/su/login denial.',
  },

  // --- runtime models ---------------------------------------------------
  modelId: {
    attr: 'casefile.model.id',
    kind: 'string',
    doc: 'Runtime model id (image digest, name or host).',
  },
  modelState: { attr: 'casefile.model.state', kind: 'string', doc: 'learning or active.' },
  behaviorKind: {
    attr: 'casefile.model.behavior.kind',
    kind: 'string',
    doc: 'What was learned: process, listen or connect.',
  },
  behavior: {
    attr: 'casefile.model.behavior.value',
    kind: 'string',
    doc: 'The learned behaviour (an executable, a port, a destination).',
  },
  model: {
    attr: 'casefile.model.document',
    kind: 'string',
    doc: 'The whole model as a JSON string (model.state events).',
  },

  // --- runtime audits ---------------------------------------------------
  attackType: {
    attr: 'casefile.audit.attack_type',
    kind: 'string',
    doc: 'Attack type, e.g. unexpected_process, drift, crypto_miner, reverse_shell.',
  },
  severity: { attr: 'casefile.audit.severity', kind: 'string', doc: 'low, medium, high or critical.' },
  ruleId: { attr: 'casefile.audit.rule_id', kind: 'string', doc: 'Id of the rule that fired.' },
  action: { attr: 'casefile.audit.action', kind: 'string', doc: 'Action taken: alert, prevent or block.' },
  mitreTechnique: {
    attr: 'casefile.audit.mitre_technique',
    kind: 'string',
    doc: 'MITRE ATT&CK technique id, e.g. T1059.',
  },
  suppressed: {
    attr: 'casefile.audit.suppressed',
    kind: 'int',
    doc: 'Audits of the same kind suppressed by rate limiting since the last one emitted.',
  },
  auditId: { attr: 'casefile.audit.id', kind: 'string', doc: 'Event id of the audit an action answers.' },

  // --- snapshots --------------------------------------------------------
  snapshotId: { attr: 'casefile.snapshot.id', kind: 'string', doc: 'Snapshot id.' },
  snapshotTitle: { attr: 'casefile.snapshot.title', kind: 'string', doc: 'Snapshot title.' },
  eventCount: { attr: 'casefile.snapshot.event_count', kind: 'int', doc: 'Events pinned in the snapshot.' },
  contentSha256: {
    attr: 'casefile.snapshot.content_sha256',
    kind: 'string',
    doc: "SHA-256 of the snapshot's events in canonical form (RFC 8785 JSON lines in (time, id) order).",
  },
  custodyAction: {
    attr: 'casefile.custody.action',
    kind: 'string',
    doc: 'Custody action on a snapshot: pin, auto-pin, export, lock, unlock, delete, evict.',
  },
  custodySeq: { attr: 'casefile.custody.seq', kind: 'int', doc: "The entry's position in the custody log." },
  custodyHash: {
    attr: 'casefile.custody.hash',
    kind: 'string',
    doc: 'SHA-256 of the custody entry (its chain link); the entry itself is at GET /api/v1/snapshots/{id}/custody.',
  },
  tokenName: { attr: 'casefile.token.name', kind: 'string', doc: 'Name of the API token that acted.' },

  // --- data quality -----------------------------------------------------
  source: {
    attr: 'casefile.source',
    kind: 'string',
    doc: 'Collector source that saw it: ebpf, procfs, runtime, authlog.',
  },
  truncated: {
    attr: 'casefile.truncated',
    kind: 'string',
    doc: 'Fields cut to the size limit, as `field:original_bytes` joined by commas.',
  },
  rawBase64: {
    attr: 'casefile.raw',
    kind: 'string',
    doc: 'Fields whose bytes were not valid UTF-8, as a JSON object {field: base64 of the original bytes}.',
  },
} as const satisfies Record<string, FieldSpec>;

export type FieldName = keyof typeof FIELDS;

type KindType<K extends FieldKind> = K extends 'int'
  ? number
  : K extends 'bool'
    ? boolean
    : K extends 'string[]'
      ? string[]
      : string;

/** The optional, typed fields of an event, derived from {@link FIELDS}. */
export type EventFields = {
  -readonly [F in FieldName]?: KindType<(typeof FIELDS)[F]['kind']>;
};

export const FIELD_NAMES = Object.keys(FIELDS) as FieldName[];

const SPECS = new Map<string, FieldSpec>(Object.entries(FIELDS));

/** The spec of a field name, or undefined for any other key (id, type, unknown keys). */
export function fieldSpec(key: string): FieldSpec | undefined {
  return SPECS.get(key);
}
export const SCOPE_FIELDS = FIELD_NAMES.filter((f) => (FIELDS[f] as FieldSpec).scope);

/** Loki's label name for an OTLP attribute: `process.pid` -> `process_pid`. */
export function lokiName(attr: string): string {
  return attr.replace(/[^a-zA-Z0-9_]/g, '_');
}
