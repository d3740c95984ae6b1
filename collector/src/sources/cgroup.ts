/**
 * pid -> container through /proc/<pid>/cgroup. The container id is the
 * 64-hex id in the cgroup path; the runtime is told by the path's shape:
 *
 *   /docker/<id>, /system.slice/docker-<id>.scope            docker
 *   /kubepods/.../pod<uid>/<id>, cri-containerd-<id>.scope    containerd
 *   /k8s.io/<id> (CRI pod without a cgroup parent)            containerd
 *   crio-<id>(.scope), /kubepods/.../crio-<id>                cri-o
 *   /libpod_parent/libpod-<id>, /machine.slice/libpod-<id>.scope   podman
 *
 * kubelet's systemd driver names slices kubepods-<qos>-pod<uid with _>.slice
 * and the runtime names the scope; its cgroupfs driver makes
 * /kubepods[/<qos>]/pod<uid>/ and containerd puts the bare id under it. Both
 * drivers give the same paths under cgroup v1 (every controller line) and v2
 * (the `0::` line); paths relative to a cgroup namespace (`/../..`) match too.
 * conmon's own cgroup (`libpod-conmon-<id>`, `crio-conmon-<id>`) is the
 * runtime's monitor, not the container, and maps to nothing.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { LRUCache } from 'lru-cache';

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
  // containerd's default cgroup for a CRI container whose pod has no cgroup parent: /<namespace>/<id>
  { re: /(?:^|\/)k8s\.io\/([0-9a-f]{64})(?:\/|$)/, runtime: 'containerd' },
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
  // existsSync first: a failed read throws, and throwing is slow at tens of thousands of events a second.
  if (!existsSync(`${procRoot}/${pid}`)) return undefined;
  try {
    text = readFileSync(`${procRoot}/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined;
  }
  return containerFromCgroup(text);
}

/**
 * cgroup v2 id (what eBPF's `cgroup` builtin returns: the inode of the
 * cgroup's directory) -> container. eBPF records carry the id, so a process
 * that exited before its event was handled still maps to its container.
 * An unknown id triggers a rescan of the cgroup2 tree (a new container's
 * first event finds its cgroup), once per id per `retryMs` (default 1 s).
 */
export class CgroupIndex {
  private readonly byId = new LRUCache<number, { c: CgroupContainer | null }>({ max: 65536 });
  /** Ids a scan did not find: not scanned for again until `retryMs` passed. */
  private readonly missed: LRUCache<number, true>;
  private root?: string | null;

  constructor(retryMs = 1000) {
    this.missed = new LRUCache({ max: 4096, ttl: retryMs });
  }

  /** The container of a cgroup id; null for a host cgroup, undefined when not found. */
  resolve(id: number): CgroupContainer | null | undefined {
    const known = this.byId.get(id);
    if (known) return known.c;
    if (this.missed.has(id)) return undefined;
    this.scan();
    const found = this.byId.get(id);
    if (!found) this.missed.set(id, true);
    return found?.c;
  }

  private scan(): void {
    this.root ??= cgroup2Mount();
    if (!this.root) return;
    const walk = (dir: string, rel: string) => {
      let st;
      try {
        st = statSync(dir);
      } catch {
        return;
      }
      if (!this.byId.has(st.ino)) this.byId.set(st.ino, { c: containerFromCgroup(`0::${rel || '/'}`) });
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) walk(`${dir}/${e.name}`, `${rel}/${e.name}`);
    };
    walk(this.root, '');
  }
}

/** Where the cgroup2 (unified) hierarchy is mounted, from /proc/self/mountinfo; null when it is not. */
export function cgroup2Mount(): string | null {
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [pre, post] = line.split(' - ');
      if (post?.startsWith('cgroup2 ')) return pre.split(' ')[4];
    }
  } catch {
    /* no procfs */
  }
  return null;
}
