/**
 * Known-bad indicators: pure lookups on what an exec, connect or syscall event
 * carries. No I/O here; the /proc checks live in proc-checks.ts.
 */
import type { RuleKey } from './rules';

const MINERS = new Set([
  'xmrig',
  'xmr-stak',
  'xmr-stak-cpu',
  'minerd',
  'cpuminer',
  'cpuminer-multi',
  'ccminer',
  'cgminer',
  'bfgminer',
  'ethminer',
  'nbminer',
  't-rex',
  'lolminer',
  'phoenixminer',
  'nanominer',
  'teamredminer',
  'gminer',
  'srbminer',
  'srbminer-multi',
  'xmrminer',
  'kdevtmpfsi',
  'kinsing',
  'moneroocean',
  'cryptonight',
  'nicehash',
  'randomx',
]);
/** Arguments only miners use: pool URLs, donation and algorithm flags. */
const MINER_ARGS =
  /stratum\d?\+(tcp|ssl|tls):\/\/|--donate-level|--randomx|--coin[= ]monero|-a\s+(cryptonight|rx\/0|randomx)|--cpu-max-threads-hint|nicehash\.com|\bxmr\b.*\bpool\b/i;
/** Mining pool domains (suffix match). */
const POOL_DOMAINS = [
  'minexmr.com',
  'supportxmr.com',
  'nanopool.org',
  'moneroocean.stream',
  'hashvault.pro',
  'f2pool.com',
  'ethermine.org',
  '2miners.com',
  'herominers.com',
  'c3pool.com',
  'xmrpool.eu',
  'nicehash.com',
  'minergate.com',
  'unmineable.com',
  'mining-pool',
];
/** Ports pools listen on (Kubescape R1009 uses 3333 and 45700; the rest are common stratum ports). */
const POOL_PORTS = new Set([3333, 3334, 3357, 5555, 7777, 8888, 9999, 14433, 14444, 45560, 45700]);
const SCANNERS = new Set([
  'nmap',
  'masscan',
  'zmap',
  'rustscan',
  'unicornscan',
  'naabu',
  'hping3',
  'nping',
  'zgrab',
  'zgrab2',
]);
const LATERAL = new Set([
  'sshpass',
  'psexec',
  'psexec.py',
  'wmiexec.py',
  'smbexec.py',
  'atexec.py',
  'crackmapexec',
  'netexec',
  'nxc',
  'evil-winrm',
  'smbclient',
  'xfreerdp',
  'rdesktop',
  'chisel',
  'ligolo',
  'proxychains',
  'proxychains4',
  'impacket-psexec',
  'hydra',
  'medusa',
]);
const REMOTE_ADMIN_PORTS = new Set([22, 23, 445, 3389, 5985, 5986]);
const PACKAGE_MANAGERS = new Set([
  'apt',
  'apt-get',
  'aptitude',
  'dpkg',
  'yum',
  'dnf',
  'microdnf',
  'rpm',
  'apk',
  'zypper',
  'pacman',
  'emerge',
  'pip',
  'pip3',
  'gem',
  'conda',
]);
const KUBE_CLIENTS = new Set(['kubectl', 'oc', 'helm', 'crictl', 'kubeadm']);
/** Tools that enter another process's namespaces: from a container, the host's. */
const NAMESPACE_TOOLS = new Set(['nsenter']);
const MODULE_LOADERS = new Set(['insmod', 'modprobe']);
export const SHELLS = new Set([
  'sh',
  'bash',
  'dash',
  'ash',
  'zsh',
  'ksh',
  'mksh',
  'fish',
  'tcsh',
  'csh',
  'busybox',
]);
const NETCATS = new Set(['nc', 'ncat', 'netcat']);
const NET_TOOLS = '(nc|ncat|netcat|nc\\.traditional|nc\\.openbsd|socat|telnet|openssl)';
/** Socket calls of scripting-language one-liners (python, php, ruby). */
const SCRIPT_SOCKETS = 'pty\\.spawn|socket\\.socket.*connect|fsockopen|TCPSocket\\.(new|open)';
/** Command lines of the classic reverse-shell one-liners. */
const REVERSE_SHELL_CMD = new RegExp(
  [
    '/dev/(tcp|udp)/',
    `\\b${NET_TOOLS}\\b[^|;&]*\\s(-e|-c|--exec|--sh-exec)\\s*\\S*(sh|bash)\\b`,
    '\\bsocat\\b.*\\bexec:',
    `\\b(sh|bash|dash|ash|zsh)\\s+-i\\b[^;]*\\|\\s*(\\S*/)?${NET_TOOLS}\\b`,
    `\\b${NET_TOOLS}\\b[^;]*\\|\\s*(\\S*/)?(sh|bash|dash|ash|zsh)\\b`,
    SCRIPT_SOCKETS,
  ].join('|')
);
/**
 * What every one-liner above contains: /dev/, a net tool's name or a socket
 * call. Most command lines have none, and this plain scan is about half the
 * cost of the full pattern.
 */
