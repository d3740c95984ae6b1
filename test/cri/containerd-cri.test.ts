/**
 * A Kubernetes-style node with only containerd: Debian's containerd 1.6
 * (./containerd.ts: its own config, root, state and socket; locally built
 * busybox and pause images), pods made through the CRI with host network,
 * and the whole collector CLI with real eBPF and no Engine API socket, its
 * events read from --stdout. The collector must report the container's
 * start with image and pod, its processes with container id and pod, its
 * listener and its stop, and learn one model per image for two pods of it;
 * a block action stops a container through the CRI.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CasefileEvent } from '@casefile/schema';
import pino from 'pino';
import { containerDirectory } from '../../collector/src/sources/container-directory';
import { CriSource } from '../../collector/src/sources/cri';
import { until } from '../../collector/test/helpers';
import {
  BUSYBOX_IMAGE,
  PAUSE_IMAGE,
  containerdUnavailableReason,
  startContainerd,
  type Containerd,
} from './containerd';

/** A TCP port free on the host right now (pods share the host's network). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const CLI = fileURLToPath(new URL('../../collector/bin/casefile-collector.js', import.meta.url));

test(
  'containerd through the CRI: container start with image and pod, processes, listener, stop; one model per image',
  { timeout: 300_000 },
  async () => {
    const why =
      containerdUnavailableReason() ?? (existsSync('/usr/bin/bpftrace') ? null : 'bpftrace is missing');
    assert.equal(why, null, `this test needs real containerd and eBPF: ${why}`);
    let ctd: Containerd | undefined;
    let collector: ChildProcess | undefined;
    const stateDir = mkdtempSync(join(tmpdir(), 'casefile-collector-state-'));
    const events: CasefileEvent[] = [];
    let logs = '';
    try {
      ctd = await startContainerd();
      const listenPort = await freePort();
      const ncPort = await freePort();
      collector = spawn(
        process.execPath,
        [
          CLI,
          '--stdout',
          '--state-dir',
          stateDir,
          '--sources',
          'ebpf,runtime',
          // No Engine API on this node: only the CRI socket answers.
          '--runtime-socket',
          join(ctd.dir, 'no-docker.sock'),
          '--cri-socket',
          ctd.socket,
          '--host-name',
          `cri-${process.pid}`,
          '--listen',
          `127.0.0.1:${listenPort}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] }
      );
      let partial = '';
      collector.stdout!.on('data', (d) => {
        const lines = (partial + d).split('\n');
        partial = lines.pop()!;
        for (const l of lines) if (l) events.push(JSON.parse(l) as CasefileEvent);
      });
      collector.stderr!.on('data', (d) => (logs = (logs + d).slice(-40_000)));
      await until(
        'collector sources active',
        async () => {
          if (collector!.exitCode !== null) throw new Error(`collector exited ${collector!.exitCode}`);
          const h = (await (await fetch(`http://127.0.0.1:${listenPort}/healthz`)).json()) as {
            sources?: Record<string, string>;
          };
          return h.sources?.ebpf === 'active' && h.sources?.runtime === 'active' ? true : undefined;
        },
        90_000,
        500
      );
      assert.match(logs, /"msg":"container runtimes"/);
      const startup = JSON.parse(logs.split('\n').find((l) => l.includes('"msg":"container runtimes"'))!) as {
        active: string[];
        inactive: Record<string, string>;
      };
      assert.deepEqual(startup.active, [
        `CRI ${ctd.socket}: containerd 1.6.20~ds1 (CRI v1, polling every 1000 ms)`,
      ]);
      assert.match(startup.inactive[`Engine API ${join(ctd.dir, 'no-docker.sock')}`], /no Engine API socket/);

      const web = await ctd.runPod({
        name: 'web-0',
        namespace: 'shop',
        container: 'web',
        command: ['/bin/nc', '-l', '-p', String(ncPort)],
      });
      const worker = await ctd.runPod({
        name: 'web-1',
        namespace: 'shop',
        container: 'web',
        command: ['/bin/sleep', '600'],
      });
      const of = (id: string) => events.filter((e) => e.containerId === id);
      const proc = (id: string, exe: string) =>
        of(id).find((e) => e.type === 'process.start' && e.executable === exe);
      await until(
        'start, nc, its listener and the second pod',
        () =>
          of(web.containerId).some((e) => e.type === 'container.start') &&
          proc(web.containerId, '/bin/nc') &&
          of(web.containerId).some((e) => e.type === 'port.listen' && e.listenPort === ncPort) &&
          proc(worker.containerId, '/bin/sleep') &&
          of(worker.containerId).some((e) => e.type === 'container.start'),
        60_000
      );
      await ctd.stopContainer(web.containerId, 1);
      await until(
        'container.stop',
        () => of(web.containerId).some((e) => e.type === 'container.stop'),
        30_000
      );

      const start = of(web.containerId).find((e) => e.type === 'container.start')!;
      assert.equal(start.source, 'runtime');
      assert.equal(start.containerRuntime, 'containerd');
      assert.equal(start.containerName, 'web');
      assert.equal(start.imageName, BUSYBOX_IMAGE);
      assert.match(start.imageDigest ?? '', /^sha256:[0-9a-f]{64}$/);
      assert.equal(start.pod, 'web-0');
      assert.equal(start.namespace, 'shop');
      assert.equal(start.podUid, web.podUid);
      assert.ok(start.pid && start.pid > 1, 'the container init pid');

      const nc = proc(web.containerId, '/bin/nc')!;
      assert.deepEqual(nc.args, ['/bin/nc', '-l', '-p', String(ncPort)]);
      assert.equal(nc.containerRuntime, 'containerd');
      assert.equal(nc.pod, 'web-0');
      assert.equal(nc.namespace, 'shop');
      assert.equal(nc.podUid, web.podUid);
      assert.equal(nc.imageDigest, start.imageDigest);
      assert.equal(nc.user, 'root');

      const listen = of(web.containerId).find((e) => e.type === 'port.listen' && e.listenPort === ncPort)!;
      assert.equal(listen.pid, nc.pid, 'the listener is nc');
      assert.equal(listen.pod, 'web-0');

      const stop = of(web.containerId).find((e) => e.type === 'container.stop')!;
      assert.equal(stop.pod, 'web-0');
      assert.equal(stop.imageDigest, start.imageDigest);
      assert.equal(typeof stop.exitCode, 'number');
      assert.ok(BigInt(stop.timeNs) > BigInt(start.timeNs));

      // Two pods of one image learn into one model, keyed by the image digest (not container:<id>).
      const learned = (id: string, exe: string) =>
        of(id).find((e) => e.type === 'model.learned' && e.executable === exe);
      await until(
        'model.learned for both pods',
        () => learned(web.containerId, '/bin/nc') && learned(worker.containerId, '/bin/sleep'),
        30_000
      );
      assert.equal(learned(web.containerId, '/bin/nc')!.modelId, start.imageDigest);
      assert.equal(learned(worker.containerId, '/bin/sleep')!.modelId, start.imageDigest);
      // The pods' sandboxes are reported too (named POD, with the pause image and the pod).
      const sandbox = await until(
        'sandbox start',
        () => of(web.sandboxId).find((e) => e.type === 'container.start'),
        10_000
      );
      assert.deepEqual(
        [sandbox.containerName, sandbox.imageName, sandbox.pod],
        ['POD', PAUSE_IMAGE, 'web-0']
      );
      // Its pause process execs before containerd knows the sandbox; it still learns into the pause image's model.
      assert.equal(
        (await until('pause learned', () => learned(web.sandboxId, '/bin/sleep'), 10_000)).modelId,
        PAUSE_IMAGE
      );
      assert.deepEqual(
        events.filter((e) => e.modelId?.startsWith('container:')).map((e) => e.modelId),
        [],
        'no per-container models'
      );
      // Runtime-model block actions stop a container through the runtime that runs it: here the CRI.
      const cri = new CriSource(ctd.socket, pino({ level: 'silent' }));
      assert.deepEqual(await cri.available(), { ok: true });
      await cri.start(() => undefined);
      try {
        await containerDirectory().stopContainer(worker.containerId, 1);
        assert.equal((await ctd.cri.containerStatus(worker.containerId)).status?.state, 'CONTAINER_EXITED');
      } finally {
        await cri.stop();
      }
    } catch (err) {
      const summary = events
        .filter((e) => e.containerId || e.type.startsWith('container'))
        .map(
          (e) =>
            `${e.type} ${e.containerId?.slice(0, 12)} ${e.executable ?? ''} ${e.listenPort ?? ''} ${e.pod ?? ''} ${e.modelId ?? ''}`
        );
      (err as Error).message +=
        `\n--- ${events.length} events; container ones:\n${summary.slice(-60).join('\n')}` +
        `\n--- collector log (tail) ---\n${logs.slice(-4000)}` +
        `\n--- containerd log (tail) ---\n${ctd?.log().slice(-3000) ?? ''}`;
      throw err;
    } finally {
      if (collector && collector.exitCode === null) {
        collector.kill('SIGTERM');
        await new Promise<void>((r) => {
          const k = setTimeout(() => (collector!.kill('SIGKILL'), r()), 15_000);
          collector!.once('exit', () => (clearTimeout(k), r()));
        });
      }
      await ctd?.stop();
      rmSync(stateDir, { recursive: true, force: true });
    }
  }
);
