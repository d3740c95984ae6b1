/**
 * Real containers for tests: Podman + runc set up the way this machine needs
 * (see shared/MACHINE.md), isolated from any system-wide Podman state.
 *
 * Each {@link setupPodman} gets its own directory with a containers.conf
 * (runc, cgroupfs, file events logger, no default ulimits: the hard
 * RLIMIT_NOFILE cannot be raised here), its own storage (vfs: works on any
 * filesystem), and a busybox-static rootfs imported as an image, so
 * containers have a real image name and id. Busybox applets are symlinked;
 * call them BY PATH (`/bin/nc`) in a container so they exec (Debian's static
 * busybox shell runs bare-named applets in-process).
 *
 * @example
 *   const pm = await setupPodman();
 *   const id = await pm.run(['/bin/nc', '-l', '-p', '8080'], { name: 'web' });
 *   await pm.exec(id, ['/bin/ls', '/']);
 *   const sock = await pm.startService(); // Docker-compatible Engine API
 *   await pm.cleanup();
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile, copyFile, chmod } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Image every helper imports: a busybox-static rootfs. */
export const TEST_IMAGE = 'casefile-test/busybox:1';

/** Users in the image's /etc/passwd (uid 1000 is `appuser`, so user-name lookups can be tested). */
export const IMAGE_PASSWD =
  'root:x:0:0:root:/root:/bin/sh\nappuser:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n';

const CONTAINERS_CONF = `[containers]
default_ulimits = []
[engine]
events_logger = "file"
runtime = "runc"
cgroup_manager = "cgroupfs"
`;

export interface RunOptions {
  name?: string;
  labels?: Record<string, string>;
  /** `uid[:gid]` inside the container. */
  user?: string;
  /** Default `none`: no network setup needed; a listener is still a listener. */
  network?: string;
  image?: string;
}

export interface Podman {
  dir: string;
  image: string;
  /** Environment every podman call runs with (CONTAINERS_CONF). */
  env: NodeJS.ProcessEnv;
  /** Global flags every podman call gets (own root, runroot, tmpdir, storage driver). */
  globalArgs: string[];
  /** Run `podman <globalArgs> <args>`; rejects with stderr on a non-zero exit. */
  podman(args: string[], timeoutMs?: number): Promise<string>;
  /** `podman run -d`; resolves to the full container id. */
  run(cmd: string[], opts?: RunOptions): Promise<string>;
  /** `podman exec`; resolves to stdout. */
  exec(id: string, cmd: string[], opts?: { user?: string }): Promise<string>;
  stop(id: string, timeoutSec?: number): Promise<void>;
  rm(id: string): Promise<void>;
  /** Host pid of the container's init process. */
  pid(id: string): Promise<number>;
  /** Start `podman system service` on a unix socket (once); resolves to the socket path once it answers /_ping. */
  startService(): Promise<string>;
  /** Stop the service, remove every container, delete the directory. Idempotent. */
  cleanup(): Promise<void>;
}

/** Why Podman-backed tests cannot run here, or null when they can. */
export function podmanUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (Podman with runc and cgroupfs)';
  for (const bin of ['/usr/bin/podman', '/usr/sbin/runc', '/bin/busybox']) {
    if (!existsSync(bin))
      return `${bin} is missing (scripts/setup-machine.sh installs podman runc busybox-static)`;
  }
  return null;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function buildRootfs(dir: string): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  for (const d of ['etc', 'tmp', 'root', 'home/app', 'proc', 'sys', 'dev'])
    await mkdir(join(dir, d), { recursive: true });
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile('/bin/busybox', join(dir, 'bin/busybox'));
  await chmod(join(dir, 'bin/busybox'), 0o755);
  const applets = (await run('/bin/busybox', ['--list'], process.env, 10_000))
    .split('\n')
    .filter((a) => /^[\w.[-]+$/.test(a));
  for (const a of applets)
    if (a !== 'busybox') await symlink('busybox', join(dir, 'bin', a)).catch(() => undefined);
  await writeFile(join(dir, 'etc/passwd'), IMAGE_PASSWD);
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\nappuser:x:1000:\nnogroup:x:65534:\n');
}

