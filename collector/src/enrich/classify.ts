/**
 * Host activity classification of exec events: package installs, user and
 * group changes, container and Kubernetes CLI commands, interactive shells.
 */
import type { CasefileEvent } from '@casefile/schema';

export type HostActivity =
  | 'package_install'
  | 'user_change'
  | 'group_change'
  | 'docker_command'
  | 'kubectl_command'
  | 'interactive_shell';

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
 */
export function classifyExec(executable: string, args: readonly string[]): HostActivity | null {
  const name = base(executable);
  const rest = args.slice(1);
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
  const pick = <K extends keyof CasefileEvent>(...ks: K[]) =>
    Object.fromEntries(ks.filter((k) => e[k] !== undefined).map((k) => [k, e[k]]));
  return {
    type: 'host.activity',
    timeNs: e.timeNs,
    activity,
    message: `${activity.replace('_', ' ')}: ${e.commandLine ?? e.executable}`,
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
