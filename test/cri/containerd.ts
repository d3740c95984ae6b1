/**
 * A real containerd (Debian's, 1.6 with its CRI plugin) for tests: its own
 * config, root, state, socket and runc root in a temp dir, so it shares
 * nothing with a containerd the machine may run. No registry is reachable:
 * a busybox image and a sandbox ("pause") image are built here from
 * /bin/busybox as a docker-archive and imported with `ctr`. Pods are made
 * through the CRI itself, host network (no CNI), cgroupfs driver with
 * kubelet's cgroup parent layout (/kubepods/besteffort/pod<uid>).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CriClient } from '../../collector/src/sources/cri/client';

const run = promisify(execFile);

export const BUSYBOX_IMAGE = 'casefile.local/busybox:1';
export const PAUSE_IMAGE = 'casefile.local/pause:1';
const APPLETS = ['sh', 'sleep', 'nc', 'cat', 'ls', 'echo', 'id'];

/** Why containerd cannot run here, or null. Tests fail with it (CI counts a skip as a failure). */
export function containerdUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (containerd, runc)';
  for (const bin of ['/usr/bin/containerd', '/usr/bin/ctr', '/usr/bin/containerd-shim-runc-v2'])
    if (!existsSync(bin)) return `${bin} is missing (apt-get install containerd)`;
  if (!existsSync('/usr/sbin/runc') && !existsSync('/usr/bin/runc')) return 'runc is missing';
  if (!existsSync('/bin/busybox')) return '/bin/busybox is missing (apt-get install busybox-static)';
  return null;
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * A docker-archive with the busybox image (Cmd /bin/sh) and the pause image
 * (Cmd /bin/sleep), one shared layer: what `docker save` writes.
 */
export async function buildImageArchive(dir: string): Promise<string> {
  const rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'etc'));
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  for (const a of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(
    join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nappuser:x:1000:1000::/:/bin/sh\n'
  );
  const img = join(dir, 'img');
  mkdirSync(img);
  await run('tar', ['-C', rootfs, '-cf', join(img, 'layer.tar'), '.']);
  const diff = sha256(join(img, 'layer.tar'));
  mkdirSync(join(img, diff));
  renameSync(join(img, 'layer.tar'), join(img, diff, 'layer.tar'));
  const config = (cmd: string[]) => {
    const f = join(img, 'config.json');
    writeFileSync(
      f,
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['PATH=/bin'], Cmd: cmd },
        rootfs: { type: 'layers', diff_ids: [`sha256:${diff}`] },
      })
    );
    const name = `${sha256(f)}.json`;
    renameSync(f, join(img, name));
    return name;
  };
  const manifest = [
    { Config: config(['/bin/sh']), RepoTags: [BUSYBOX_IMAGE], Layers: [`${diff}/layer.tar`] },
    { Config: config(['/bin/sleep', '2147483647']), RepoTags: [PAUSE_IMAGE], Layers: [`${diff}/layer.tar`] },
  ];
  writeFileSync(join(img, 'manifest.json'), JSON.stringify(manifest));
  const archive = join(dir, 'images.tar');
  await run('tar', ['-C', img, '-cf', archive, '.']);
  return archive;
}

export interface PodSpec {
  name: string;
  namespace: string;
  container: string;
  command: string[];
}

export interface RunningPod {
  podUid: string;
  sandboxId: string;
  containerId: string;
}

export interface Containerd {
  dir: string;
  socket: string;
  cri: CriClient;
  /** RunPodSandbox + CreateContainer + StartContainer, with kubelet's labels. */
  runPod(spec: PodSpec): Promise<RunningPod>;
  /** StopContainer with a grace period (s). */
  stopContainer(id: string, timeoutSec: number): Promise<void>;
  /** The daemon's log so far (for failure messages). */
  log(): string;
  /** Remove every pod, stop containerd, unmount and delete the temp dir. */
  stop(): Promise<void>;
}

