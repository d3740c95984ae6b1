/**
 * pid -> container through /proc/<pid>/cgroup. The container id is the
 * 64-hex id in the cgroup path; the runtime is told by the path's shape:
 *
 *   /docker/<id>, /system.slice/docker-<id>.scope            docker
 *   /kubepods/.../pod<uid>/<id>, cri-containerd-<id>.scope    containerd
 *   crio-<id>(.scope), /kubepods/.../crio-<id>                cri-o
 *   /libpod_parent/libpod-<id>, /machine.slice/libpod-<id>.scope   podman
 *
 * conmon's own cgroup (`libpod-conmon-<id>`) is the runtime's monitor, not
 * the container, and maps to nothing.
 */
import { readFileSync } from 'node:fs';

export interface CgroupContainer {
  containerId: string;
  runtime: 'docker' | 'containerd' | 'cri-o' | 'podman';
  /** Kubernetes pod uid when the path carries one (kubepods). */
  podUid?: string;
}

const PATTERNS: Array<{ re: RegExp; runtime: CgroupContainer['runtime'] }> = [
  { re: /(?:^|\/)libpod-(?!conmon-)([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, runtime: 'podman' },
  { re: /(?:^|\/)crio-(?!conmon-)([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, runtime: 'cri-o' },
  { re: /(?:^|\/)cri-containerd-([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, runtime: 'containerd' },
  { re: /(?:^|\/)docker-([0-9a-f]{64})\.scope(?:\/|$)/, runtime: 'docker' },
  { re: /^\/docker\/([0-9a-f]{64})(?:\/|$)/, runtime: 'docker' },
  // cgroupfs-driver kubelet: /kubepods/<qos>/pod<uid>/<id> (containerd; cri-o uses crio- above)
  { re: /\/kubepods[^]*\/pod[0-9a-f_-]+(?:\.slice)?\/([0-9a-f]{64})(?:\/|$)/, runtime: 'containerd' },
];

const POD_UID = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/;

/**
 * The container a /proc/<pid>/cgroup text belongs to, or null for a host process.
 * @example containerFromCgroup('0::/libpod_parent/libpod-<64 hex>\n') // => { containerId: '<64 hex>', runtime: 'podman' }
 */
export function containerFromCgroup(text: string): CgroupContainer | null {
  for (const line of text.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    if (!path || path === '/') continue;
    for (const { re, runtime } of PATTERNS) {
      const m = re.exec(path);
      if (!m) continue;
      const pod = POD_UID.exec(path);
      return { containerId: m[1], runtime, ...(pod ? { podUid: pod[1].replace(/_/g, '-') } : {}) };
    }
  }
  return null;
}

/** Read /proc/<pid>/cgroup: the container, null for a host process, undefined when the process is gone. */
export function containerOfPid(pid: number, procRoot = '/proc'): CgroupContainer | null | undefined {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined;
  }
  return containerFromCgroup(text);
}