const REVERSE_SHELL_HINT = new RegExp(`/dev/|${NET_TOOLS}|${SCRIPT_SOCKETS}`);
const SENSITIVE_PREFIXES = [
  '/etc/shadow',
  '/etc/gshadow',
  '/etc/sudoers',
  '/root/.ssh/',
  '/etc/ssh/ssh_host_',
  '/etc/kubernetes/',
  '/etc/ssl/private/',
];
const SA_TOKEN = /^\/(var\/)?run\/secrets\/(kubernetes\.io|eks\.amazonaws\.com)\/serviceaccount\//;
const PROC_ENVIRON = /^\/proc\/(\d+|self|thread-self)\/(task\/\d+\/)?environ$/;
const HOME_SSH = /^\/home\/[^/]+\/\.ssh\//;

/** Basename of a path; `/usr/bin/xmrig` -> `xmrig`. */
export function baseName(p: string | undefined): string {
  if (!p) return '';
  const i = p.lastIndexOf('/');
  return (i < 0 ? p : p.slice(i + 1)).toLowerCase();
}

/** Kinds of tool an exec's name can be, as bits. */
const MINER = 1,
  SCANNER = 2,
  LATERAL_TOOL = 4,
  PACKAGE_MANAGER = 8,
  KUBE_CLIENT = 16,
  MODULE_LOADER = 32,
  NAMESPACE_TOOL = 64,
  NETCAT = 128;

/** Name -> the kinds of tool it is: one lookup per name instead of one per list (this runs for every exec). */
const TOOL_KINDS = new Map<string, number>();
for (const [set, bit] of [
  [MINERS, MINER],
  [SCANNERS, SCANNER],
  [LATERAL, LATERAL_TOOL],
  [PACKAGE_MANAGERS, PACKAGE_MANAGER],
  [KUBE_CLIENTS, KUBE_CLIENT],
  [MODULE_LOADERS, MODULE_LOADER],
  [NAMESPACE_TOOLS, NAMESPACE_TOOL],
  [NETCATS, NETCAT],
] as const)
  for (const n of set) TOOL_KINDS.set(n, (TOOL_KINDS.get(n) ?? 0) | bit);

/** The result when nothing fires (most events): shared, so a clean event allocates no list (not frozen: iterating a frozen array allocates an iterator). */
const NO_RULES: readonly RuleKey[] = [];
const LD_PRELOAD_ARG = /\bLD_PRELOAD=/;

/**
 * What an exec's names and arguments alone reveal. The names are the exe
 * basename, comm and argv[0] basename, '' when absent.
 */
