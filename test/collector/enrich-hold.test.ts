/**
 * The enricher's hold (collector/src/enrich/index.ts): events of a container
 * the runtime is being asked about wait for its answer (at most HOLD_MS), so
 * a new container's first events carry its name, image and pod.
 *
 * - On a real node: the collector's CLI with eBPF as its only source and the
 *   Podman Engine API socket for lookups, so the runtime's names can reach
 *   the entrypoint's process.start and its listener only through the hold
 *   (no runtime source fills the directory first).
 * - Bounded: a real Engine API socket that accepts and never answers; the
 *   events come out unnamed after HOLD_MS, in order, counted, and the next
 *   event of that container is not held again.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { makeEvent, type CasefileEvent } from '@casefile/schema';
import { Enricher, HOLD_MS } from '../../collector/src/enrich';
import { until } from '../../collector/test/helpers';
import { freePort } from '../loki/loki-server';
import { podmanUnavailableReason, setupPodman, type Podman } from '../containers/podman';

const CLI = fileURLToPath(new URL('../../collector/bin/casefile-collector.js', import.meta.url));

test(
  "a new container's entrypoint and its listener carry the container's name, image and pod (held until the runtime answered)",
  { timeout: 240_000 },
  async () => {
    assert.equal(process.getuid?.(), 0, 'this test needs root (eBPF and Podman)');
    assert.ok(existsSync('/usr/bin/bpftrace'), 'bpftrace is missing (scripts/setup-machine.sh installs it)');
    assert.equal(podmanUnavailableReason(), null, 'Podman cannot run here');
    let pm: Podman | undefined;
    let collector: ChildProcess | undefined;
    const stateDir = mkdtempSync(join(tmpdir(), 'casefile-hold-'));
    let out = '';
    let logs = '';
    const events = () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as CasefileEvent);
    try {
      pm = await setupPodman();
      const socket = await pm.startService();
      const listenPort = await freePort();
      collector = spawn(
        process.execPath,
        [
          CLI,
          '--stdout',
          '--sources',
          'ebpf',
          '--runtime-socket',
          socket,
          '--state-dir',
          stateDir,
          '--host-name',
          `hold-${process.pid}`,
          '--listen',
          `127.0.0.1:${listenPort}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] }
      );
      collector.stdout!.setEncoding('utf8').on('data', (d) => (out += d));
      collector.stderr!.setEncoding('utf8').on('data', (d) => (logs = (logs + d).slice(-20_000)));
      await until(
        'the eBPF source active',
        async () => {
          if (collector!.exitCode !== null)
            throw new Error(`collector exited ${collector!.exitCode}: ${logs}`);
          const h = (await (await fetch(`http://127.0.0.1:${listenPort}/healthz`)).json()) as {
            sources?: Record<string, string>;
          };
          return h.sources?.ebpf === 'active' || undefined;
        },
        60_000
      );

      const id = await pm.run(['/bin/nc', '-l', '-p', '8080'], {
        name: 'held-web',
        labels: { 'io.kubernetes.pod.name': 'held-0', 'io.kubernetes.pod.namespace': 'shop' },
      });
      const mine = () => events().filter((e) => e.containerId === id);
      const [entry, listen] = await until(
        "the entrypoint's process.start and its listener on stdout",
        () => {
          const evs = mine();
          const nc = evs.find((e) => e.type === 'process.start' && e.executable === '/bin/nc');
          const l = evs.find((e) => e.type === 'port.listen' && e.listenPort === 8080);
          return nc && l ? [nc, l] : undefined;
        },
        60_000
      );
      assert.equal(entry.processEntry, 'container_init', "nc is the container's entrypoint");
      assert.equal(listen.processKey, entry.processKey, 'the listener is the entrypoint');
      for (const e of [entry, listen]) {
        assert.equal(e.containerName, 'held-web', `${e.type} carries the name`);
        assert.equal(e.imageName, 'localhost/casefile-test/busybox:1', `${e.type} carries the image`);
        assert.match(e.imageDigest ?? '', /^sha256:[0-9a-f]{64}$/, `${e.type} carries the digest`);
        assert.equal(e.pod, 'held-0', `${e.type} carries the pod`);
        assert.equal(e.namespace, 'shop');
      }
      const unnamed = mine().filter((e) => e.containerName !== 'held-web');
      assert.deepEqual(
        unnamed.map((e) => `${e.type} ${e.executable ?? ''}`),
        [],
        'scoping by name or by id gives the same events'
      );
      // The hold is visible on /metrics: the runtime was asked, and held events left with its names.
      const metrics = await (await fetch(`http://127.0.0.1:${listenPort}/metrics`)).text();
      const count = (c: string) =>
        Number(new RegExp(`^casefile_enrich_total\\{count="${c}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
      assert.ok(count('container_lookups') >= 1, 'the runtime was asked about the new container');
      assert.ok(count('held_released_named') >= 1, 'held events were released with the names');
      assert.equal(count('held'), count('held_released_named') + count('held_released_unnamed'));
    } catch (err) {
      (err as Error).message += `\n--- collector log (tail) ---\n${logs.slice(-4000)}`;
      throw err;
    } finally {
      if (collector && collector.exitCode === null) {
        collector.kill('SIGTERM');
        await new Promise<void>((r) => {
          const k = setTimeout(() => (collector!.kill('SIGKILL'), r()), 15_000);
          collector!.once('exit', () => (clearTimeout(k), r()));
        });
      }
      await pm?.cleanup();
      rmSync(stateDir, { recursive: true, force: true });
    }
  }
);

test('the hold is bounded: a runtime that never answers holds events at most HOLD_MS, counted, and not again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-hold-sock-'));
  const path = join(dir, 'engine.sock');
  const conns: Socket[] = [];
  let requests = 0;
  // An Engine API socket that takes the request and never says a word.
  const server = createServer((c) => {
    conns.push(c);
    c.once('data', () => requests++);
  });
  await new Promise<void>((r) => server.listen(path, r));
  const enr = new Enricher({ host: { name: 'node-1' }, runtimeSocket: path }, pino({ level: 'silent' }));
  try {
    const cid = 'ab'.repeat(32);
    const out: Array<{ e: CasefileEvent; at: number }> = [];
    const emit = (e: CasefileEvent) => out.push({ e, at: Date.now() });
    const ev = (n: number) =>
      makeEvent({
        type: 'process.start',
        message: `started ${n}`,
        containerId: cid,
        pid: 1_000_000 + n,
        executable: '/bin/true',
      });
    const t0 = Date.now();
    const first = [ev(1), ev(2), ev(3)];
    for (const e of first) enr.process(e, emit);
    assert.equal(out.length, 0, 'held while the runtime is asked');
    await until('the runtime asked', () => requests > 0 || undefined, 5000, 20);
    await until('held events released', () => out.length === 3 || undefined, HOLD_MS + 3000, 20);
    const waited = out[0].at - t0;
    assert.ok(waited >= HOLD_MS - 50 && waited <= HOLD_MS + 500, `released after ${waited} ms`);
    assert.deepEqual(
      out.map((o) => o.e.id),
      first.map((e) => e.id),
      'in arrival order, none lost'
    );
    assert.ok(
      out.every((o) => o.e.containerName === undefined),
      'no name: the runtime said nothing'
    );
    const s = enr.stats();
    assert.equal(s.held, 3, 'every event of the container waited');
    assert.equal(s.held_released_unnamed, 3);
    assert.equal(s.held_released_named, 0);
    assert.equal(s.container_lookups, 1);

    const later = ev(4);
    enr.process(later, emit);
    assert.equal(out.at(-1)?.e.id, later.id, 'a container no runtime knew is not held again');
    assert.equal(enr.stats().container_lookups, 1);
  } finally {
    await enr.stop();
    for (const c of conns) c.destroy();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});
