/**
 * Container runtime source: pure mappings against recorded Engine API
 * answers (Podman) and a cgroup path table, then a real Podman Engine API.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
import pino from 'pino';
import { makeEvent, type CasefileEvent, type NewEvent } from '@casefile/schema';
import { cgroup2Mount, CgroupIndex, containerFromCgroup } from '../src/sources/cgroup';
import { containerDirectory, infoFromInspect } from '../src/sources/container-directory';
import type { EngineEvent } from '../src/sources/engine-client';
import { mapEngineEvent, RuntimeSource } from '../src/sources/runtime';
import { podmanUnavailableReason, setupPodman } from '../../test/containers/podman';

const logger = pino({ level: 'silent' });
const fx = (n: string) => readFileSync(new URL(`./fixtures/engine/${n}`, import.meta.url), 'utf8');
const ID = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

test('cgroup paths of docker, containerd, cri-o and libpod map to the container', () => {
  const table: Array<[string, ReturnType<typeof containerFromCgroup>]> = [
    [`12:pids:/docker/${ID}\n0::/docker/${ID}`, { containerId: ID, runtime: 'docker' }],
    [`0::/system.slice/docker-${ID}.scope`, { containerId: ID, runtime: 'docker' }],
    [
      `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice/cri-containerd-${ID}.scope`,
      { containerId: ID, runtime: 'containerd', podUid: '1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d' },
    ],
    [
      `11:memory:/kubepods/besteffort/pod1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d/${ID}`,
      { containerId: ID, runtime: 'containerd', podUid: '1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d' },
    ],
    [
      `0::/kubepods.slice/kubepods-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice/crio-${ID}.scope`,
      { containerId: ID, runtime: 'cri-o', podUid: '1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d' },
    ],
    [
      `9:name=systemd:/libpod_parent/libpod-${ID}\n0::/libpod_parent/libpod-${ID}`,
      { containerId: ID, runtime: 'podman' },
    ],
    [`0::/machine.slice/libpod-${ID}.scope/container`, { containerId: ID, runtime: 'podman' }],
    [`0::/machine.slice/libpod-conmon-${ID}.scope`, null],
    ['0::/user.slice/user-1000.slice/session-2.scope', null],
    ['0::/', null],
    ['garbage', null],
  ];
  for (const [text, want] of table) assert.deepEqual(containerFromCgroup(text), want, text);
  // A real /proc/<pid>/cgroup recorded from a Podman container on this machine's hybrid layout.
  assert.equal(containerFromCgroup(fx('cgroup-podman.txt'))?.runtime, 'podman');
});

test('recorded Podman events and inspect: start with image, digest, labels, pod; die with exit code', () => {
  const events = fx('events-podman.jsonl')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EngineEvent);
  const info = infoFromInspect(JSON.parse(fx('inspect-podman.json')), JSON.parse(fx('image-podman.json')));
  assert.equal(info.containerName, 'payments-api');
  assert.equal(info.imageName, 'localhost/casefile-test/busybox:1');
  assert.match(info.imageDigest!, /^sha256:[0-9a-f]{64}$/);
  assert.equal(info.pod, 'payments-7d9f');
  assert.equal(info.namespace, 'prod');
  const mapped = events
    .map((e) => mapEngineEvent(e, info, 'podman', e.Action === 'die'))
    .filter((e): e is NewEvent => e !== null)
    .map(makeEvent);
  assert.deepEqual(
    mapped.map((e) => e.type),
    ['container.start', 'container.stop'],
    'create/init/stop/cleanup are not events; die is the stop'
  );
  const [start, stop] = mapped;
  assert.equal(start.containerId, info.containerId);
  assert.equal(start.imageDigest, info.imageDigest);
  assert.equal(start.containerRuntime, 'podman');
  assert.deepEqual(JSON.parse(start.labels!), {
    'io.kubernetes.pod.name': 'payments-7d9f',
    'io.kubernetes.pod.namespace': 'prod',
    app: 'a"b\nc',
  });
  assert.equal(start.timeNs.length, 19);
  assert.equal(stop.exitCode, 137);
  assert.equal(stop.reason, 'stopped');
  // Without inspect data (container gone), the event's own attributes still name it.
  const bare = makeEvent(
    mapEngineEvent(
      events.find((e) => e.Action === 'die')!,
      undefined
    )!
  );
  assert.equal(bare.containerName, 'payments-api');
  assert.equal(bare.pod, 'payments-7d9f');
  assert.equal(bare.reason, 'exited');
  assert.equal(mapEngineEvent({ Type: 'image', Action: 'pull' }, undefined), null);
});

const skip = podmanUnavailableReason() ?? undefined;

test(
  'real Podman Engine API: start and stop of a labelled container, directory filled',
  { skip, timeout: 120_000 },
  async () => {
    const pm = await setupPodman();
    const src = new RuntimeSource(await pm.startService(), logger);
    const events: CasefileEvent[] = [];
    try {
      assert.deepEqual(await src.available(), { ok: true });
      await src.start((e) => events.push(makeEvent(e as NewEvent)));
      const id = await pm.run(['/bin/sleep', '60'], {
        name: 'rt-test',
        labels: { 'io.kubernetes.pod.name': 'web-0', 'io.kubernetes.pod.namespace': 'shop' },
      });
      const until = async (f: () => boolean, what: string) => {
        const deadline = Date.now() + 30_000;
        while (!f()) {
          if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await until(
        () => events.some((e) => e.type === 'container.start' && e.containerId === id),
        'container.start'
      );
      const start = events.find((e) => e.type === 'container.start')!;
      assert.equal(start.containerName, 'rt-test');
      assert.equal(start.imageName, 'localhost/casefile-test/busybox:1');
      assert.match(start.imageDigest!, /^sha256:/);
      assert.equal(start.pod, 'web-0');
      assert.equal(start.namespace, 'shop');
      assert.equal(start.pid, await pm.pid(id));
      assert.equal(containerDirectory(src['socketPath']).get(id)?.containerName, 'rt-test');
      // The cgroup v2 id eBPF reports (the inode of the container's cgroup directory) maps back to it.
      const rel = readFileSync(`/proc/${start.pid}/cgroup`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('0::'))!
        .slice(3);
      assert.deepEqual(new CgroupIndex().resolve(statSync(cgroup2Mount()! + rel).ino), {
        containerId: id,
        runtime: 'podman',
      });
      assert.equal(
        new CgroupIndex().resolve(statSync(cgroup2Mount()!).ino),
        null,
        'the root cgroup is the host'
      );
      await pm.stop(id, 1);
      await until(
        () => events.some((e) => e.type === 'container.stop' && e.containerId === id),
        'container.stop'
      );
      const stop = events.find((e) => e.type === 'container.stop')!;
      assert.equal(stop.exitCode, 137, 'sleep as pid 1 ignores SIGTERM: killed after the timeout');
      assert.ok(['stopped', 'exited'].includes(stop.reason!), 'Podman may send stop before or after die');
      assert.equal(events.filter((e) => e.type === 'container.stop').length, 1, 'one stop per container run');
    } finally {
      await src.stop();
      await pm.cleanup();
    }
  }
);