export function execIndicators(
  exeName: string,
  comm: string,
  argv0Name: string,
  commandLine: string,
  inContainer: boolean
): readonly RuleKey[] {
  const kinds = toolKinds(exeName) | toolKinds(comm) | toolKinds(argv0Name);
  let out: RuleKey[] | undefined;
  if (kinds & MINER || MINER_ARGS.test(commandLine)) (out ??= []).push('minerProcess');
  if (kinds & SCANNER || (kinds & NETCAT && isNetcatScan(commandLine))) (out ??= []).push('scannerTool');
  if (kinds & LATERAL_TOOL) (out ??= []).push('lateralTool');
  if (REVERSE_SHELL_HINT.test(commandLine) && REVERSE_SHELL_CMD.test(commandLine))
    (out ??= []).push('reverseShell');
  if (commandLine.includes('LD_PRELOAD=') && LD_PRELOAD_ARG.test(commandLine)) (out ??= []).push('ldPreload');
  if (inContainer) {
    if (kinds & PACKAGE_MANAGER && !isPackageQuery(commandLine)) (out ??= []).push('packageManager');
    if (kinds & KUBE_CLIENT) (out ??= []).push('kubectl');
    if (kinds & MODULE_LOADER) (out ??= []).push('kernelModule');
    if (kinds & NAMESPACE_TOOL) (out ??= []).push('namespaceTool');
  }
  return out ?? NO_RULES;
}

/** The kinds of tool a name is (0 for none, and for ''). */
function toolKinds(name: string): number {
  return name ? (TOOL_KINDS.get(name) ?? 0) : 0;
}

/**
 * For a netcat exec: `nc -z host 1-1000` (a range, or several ports) is a scan; `nc -z host 8080`
 * is a health check. Scans done one port per process are caught by their
 * connections (CF103).
 */
function isNetcatScan(commandLine: string): boolean {
  if (!/\s-[a-y]*z[a-y]*\b/.test(commandLine)) return false;
  // Port-like words that are not the value of an option (-w 1, -p 80, -q 0...).
  const words = commandLine.split(/\s+/);
  const ports = words.filter(
    (w, i) => /^\d{1,5}(-\d{1,5})?$/.test(w) && !/^-[a-zA-Z]$/.test(words[i - 1] ?? '')
  );
  return ports.length > 1 || ports.some((p) => p.includes('-'));
}

/** Version and help queries of a package manager are harmless. */
function isPackageQuery(commandLine: string): boolean {
  return /\s(--version|-v|--help|-h|list|show|search|info|policy|-q[a-z]*|-l|-L|-s|-S|--list|--status|--get-selections)(\s|$)/.test(
    commandLine
  );
}

/** What an outbound connection reveals. */
export function connectIndicators(
  port: number,
  domain: string | undefined,
  inContainer: boolean
): readonly RuleKey[] {
  let out: RuleKey[] | undefined;
  const d = domain?.toLowerCase();
  if (d && POOL_DOMAINS.some((p) => d === p || d.endsWith('.' + p) || d.includes(p)))
    (out ??= []).push('minerDomain');
  if (inContainer && POOL_PORTS.has(port)) (out ??= []).push('minerPort');
  if (inContainer && REMOTE_ADMIN_PORTS.has(port)) (out ??= []).push('sshConnection');
  return out ?? NO_RULES;
}

const CLOUD_CREDENTIALS =
  /^\/(root|home\/[^/]+)\/(\.aws\/(credentials|config)$|\.azure\/|\.config\/gcloud\/)/;
const HISTORY = /\/\.(ash|bash|zsh|sh|python|mysql|psql|node_repl)_history$|\/\.(zhistory|lesshst)$/;
/** Generations a log rotation leaves (app.log.1, app.log.2.gz, app.log-20261201): deleting them is rotation. */
const ROTATED_LOG = /\.\d+(\.(gz|xz|bz2|zst))?$|\.(gz|xz|bz2|zst|old)$|-\d{8}(\.gz)?$/;
/** The runtime API sockets (Docker, containerd, CRI-O, Podman). */
const RUNTIME_SOCKET =
  /^\/(var\/)?run\/(docker\.sock|containerd\/containerd\.sock|crio\/crio\.sock|podman\/podman\.sock|docker\/docker\.sock)$/;
/** Files that make something run again later, with the ATT&CK technique each is. */
const PERSISTENCE: [RegExp, string][] = [
  [/^\/(etc\/crontab$|etc\/cron\.|etc\/crontabs\/|var\/spool\/cron\/)/, 'T1053.003'],
  [
    /^\/(etc\/profile$|etc\/profile\.d\/|etc\/bash\.bashrc$|root\/\.(profile|bashrc|bash_profile|zshrc)$)/,
    'T1546.004',
  ],
  [/^\/root\/\.ssh\/authorized_keys2?$/, 'T1098.004'],
  [/^\/etc\/(init\.d\/|rc\.local$|rc\.d\/)/, 'T1037.004'],
];

