/**
 * Host activity classification of exec events: privilege changes (sudo, su,
 * doas, pkexec, runuser, with the user they run as), package installs, user
 * and group changes, container and Kubernetes CLI commands, interactive shells.
 */
import type { CasefileEvent } from '@casefile/schema';

export type HostActivity =
  | PrivilegeTool
  | 'package_install'
  | 'user_change'
  | 'group_change'
  | 'docker_command'
  | 'kubectl_command'
  | 'interactive_shell';

/** Programs that run a command as another user; the activity is the program's name. */
type PrivilegeTool = 'sudo' | 'su' | 'doas' | 'pkexec' | 'runuser';
const PRIVILEGE_TOOLS = new Set<string>(['sudo', 'su', 'doas', 'pkexec', 'runuser']);

/** Options of each privilege tool that take a value (so the value is not mistaken for the user or command). */
const VALUE_OPTIONS: Record<PrivilegeTool, Set<string>> = {
  sudo: new Set(['-u', '--user', '-g', '--group', '-C', '--close-from', '-D', '--chdir', '-h', '--host']),
  su: new Set(['-c', '--command', '-g', '--group', '-G', '--supp-group', '-s', '--shell', '-w']),
  doas: new Set(['-u', '-C']),
  pkexec: new Set(['--user']),
  runuser: new Set([
    '-u',
    '--user',
    '-c',
    '--command',
    '-g',
    '--group',
    '-G',
    '--supp-group',
    '-s',
    '--shell',
    '-w',
  ]),
};

/**
 * The user a privilege tool runs as, from its arguments: `-u USER`/`--user=USER`
 * (sudo, doas, pkexec, runuser), else su's and runuser's first operand, else root.
 * @example targetUserOf('sudo', ['sudo', '-u', 'www-data', 'id']) // => 'www-data'
 * @example targetUserOf('su', ['su', '-', 'alice']) // => 'alice'
 */
export function targetUserOf(tool: PrivilegeTool, args: readonly string[]): string {
  const rest = args.slice(1);
  const values = VALUE_OPTIONS[tool];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--') {
      if (tool === 'su' || tool === 'runuser') return rest[i + 1] ?? 'root';
      break;
    }
    const eq = /^(--user|-u)=(.+)$/.exec(a) ?? (tool !== 'pkexec' ? /^(-u)(.+)$/.exec(a) : null);
    if (eq) return eq[2];
    if (a === '-u' || a === '--user') return rest[i + 1] ?? 'root';
    if (values.has(a)) {
      i++;
      continue;
    }
    if (a === '-' || a.startsWith('-')) continue;
    // the first operand: su/runuser's user; for sudo/doas/pkexec the command starts here
    return tool === 'su' || tool === 'runuser' ? a : 'root';
  }
  return 'root';
}

const PACKAGE_MANAGERS = new Set([
  'apt',
  'apt-get',
  'aptitude',
  'dpkg',
  'yum',
  'dnf',
  'rpm',
  'microdnf',
  'zypper',
  'apk',
  'pacman',
  'pip',
  'pip3',
  'npm',
  'yarn',
  'pnpm',
  'gem',
  'snap',
]);
const PACKAGE_VERBS = new Set([
  'install',
  'add',
  'i',
  'upgrade',
  'update',
  'remove',
  'purge',
  'reinstall',
  'localinstall',
  '-i',
  '--install',
  '-U',
  '-S',
  '-Syu',
  '-r',
  '--remove',
  '-P',
  '--purge',
]);
const USER_TOOLS = new Set([
  'useradd',
  'usermod',
  'userdel',
  'adduser',
  'deluser',
  'passwd',
  'chpasswd',
  'chage',
  'newusers',
]);
const GROUP_TOOLS = new Set([
  'groupadd',
  'groupmod',
  'groupdel',
  'addgroup',
  'delgroup',
  'gpasswd',
  'newgrp',
]);
const CONTAINER_CLIS = new Set(['docker', 'podman', 'nerdctl', 'crictl', 'ctr', 'buildah']);
const KUBE_CLIS = new Set(['kubectl', 'oc', 'helm', 'k9s']);
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ash', 'fish', 'ksh', 'mksh', 'tcsh', 'csh']);

function base(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/**
 * The host activity an exec is, or null.
 * @example classifyExec('/usr/bin/apt-get', ['apt-get', 'install', '-y', 'curl']) // => 'package_install'
 * @example classifyExec('/bin/bash', ['-bash']) // => 'interactive_shell'
 * @example classifyExec('/usr/bin/sudo', ['sudo', 'id']) // => 'sudo'
 */
export function classifyExec(executable: string, args: readonly string[]): HostActivity | null {
  const name = base(executable);
  const rest = args.slice(1);
  if (PRIVILEGE_TOOLS.has(name)) return name as PrivilegeTool;
  if (PACKAGE_MANAGERS.has(name)) return rest.some((a) => PACKAGE_VERBS.has(a)) ? 'package_install' : null;
  if (/^python[\d.]*$/.test(name) && rest[0] === '-m' && /^pip\d?$/.test(rest[1] ?? '')) {
    return rest.slice(2).some((a) => PACKAGE_VERBS.has(a)) ? 'package_install' : null;
  }
  if (USER_TOOLS.has(name)) return 'user_change';
  if (GROUP_TOOLS.has(name)) return 'group_change';
  if (CONTAINER_CLIS.has(name)) return 'docker_command';
  if (KUBE_CLIS.has(name)) return 'kubectl_command';
  if (SHELLS.has(name) || SHELLS.has(base(args[0] ?? '').replace(/^-/, ''))) {
    if (rest.includes('-c')) return null;
    const login = (args[0] ?? '').startsWith('-');
    const scriptless = rest.every((a) => a.startsWith('-'));
    if (login || rest.includes('-i') || scriptless) return 'interactive_shell';
  }
  return null;
}

/** A host.activity event (fields without id/time) for a classified process.start, or null. */
export function hostActivityFor(e: CasefileEvent): Omit<CasefileEvent, 'id'> | null {
  if (e.type !== 'process.start' || e.containerId || !e.executable) return null;
  const activity = classifyExec(e.executable, e.args ?? [e.executable]);
  if (!activity) return null;
  const targetUser = PRIVILEGE_TOOLS.has(activity)
    ? targetUserOf(activity as PrivilegeTool, e.args ?? [e.executable])
    : undefined;
  const pick = <K extends keyof CasefileEvent>(...ks: K[]) =>
    Object.fromEntries(ks.filter((k) => e[k] !== undefined).map((k) => [k, e[k]]));
  return {
    type: 'host.activity',
    timeNs: e.timeNs,
    activity,
    message: `${activity.replace('_', ' ')}: ${e.commandLine ?? e.executable}`,
    ...(targetUser ? { targetUser } : {}),
    ...pick(
      'host',
      'hostId',
      'pid',
      'processKey',
      'executable',
      'commandLine',
      'uid',
      'user',
      'cwd',
      'source'
    ),
  } as Omit<CasefileEvent, 'id'>;
}