/** Set up an isolated Podman with the busybox test image imported. Caller must `cleanup()`. */
export async function setupPodman(opts: { image?: string } = {}): Promise<Podman> {
  const dir = await mkdtemp(join(tmpdir(), 'casefile-podman-'));
  const image = opts.image ?? TEST_IMAGE;
  await writeFile(join(dir, 'containers.conf'), CONTAINERS_CONF);
  const env = { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') };
  for (const d of ['root', 'runroot', 'tmp']) await mkdir(join(dir, d), { recursive: true });
  const globalArgs = [
    '--root',
    join(dir, 'root'),
    '--runroot',
    join(dir, 'runroot'),
    '--tmpdir',
    join(dir, 'tmp'),
    '--storage-driver',
    'vfs',
  ];
  const podman = (args: string[], timeoutMs = 60_000) =>
    run('/usr/bin/podman', [...globalArgs, ...args], env, timeoutMs);

  await buildRootfs(join(dir, 'rootfs'));
  await run('/bin/tar', ['-C', join(dir, 'rootfs'), '-cf', join(dir, 'rootfs.tar'), '.'], env, 60_000);
  await podman(['import', '--change', 'CMD=/bin/sh', join(dir, 'rootfs.tar'), image], 120_000);

  let service: ChildProcess | undefined;
  let socketPath: string | undefined;
  let cleaned = false;

  const pm: Podman = {
    dir,
    image,
    env,
    globalArgs,
    podman,
    async run(cmd, o = {}) {
      const args = ['run', '-d', `--network=${o.network ?? 'none'}`];
      if (o.name) args.push('--name', o.name);
      if (o.user) args.push('--user', o.user);
      for (const [k, v] of Object.entries(o.labels ?? {})) args.push('--label', `${k}=${v}`);
      args.push(o.image ?? image, ...cmd);
      return (await podman(args)).trim();
    },
    exec(id, cmd, o = {}) {
      return podman(['exec', ...(o.user ? ['--user', o.user] : []), id, ...cmd]);
    },
    async stop(id, timeoutSec = 2) {
      await podman(['stop', '-t', String(timeoutSec), id]);
    },
    async rm(id) {
      await podman(['rm', '-f', id]);
    },
    async pid(id) {
      return Number((await podman(['inspect', '-f', '{{.State.Pid}}', id])).trim());
    },
    async startService() {
      if (socketPath) return socketPath;
      const path = join(dir, 'podman.sock');
      service = spawn('/usr/bin/podman', [...globalArgs, 'system', 'service', '--time=0', `unix://${path}`], {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      service.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
      const deadline = Date.now() + 30_000;
      while (!(await ping(path))) {
        if (service.exitCode !== null) throw new Error(`podman system service exited: ${stderr}`);
        if (Date.now() > deadline)
          throw new Error(`podman system service did not answer on ${path}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      socketPath = path;
      return path;
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      await podman(['rm', '-a', '-f', '-t', '0'], 60_000).catch(() => undefined);
      if (service && service.exitCode === null) {
        service.kill('SIGTERM');
        await new Promise<void>((r) => {
          const t = setTimeout(() => (service!.kill('SIGKILL'), r()), 5000);
          service!.once('exit', () => (clearTimeout(t), r()));
        });
      }
      // conmon runs `podman container cleanup` after a container exits, asynchronously: wait for
      // every process still using this directory, or it recreates files after the delete.
      const deadline = Date.now() + 10_000;
      while (
        Date.now() < deadline &&
        (await run('/usr/bin/pgrep', ['-f', dir], env, 5000).catch(() => '')).trim()
      ) {
        await new Promise((r) => setTimeout(r, 100));
      }
      // vfs layers and runroot mounts: unmount anything left, then delete.
      await run(
        '/bin/sh',
        ['-c', `grep -o " ${dir}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`],
        env,
        10_000
      ).catch(() => undefined);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
  return pm;
}

/** GET /_ping on a unix socket: true once the Engine API answers. */
function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => (req.destroy(), resolve(false)));
    req.end();
  });
}