/** containerd's config: its own paths, the CRI with the local pause image, runc with cgroupfs. */
function configToml(dir: string): string {
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # CAP_SYS_RESOURCE is absent here: runc cannot lower oom_score_adj below containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${dir}/runc"
`;
}

/** Start containerd in a temp dir and import the two local images into its k8s.io namespace. */
export async function startContainerd(): Promise<Containerd> {
  const why = containerdUnavailableReason();
  if (why) throw new Error(`containerd cannot run here: ${why}`);
  const dir = mkdtempSync(join(tmpdir(), 'casefile-containerd-'));
  const socket = join(dir, 'containerd.sock');
  writeFileSync(join(dir, 'config.toml'), configToml(dir));
  const archive = await buildImageArchive(dir);
  let logs = '';
  const daemon: ChildProcess = spawn('/usr/bin/containerd', ['--config', join(dir, 'config.toml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  daemon.stdout!.on('data', (d) => (logs = (logs + d).slice(-50_000)));
  daemon.stderr!.on('data', (d) => (logs = (logs + d).slice(-50_000)));
  const cri = await CriClient.open(socket);
  const pods: RunningPod[] = [];

  const stop = async () => {
    for (const p of pods) {
      await cri.unary('StopPodSandbox', { podSandboxId: p.sandboxId }, 30_000).catch(() => undefined);
      await cri.unary('RemovePodSandbox', { podSandboxId: p.sandboxId }, 30_000).catch(() => undefined);
    }
    cri.close();
    if (daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise<void>((r) => {
        const k = setTimeout(() => (daemon.kill('SIGKILL'), r()), 10_000);
        daemon.once('exit', () => (clearTimeout(k), r()));
      });
    }
    // Mounts the daemon left (a sandbox's /dev/shm, a rootfs) would make the delete fail.
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m) => m?.startsWith(dir))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    // kubelet removes a pod's cgroup parent, containerd does not: remove ours (rmdir: only when empty).
    for (const h of ['', ...readdirSync('/sys/fs/cgroup')])
      for (const rel of [
        ...pods.map((p) => `kubepods/besteffort/pod${p.podUid}`),
        'kubepods/besteffort',
        'kubepods',
      ])
        try {
          rmdirSync(join('/sys/fs/cgroup', h, rel));
        } catch {
          /* absent, or still in use */
        }
  };

  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (daemon.exitCode !== null) throw new Error(`containerd exited ${daemon.exitCode}`);
      if (
        existsSync(socket) &&
        (await cri.version().then(
          () => true,
          () => false
        ))
      )
        break;
      if (Date.now() > deadline) throw new Error('containerd did not answer the CRI within 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    await run('/usr/bin/ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'import', archive]);
  } catch (err) {
    await stop();
    (err as Error).message += `\n--- containerd log (tail) ---\n${logs.slice(-4000)}`;
    throw err;
  }

  return {
    dir,
    socket,
    cri,
    log: () => logs,
    stop,
    async stopContainer(id, timeoutSec) {
      await cri.unary('StopContainer', { containerId: id, timeout: timeoutSec }, (timeoutSec + 10) * 1000);
    },
    async runPod(spec) {
      const podUid = randomUUID();
      const labels = {
        'io.kubernetes.pod.name': spec.name,
        'io.kubernetes.pod.namespace': spec.namespace,
        'io.kubernetes.pod.uid': podUid,
      };
      const sandboxConfig = {
        metadata: { name: spec.name, namespace: spec.namespace, uid: podUid, attempt: 0 },
        labels,
        // No hostname: runc cannot set one without a private UTS namespace (host network shares the host's).
        linux: {
          cgroupParent: `/kubepods/besteffort/pod${podUid}`,
          securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } },
        },
      };
      const { podSandboxId } = await cri.unary<{ podSandboxId: string }>(
        'RunPodSandbox',
        { config: sandboxConfig },
        60_000
      );
      const pod: RunningPod = { podUid, sandboxId: podSandboxId, containerId: '' };
      pods.push(pod);
      const { containerId } = await cri.unary<{ containerId: string }>(
        'CreateContainer',
        {
          podSandboxId,
          sandboxConfig,
          config: {
            metadata: { name: spec.container, attempt: 0 },
            image: { image: BUSYBOX_IMAGE },
            command: spec.command,
            labels: { ...labels, 'io.kubernetes.container.name': spec.container },
            annotations: { 'io.kubernetes.container.restartCount': '0' },
            linux: {},
          },
        },
        60_000
      );
      pod.containerId = containerId;
      await cri.unary('StartContainer', { containerId }, 60_000);
      return pod;
    },
  };
}
