/**
 * Records the CRI answers collector/test/sources-cri.test.ts replays, from a
 * real containerd started by ./containerd.ts (run as root):
 *   node --import tsx test/cri/record-fixtures.ts
 * Writes collector/test/fixtures/cri/containerd-1.6/*.json and the pod's real /proc/<pid>/cgroup.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startContainerd } from './containerd';

const OUT = fileURLToPath(new URL('../../collector/test/fixtures/cri/containerd-1.6/', import.meta.url));

const ctd = await startContainerd();
try {
  mkdirSync(OUT, { recursive: true });
  const save = (name: string, v: unknown) =>
    writeFileSync(join(OUT, name), JSON.stringify(v, null, 2) + '\n');
  const { cri } = ctd;
  save('version.json', await cri.version());
  const events = await new Promise<{ code?: number; details?: string }>((resolve) => {
    const cancel = cri.containerEvents(
      () => undefined,
      (err) => resolve({ code: err?.code, details: err?.details })
    );
    setTimeout(() => (cancel(), resolve({})), 2000);
  });
  save('get-container-events.json', events);
  const pod = await ctd.runPod({
    name: 'web-0',
    namespace: 'shop',
    container: 'web',
    command: ['/bin/sh', '-c', '/bin/nc -l -p 18081; exit 3'],
  });
  save('list-pod-sandbox.json', await cri.listPodSandbox());
  save('list-containers-running.json', await cri.listContainers());
  const running = await cri.containerStatus(pod.containerId);
  save('container-status-running.json', running);
  save('pod-sandbox-status.json', await cri.podSandboxStatus(pod.sandboxId));
  const pid = JSON.parse(running.info.info).pid as number;
  writeFileSync(join(OUT, 'cgroup-container.txt'), readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  await ctd.stopContainer(pod.containerId, 2);
  save('list-containers-exited.json', await cri.listContainers());
  save('container-status-exited.json', await cri.containerStatus(pod.containerId));
  save(
    'container-status-not-found.json',
    await cri.containerStatus('0'.repeat(64)).then(
      () => ({}),
      (err: { code: number; details: string }) => ({ code: err.code, details: err.details })
    )
  );
  console.log(`recorded into ${OUT}`);
} finally {
  await ctd.stop();
}
