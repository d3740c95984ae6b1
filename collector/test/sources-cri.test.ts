/**
 * CRI source against answers recorded from a real containerd 1.6
 * (fixtures/cri/containerd-1.6/, written by test/cri/record-fixtures.ts),
 * replayed by a gRPC server speaking the vendored CRI proto on a unix socket:
 * the polling fallback containerd 1.6 needs (it answers GetContainerEvents
 * with Unimplemented) and the event stream of runtimes that have it. Also the
 * cgroup -> container table for containerd and CRI-O layouts and the
 * start-up choice among runtime sockets. test/cri/ runs the real containerd.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import {
  Server,
  ServerCredentials,
  status,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from '@grpc/grpc-js';
import pino from 'pino';
import { makeEvent, type CasefileEvent, type NewEvent } from '@casefile/schema';
import { containerFromCgroup } from '../src/sources/cgroup';
import { containerDirectory } from '../src/sources/container-directory';
import { CriSource } from '../src/sources/cri';
import {
  runtimeService,
  type CriContainer,
  type CriContainerEvent,
  type CriContainerStatusResponse,
  type CriPodSandbox,
  type CriPodSandboxStatusResponse,
} from '../src/sources/cri/client';
import { digestOfImageRef, infoFromContainerStatus, infoFromSandboxStatus } from '../src/sources/cri/map';
import { createSources } from '../src/sources';
import { runWithoutPackages } from '../../test/modules/without-packages';
import { testConfig, until } from './helpers';

const logger = pino({ level: 'silent' });
const fx = <T>(n: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/cri/containerd-1.6/${n}`, import.meta.url), 'utf8')) as T;
const fxText = (n: string) => readFileSync(new URL(`./fixtures/cri/${n}`, import.meta.url), 'utf8');

const running = fx<CriContainerStatusResponse>('container-status-running.json');
const exited = fx<CriContainerStatusResponse>('container-status-exited.json');
const sandbox = fx<CriPodSandboxStatusResponse>('pod-sandbox-status.json');
const ID = running.status!.id;
const SANDBOX = sandbox.status!.id;
const POD_UID = sandbox.status!.metadata!.uid;

test('cgroup paths of containerd and CRI-O pods (systemd and cgroupfs drivers, cgroup v1 and v2) map to the container', () => {
  const table = JSON.parse(fxText('cgroup-layouts.json')) as {
    containerId: string;
    podUid: string;
    layouts: Array<{ layout: string; cgroup: string; runtime: string | null; podUid: boolean }>;
  };
  assert.ok(table.layouts.length >= 15);
  for (const l of table.layouts) {
    const want = l.runtime
      ? { containerId: table.containerId, runtime: l.runtime, ...(l.podUid ? { podUid: table.podUid } : {}) }
      : null;
    assert.deepEqual(containerFromCgroup(l.cgroup), want, l.layout);
  }
  // Recorded on this machine from containerd 1.6 (cgroupfs, hybrid v1 + v2): the container and its pod's pause process.
  assert.deepEqual(containerFromCgroup(fxText('containerd-1.6/cgroup-container.txt')), {
    containerId: ID,
    runtime: 'containerd',
    podUid: POD_UID,
  });
  assert.deepEqual(containerFromCgroup(fxText('containerd-1.6/cgroup-sandbox.txt'))?.runtime, 'containerd');
});

test('recorded ContainerStatus / PodSandboxStatus: image, digest from imageRef, labels, annotations, pod, pid', () => {
  const info = infoFromContainerStatus(running, 'containerd');
  assert.equal(info.containerId, ID);
  assert.equal(info.containerName, 'web');
  assert.equal(info.imageName, 'casefile.local/busybox:1');
  assert.equal(info.imageDigest, running.status!.imageRef);
  assert.match(info.imageDigest!, /^sha256:[0-9a-f]{64}$/);
  assert.equal(info.pod, 'web-0');
  assert.equal(info.namespace, 'shop');
  assert.equal(info.podUid, POD_UID);
  assert.equal(info.labels['io.kubernetes.container.name'], 'web');
  assert.equal(info.annotations?.['io.kubernetes.container.restartCount'], '0');
  assert.equal(info.pid, JSON.parse(running.info.info).pid);
  assert.ok(info.pid! > 1);
  // Without kubelet's labels the pod comes from the sandbox's metadata.
  const bare = { ...running, status: { ...running.status!, labels: {} } };
  const fromSandbox = infoFromContainerStatus(bare, 'containerd', sandbox.status!);
  assert.deepEqual([fromSandbox.pod, fromSandbox.namespace, fromSandbox.podUid], ['web-0', 'shop', POD_UID]);
  const pause = infoFromSandboxStatus(sandbox, 'containerd');
  assert.deepEqual(
    [pause.containerId, pause.containerName, pause.imageName, pause.pod, pause.namespace],
    [SANDBOX, 'POD', 'casefile.local/pause:1', 'web-0', 'shop']
  );
  const d = 'sha256:' + 'ab'.repeat(32);
  assert.equal(digestOfImageRef(`docker.io/library/busybox@${d}`), d);
  assert.equal(digestOfImageRef(d), d);
  assert.equal(digestOfImageRef('ab'.repeat(32)), d, 'CRI-O may give the bare image id');
  assert.equal(digestOfImageRef('busybox:latest'), undefined);
  assert.equal(digestOfImageRef(''), undefined);
  assert.throws(() => infoFromContainerStatus({ status: null, info: {} }, 'containerd'), /without a status/);
});

/** A CRI server replaying recorded answers; `containers` is what ListContainers answers now. */
async function replayServer(opts: { events: boolean; cri?: boolean }) {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-cri-'));
  const socket = join(dir, 'cri.sock');
  const state = {
    containers: [] as CriContainer[],
    sandboxes: fx<CriPodSandbox[]>('list-pod-sandbox.json'),
    status: running,
    streams: [] as ServerWritableStream<object, CriContainerEvent>[],
    calls: new Map<string, number>(),
    stopRequests: [] as Array<Record<string, unknown>>,
  };
  const unary =
    (name: string, answer: (req: Record<string, unknown>) => object | Error) =>
    (call: ServerUnaryCall<Record<string, unknown>, object>, cb: sendUnaryData<object>) => {
      state.calls.set(name, (state.calls.get(name) ?? 0) + 1);
      const a = answer(call.request);
      if (a instanceof Error) cb({ code: status.NOT_FOUND, details: a.message });
      else cb(null, a);
    };
  const server = new Server();
  // cri: false is a containerd with its cri plugin disabled (Docker's): every method is Unimplemented.
  server.addService(
    (await runtimeService()).service,
    opts.cri === false
      ? {}
      : {
          Version: unary('Version', () => fx('version.json')),
          ListPodSandbox: unary('ListPodSandbox', () => ({ items: state.sandboxes })),
          ListContainers: unary('ListContainers', () => ({ containers: state.containers })),
          ContainerStatus: unary('ContainerStatus', (r) =>
            r.containerId === ID ? state.status : new Error('not found')
          ),
          PodSandboxStatus: unary('PodSandboxStatus', (r) =>
            r.podSandboxId === SANDBOX ? sandbox : new Error('not found')
          ),
          StopContainer: unary('StopContainer', (r) => (state.stopRequests.push(r), {})),
          GetContainerEvents: (call: ServerWritableStream<object, CriContainerEvent>) => {
            if (!opts.events) {
              const rec = fx<{ code: number; details: string }>('get-container-events.json');
              call.emit('error', { code: rec.code, details: rec.details });
              return;
            }
            state.streams.push(call);
          },
        }
  );
  await new Promise<void>((res, rej) =>
    server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (err) =>
      err ? rej(err) : res()
    )
  );
  return {
    socket,
    state,
    async close() {
      for (const s of state.streams) s.end();
      server.forceShutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const listed = (state: 'CONTAINER_RUNNING' | 'CONTAINER_EXITED') =>
  fx<CriContainer[]>(
    state === 'CONTAINER_RUNNING' ? 'list-containers-running.json' : 'list-containers-exited.json'
  );

test('polling fallback (containerd 1.6 has no GetContainerEvents): start with image and pod, stop with exit code', async () => {
  const srv = await replayServer({ events: false });
  const src = new CriSource(srv.socket, logger, { pollMs: 100 });
  const events: CasefileEvent[] = [];
  try {
    assert.deepEqual(await src.available(), { ok: true });
    await src.start((e) => events.push(makeEvent(e as NewEvent)));
    assert.match(src.describe(), /^containerd 1\.6\.20~ds1 \(CRI v1, polling every 100 ms\)$/);
    srv.state.containers = listed('CONTAINER_RUNNING');
    const start = await until(
      'container.start',
      () => events.find((e) => e.type === 'container.start'),
      10_000,
      50
    );
    assert.equal(start.containerId, ID);
    assert.equal(start.containerName, 'web');
    assert.equal(start.imageName, 'casefile.local/busybox:1');
    assert.equal(start.imageDigest, running.status!.imageRef);
    assert.equal(start.pod, 'web-0');
    assert.equal(start.namespace, 'shop');
    assert.equal(start.podUid, POD_UID);
    assert.equal(start.containerRuntime, 'containerd');
    assert.equal(start.pid, JSON.parse(running.info.info).pid);
    assert.equal(start.timeNs, running.status!.startedAt);
    assert.equal(JSON.parse(start.labels!)['io.kubernetes.pod.name'], 'web-0');
    // The shared directory answers the enricher for this container now.
    assert.equal(containerDirectory().get(ID)?.imageDigest, start.imageDigest);
    // A block action stops it through this runtime.
    await containerDirectory().stopContainer(ID, 1);
    assert.deepEqual(srv.state.stopRequests, [{ containerId: ID, timeout: '1' }]);
    srv.state.status = exited;
    srv.state.containers = listed('CONTAINER_EXITED');
    const stop = await until(
      'container.stop',
      () => events.find((e) => e.type === 'container.stop'),
      10_000,
      50
    );
    assert.equal(stop.containerId, ID);
    assert.equal(stop.exitCode, exited.status!.exitCode);
    assert.equal(stop.reason, 'exited');
    assert.equal(stop.pod, 'web-0');
    assert.equal(stop.timeNs, exited.status!.finishedAt);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(events.length, 2, `one start and one stop, got ${events.map((e) => e.type)}`);
    assert.ok(src.stats().cri_polls >= 3);
    // Gone from the list while running (removed between polls): stopped, exit unknown.
    srv.state.containers = listed('CONTAINER_RUNNING').map((c) => ({ ...c, id: 'f'.repeat(64) }));
    await until(
      'second start',
      () => events.filter((e) => e.type === 'container.start').length === 2,
      10_000,
      50
    );
    srv.state.containers = [];
    const removed = await until(
      'removed container stop',
      () => events.find((e) => e.type === 'container.stop' && e.containerId === 'f'.repeat(64)),
      10_000,
      50
    );
    assert.equal(removed.reason, 'removed');
    assert.equal(removed.exitCode, undefined);
    // The pod sandbox (ready at start, so not reported then) stops when it is no longer ready.
    srv.state.sandboxes = srv.state.sandboxes.map((sb) => ({ ...sb, state: 'SANDBOX_NOTREADY' }));
    const pod = await until(
      'sandbox stop',
      () => events.find((e) => e.type === 'container.stop' && e.containerId === SANDBOX),
      10_000,
      50
    );
    assert.deepEqual([pod.containerName, pod.pod, pod.reason], ['POD', 'web-0', 'stopped']);
  } finally {
    await src.stop();
    await srv.close();
  }
});

test('GetContainerEvents stream (containerd 1.7+, CRI-O): started and stopped events, no polling', async () => {
  const srv = await replayServer({ events: true });
  const src = new CriSource(srv.socket, logger, { pollMs: 100 });
  const events: CasefileEvent[] = [];
  try {
    assert.deepEqual(await src.available(), { ok: true });
    await src.start((e) => events.push(makeEvent(e as NewEvent)));
    await until('stream open', () => srv.state.streams.length === 1, 5000, 20);
    assert.match(src.describe(), /GetContainerEvents/);
    const send = (type: CriContainerEvent['containerEventType'], s: CriContainerStatusResponse) =>
      srv.state.streams[0].write({
        containerId: ID,
        containerEventType: type,
        createdAt: s.status!.startedAt,
        podSandboxStatus: sandbox.status,
        containersStatuses: [s.status!],
      });
    send('CONTAINER_STARTED_EVENT', running);
    const start = await until(
      'container.start',
      () => events.find((e) => e.type === 'container.start'),
      5000,
      20
    );
    assert.equal(start.imageDigest, running.status!.imageRef);
    assert.equal(start.pod, 'web-0');
    srv.state.status = exited;
    send('CONTAINER_STOPPED_EVENT', exited);
    const stop = await until(
      'container.stop',
      () => events.find((e) => e.type === 'container.stop'),
      5000,
      20
    );
    assert.equal(stop.exitCode, exited.status!.exitCode);
    assert.equal(srv.state.calls.get('ListContainers'), 1, 'listed once at start, never polled');
    assert.equal(src.stats().cri_events, 2);
  } finally {
    await src.stop();
    await srv.close();
  }
});

test('runtime sockets chosen by which exist and answer; the start-up line says which and why not the others', async () => {
  const srv = await replayServer({ events: false });
  const lines: Array<{ msg: string; active?: string[]; inactive?: Record<string, string> }> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  const config = testConfig(['--runtime-socket', '/nonexistent/docker.sock', '--cri-socket', srv.socket]);
  config.sources.enabled = ['runtime'];
  const [runtime] = createSources(config, pino({ level: 'info' }, sink));
  try {
    assert.equal(runtime.name, 'runtime');
    assert.deepEqual(await runtime.available(), { ok: true });
    await runtime.start(() => undefined);
    const line = await until(
      'start-up line',
      () => lines.find((l) => l.msg === 'container runtimes'),
      5000,
      20
    );
    assert.deepEqual(line.active, [
      `CRI ${srv.socket}: containerd 1.6.20~ds1 (CRI v1, polling every 1000 ms)`,
    ]);
    assert.equal(
      line.inactive?.['Engine API /nonexistent/docker.sock'],
      'no Engine API socket at /nonexistent/docker.sock'
    );
    for (const def of ['/run/containerd/containerd.sock', '/var/run/crio/crio.sock'])
      assert.ok(line.inactive?.[`CRI ${def}`], `${def} is named with its reason`);
  } finally {
    await runtime.stop();
    await srv.close();
  }
  // A gRPC socket that does not serve the CRI (Docker's containerd): named as such.
  const docker = await replayServer({ events: false, cri: false });
  try {
    const a = await new CriSource(docker.socket, logger).available();
    assert.deepEqual(a, {
      ok: false,
      reason: `${docker.socket} does not serve the CRI v1 RuntimeService (containerd's cri plugin disabled?)`,
    });
  } finally {
    await docker.close();
  }
  // No socket at all: unavailable, with every reason.
  const none = testConfig([
    '--runtime-socket',
    '/nonexistent/docker.sock',
    '--cri-socket',
    '/nonexistent/cri.sock',
  ]);
  none.sources.enabled = ['runtime'];
  const a = await createSources(none, logger)[0].available();
  assert.equal(a.ok, false);
  assert.match(
    !a.ok ? a.reason : '',
    /no Engine API socket at \/nonexistent\/docker\.sock; no CRI socket at \/nonexistent\/cri\.sock/
  );
});

test('gRPC loads only for a CRI socket that exists; without it installed, that socket is unavailable with the packages named', async () => {
  const srv = await replayServer({ events: false });
  try {
    const r = await runWithoutPackages(
      ['@grpc/grpc-js'],
      `import pino from 'pino';
      const { CriSource } = await import('./collector/src/sources/cri.ts');
      const log = pino({ level: 'silent' });
      for (const socket of ['/nonexistent/cri.sock', ${JSON.stringify(srv.socket)}])
        console.log(JSON.stringify(await new CriSource(socket, log).available()));`
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      [
        { ok: false, reason: 'no CRI socket at /nonexistent/cri.sock' },
        {
          ok: false,
          reason:
            "the CRI client needs @grpc/grpc-js and @grpc/proto-loader: Cannot find package '@grpc/grpc-js' (hidden by the test)",
        },
      ]
    );
  } finally {
    await srv.close();
  }
});