const OPEN_WRITES = /O_WRONLY|O_RDWR|O_CREAT/;

/** What a process did to a file: opened it to read or to write, truncated it, deleted it, or connected to it (a unix socket). */
export type FileOp = 'read' | 'write' | 'truncate' | 'unlink' | 'connect';

/**
 * The file operation a process.syscall event is (its `syscall` and decoded `syscallArg`), or undefined.
 * @example fileOpOf('openat', 'O_WRONLY|O_CREAT|O_TRUNC') // => 'truncate'
 */
export function fileOpOf(syscall: string | undefined, arg: string | undefined): FileOp | undefined {
  switch (syscall) {
    case 'openat':
      if (!OPEN_WRITES.test(arg ?? '')) return 'read';
      return (arg ?? '').includes('O_TRUNC') ? 'truncate' : 'write';
    case 'unlink':
      return 'unlink';
    case 'truncate':
      return 'truncate';
    case 'connect':
      return 'connect';
    default:
      return undefined;
  }
}

/** The rule (and a technique more precise than the rule's) a file operation falls under. */
export interface FileFinding {
  rule: RuleKey;
  mitre?: string;
}

/**
 * Which rule an operation `op` on `path` by process `pid` falls under, if any.
 *
 * @example fileRule('/etc/shadow', 7, 'read') // => { rule: 'sensitiveFile' }
 * @example fileRule('/etc/crontabs/root', 7, 'write') // => { rule: 'persistence', mitre: 'T1053.003' }
 * @example fileRule('/var/log/app.log.3', 7, 'unlink') // => undefined (rotation)
 */
export function fileRule(path: string, pid: number, op: FileOp): FileFinding | undefined {
  if (RUNTIME_SOCKET.test(path)) return { rule: 'runtimeSocket' };
  if (op === 'connect') return undefined;
  const writes = op !== 'read';
  if (op === 'unlink' || op === 'truncate') {
    if (HISTORY.test(path)) return { rule: 'historyClearing' };
    if (path.startsWith('/var/log/') && !ROTATED_LOG.test(path)) return { rule: 'logClearing' };
    if (op === 'unlink') return undefined;
  }
  if (SA_TOKEN.test(path)) return { rule: 'serviceAccountToken' };
  const env = PROC_ENVIRON.exec(path);
  if (env)
    return env[1] === 'self' || env[1] === 'thread-self' || Number(env[1]) === pid
      ? undefined
      : { rule: 'procEnviron' };
  if (path === '/etc/ld.so.preload') return writes ? { rule: 'ldPreload' } : undefined;
  if (writes) {
    const p = PERSISTENCE.find(([re]) => re.test(path));
    if (p) return { rule: 'persistence', mitre: p[1] };
  }
  if (CLOUD_CREDENTIALS.test(path)) return { rule: 'cloudCredentials' };
  if (SENSITIVE_PREFIXES.some((p) => path.startsWith(p)) || HOME_SSH.test(path))
    return { rule: 'sensitiveFile' };
  return undefined;
}

/** Sensitive targets of symlinkat/linkat (R1010/R1012). */
export function isSensitivePath(path: string): boolean {
  return SENSITIVE_PREFIXES.some((p) => path.startsWith(p)) || SA_TOKEN.test(path) || path === '/etc/passwd';
}

// Patterns checked per event are module constants: a regex literal inside a function is a new RegExp object at each call.
const TEMP_PATH = /^\/(tmp|var\/tmp|dev\/shm|run\/shm)\//;
const FD_PATH = /^\/(proc\/(self|\d+)\/fd|dev\/fd)\/\d+$/;

/** Executables in temp directories (R1000). */
export function isTempPath(exe: string): boolean {
  return TEMP_PATH.test(exe);
}

/** Fileless: an exec of a memfd, or of a /proc/self/fd or /dev/fd descriptor. */
export function isFilelessPath(exe: string): boolean {
  return exe.startsWith('/memfd:') || FD_PATH.test(exe);
}
