/**
 * The runtime audit catalogue. Ids R0001–R1012 follow Kubescape node-agent's
 * rules where one matches (so users can compare), CF* are Casefile's own.
 * Every audit a detector raises names one of these rules; the policy picks the
 * action per rule id or attack type.
 */
export type Severity = 'low' | 'medium' | 'high' | 'critical';

export interface RuleSpec {
  id: string;
  attackType: string;
  severity: Severity;
  /** MITRE ATT&CK technique id, where one fits. */
  mitre?: string;
  title: string;
  /** Whether the rule also applies to host (non-container) processes. */
  hosts: boolean;
}

const R = (
  id: string,
  attackType: string,
  severity: Severity,
  mitre: string | undefined,
  title: string,
  hosts: boolean
): RuleSpec => ({
  id,
  attackType,
  severity,
  mitre,
  title,
  hosts,
});

export const RULES = {
  // --- against the model -----------------------------------------------
  unexpectedProcess: R('R0001', 'unexpected_process', 'medium', 'T1059', 'Unexpected process launched', true),
  unexpectedOutbound: R(
    'R0011',
    'unexpected_outbound',
    'medium',
    'T1071',
    'Unexpected outbound connection',
    true
  ),
  unexpectedPort: R('CF001', 'unexpected_port', 'medium', 'T1571', 'Unexpected listening port', true),
  // --- sensitive reads and the Kubernetes API ---------------------------
  serviceAccountToken: R('R0006', 'sensitive_file_read', 'high', 'T1528', 'Service account token read', true),
  kubectl: R(
    'R0007',
    'kubernetes_client',
    'high',
    'T1609',
    'Kubernetes client executed in a container',
    false
  ),
  procEnviron: R(
    'R0008',
    'sensitive_file_read',
    'medium',
    'T1552.001',
    "Another process's environment read from procfs",
    false
  ),
  ebpfLoad: R('R0009', 'ebpf_load', 'high', 'T1014', 'eBPF program loaded from a container', false),
  sensitiveFile: R('R0010', 'sensitive_file_read', 'high', 'T1003.008', 'Sensitive file read', false),
  // --- drift -------------------------------------------------------------
  execFromTemp: R('R1000', 'drift', 'high', 'T1059', 'Executed from /tmp, /var/tmp or /dev/shm', true),
  driftBinary: R(
    'R1001',
    'drift',
    'high',
    'T1105',
    'Binary created or modified after container start, then executed',
    false
  ),
  execFromMount: R('R1004', 'drift', 'medium', 'T1610', 'Executed from a mounted volume', false),
  fileless: R(
    'R1005',
    'fileless_execution',
    'critical',
    'T1620',
    'Fileless execution (memfd or deleted binary)',
    true
  ),
  // --- known-bad -----------------------------------------------------------
  kernelModule: R(
    'R1002',
    'kernel_module',
    'critical',
    'T1547.006',
    'Kernel module load from a container',
    false
  ),
  sshConnection: R(
    'R1003',
    'lateral_movement',
    'high',
    'T1021.004',
    'SSH/remote-admin connection from a container',
    false
  ),
  unshare: R('R1006', 'container_escape', 'high', 'T1611', 'unshare() from a container', false),
  minerProcess: R('R1007', 'crypto_miner', 'critical', 'T1496', 'Crypto miner process', true),
  minerDomain: R('R1008', 'crypto_miner', 'critical', 'T1496', 'Connection to a mining pool domain', true),
  minerPort: R('R1009', 'crypto_miner', 'high', 'T1496', 'Connection to a mining-pool port', false),
  sensitiveLink: R(
    'R1010',
    'sensitive_file_read',
    'high',
    'T1222',
    'Link created over a sensitive file',
    true
  ),
  ldPreload: R('R1011', 'ld_preload', 'high', 'T1574.006', 'LD_PRELOAD hook', true),
  reverseShell: R('CF101', 'reverse_shell', 'critical', 'T1059.004', 'Reverse shell', true),
  scannerTool: R('CF102', 'port_scanner', 'high', 'T1046', 'Port scanner executed', true),
  scanBehaviour: R(
    'CF103',
    'port_scanner',
    'high',
    'T1046',
    'Connections to many ports in a short time',
    true
  ),
  lateralTool: R('CF104', 'lateral_movement', 'high', 'T1021', 'Lateral-movement tool executed', true),
  packageManager: R(
    'CF105',
    'package_manager',
    'medium',
    'T1105',
    'Package manager run in a running container',
    false
  ),
  ptrace: R('CF106', 'ptrace', 'high', 'T1055.008', 'ptrace of another process', true),
  setuidRoot: R('CF107', 'privilege_escalation', 'high', 'T1548', 'setuid(0) by a non-root process', false),
  cloudCredentials: R(
    'CF108',
    'credential_access',
    'high',
    'T1552.001',
    'Cloud credential file read in a container',
    false
  ),
  // --- escape to the host ----------------------------------------------------
  namespaceTool: R(
    'CF109',
    'container_escape',
    'high',
    'T1611',
    "Tool entering another process's namespaces run in a container",
    false
  ),
  mount: R('CF110', 'container_escape', 'high', 'T1611', 'mount() from a container', false),
  runtimeSocket: R(
    'CF111',
    'container_escape',
    'critical',
    'T1611',
    "Container runtime's API socket used from a container",
    false
  ),
  // --- covering tracks and staying -------------------------------------------
  logClearing: R('CF112', 'indicator_removal', 'high', 'T1070.002', 'Log file deleted or truncated', false),
  historyClearing: R(
    'CF113',
    'indicator_removal',
    'high',
    'T1070.003',
    'Shell history deleted or truncated',
    false
  ),
  persistence: R(
    'CF114',
    'persistence',
    'high',
    'T1053.003',
    'Persistence written in a container (cron, shell profile, SSH keys, init scripts)',
    false
  ),
  // --- policy ----------------------------------------------------------------
  deniedProcess: R('CF201', 'policy_denied', 'high', undefined, 'Process denied by policy', true),
  deniedPort: R('CF202', 'policy_denied', 'high', undefined, 'Listening port denied by policy', true),
  deniedDestination: R(
    'CF203',
    'policy_denied',
    'high',
    undefined,
    'Outbound destination denied by policy',
    true
  ),
} as const satisfies Record<string, RuleSpec>;

export type RuleKey = keyof typeof RULES;
export const RULE_LIST: readonly RuleSpec[] = Object.values(RULES);
