/**
 * The whole collector (its CLI, as a user runs it) on a real node: eBPF and
 * the Podman Engine API as sources, real Loki as the sink. A container runs
 * `/bin/nc -l -p 8080` and a few commands; Loki must then hold its start with
 * the image, every process with user, command line and container id, the
 * listening port with the time it began, and its stop.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nowNs, nsToMs, type CasefileEvent } from '@casefile/schema';
import { LokiClient } from '../../server/src/loki/loki-client';
import { freePort, startLoki, type Loki } from '../loki/loki-server';
import { podmanUnavailableReason, setupPodman, type Podman } from '../containers/podman';
import { until } from '../../collector/test/helpers';

const CLI = fileURLToPath(new URL('../../collector/bin/casefile-collector.js', import.meta.url));

const skip =
  process.getuid?.() !== 0
    ? 'needs root (eBPF and Podman)'
    : !existsSync('/usr/bin/bpftrace')
      ? 'bpftrace is not installed'
      : (podmanUnavailableReason() ?? undefined);

test(
  'a container running nc and a few commands is in Loki: start with image, processes with user and container, the listener, the stop',
  { skip, timeout: 240_000 },
  async () => {
    let loki: Loki | undefined;
    let pm: Podman | undefined;
    let collector: ChildProcess | undefined;
    const stateDir = mkdtempSync(join(tmpdir(), 'casefile-collector-state-'));
    let logs = '';
    let seen: CasefileEvent[] = [];
    let seenHost: string | undefined;
    try {
      [loki, pm] = await Promise.all([startLoki(), setupPodman()]);
      const socket = await pm.startService();
      const host = (seenHost = `forensics-${process.pid}`);
      const listenPort = await freePort();
      collector = spawn(
        process.execPath,
        [
          CLI,
          '--otlp-endpoint',
          `${loki.url}/otlp`,
          '--state-dir',
          stateDir,
          '--runtime-socket',
          socket,
          '--sources',
          'ebpf,runtime',
          '--host-name',
          host,
          '--listen',
          `127.0.0.1:${listenPort}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] }
      );
      collector.stderr!.on('data', (d) => (logs = (logs + d).slice(-20_000)));
      collector.stdout?.on('data', (d) => (logs = (logs + d).slice(-20_000)));
      await until(
        'collector sources active',
        async () => {
          if (collector!.exitCode !== null)
            throw new Error(`collector exited ${collector!.exitCode}: ${logs}`);
          const r = await fetch(`http://127.0.0.1:${listenPort}/healthz`);
          const h = (await r.json()) as { sources?: Record<string, string> };
          return h.sources?.ebpf === 'active' && h.sources?.runtime === 'active' ? true : undefined;
        },
        60_000
      );

      const fromNs = nowNs();
      const id = await pm.run(['/bin/nc', '-l', '-p', '8080'], {
        name: 'web-forensics',
        labels: { 'io.kubernetes.pod.name': 'web-0', 'io.kubernetes.pod.namespace': 'shop' },
      });
      // Commands by path, so busybox applets exec (MACHINE.md); one as uid 1000 (appuser in the image).
      await pm.exec(id, ['/bin/ls', '/']);
      await pm.exec(id, ['/bin/cat', '/etc/hostname'], { user: '1000' });
      await pm.exec(id, ['/bin/echo', 'quote"d', 'new\nline']);
      // Invalid UTF-8 and an ANSI escape, made by the shell (JS strings cannot carry the byte).
      await pm.exec(id, ['/bin/sh', '-c', `/bin/echo "$(printf 'in\\377v\\033[31m')"`]);
      // The listener began when nc called listen(); record the window it must fall in.
      const listenDeadlineNs = nowNs();
      await pm.stop(id, 1);

      const loki1 = new LokiClient({ url: loki.url });
      const read = () =>
        loki1.readAll(
          { scope: { host, containerId: id } },
          {
            fromNs: (BigInt(fromNs) - 5_000_000_000n).toString(),
            toNs: (BigInt(nowNs()) + 60_000_000_000n).toString(),
          }
        );
      const inContainer = (evs: CasefileEvent[]) => evs.filter((e) => e.containerId === id);
      const proc = (evs: CasefileEvent[], exe: string) =>
        inContainer(evs).find((e) => e.type === 'process.start' && e.executable === exe);
      const events = await until(
        'all container events in Loki',
        async () => {
          const evs = (seen = await read());
          const ok =
            inContainer(evs).some((e) => e.type === 'container.start') &&
            inContainer(evs).some((e) => e.type === 'container.stop') &&
            inContainer(evs).some((e) => e.type === 'port.listen' && e.listenPort === 8080) &&
            ['/bin/nc', '/bin/ls', '/bin/cat', '/bin/echo'].every((x) => proc(evs, x)) &&
            inContainer(evs).filter((e) => e.type === 'process.start' && e.executable === '/bin/echo')
              .length === 2;
          return ok ? evs : undefined;
        },
        45_000
      );

      const start = inContainer(events).find((e) => e.type === 'container.start')!;
      assert.equal(start.containerName, 'web-forensics');
      assert.equal(start.imageName, 'localhost/casefile-test/busybox:1');
      assert.match(start.imageDigest ?? '', /^sha256:[0-9a-f]{64}$/);
      assert.equal(start.pod, 'web-0');
      assert.equal(start.namespace, 'shop');
      assert.equal(start.host, host);

      const nc = proc(events, '/bin/nc')!;
      assert.deepEqual(nc.args, ['/bin/nc', '-l', '-p', '8080']);
      assert.equal(nc.user, 'root');
      assert.equal(nc.containerRuntime, 'podman');
      assert.equal(proc(events, '/bin/ls')!.commandLine, '/bin/ls /');
      assert.equal(proc(events, '/bin/ls')!.user, 'root');
      const cat = proc(events, '/bin/cat')!;
      assert.equal(cat.uid, 1000);
      assert.equal(cat.user, 'appuser', "resolved from the container's /etc/passwd");
      const echoes = inContainer(events).filter(
        (e) => e.type === 'process.start' && e.executable === '/bin/echo'
      );
      assert.ok(
        echoes.some((e) => JSON.stringify(e.args) === JSON.stringify(['/bin/echo', 'quote"d', 'new\nline'])),
        'quotes and newline intact'
      );
      const bad = echoes.find((e) => e.args?.[1]?.startsWith('in'));
      assert.deepEqual(
        bad?.args,
        ['/bin/echo', 'in\\xffv\x1b[31m'],
        'invalid byte escaped visibly, ANSI intact'
      );
      assert.deepEqual(
        [...Buffer.from(JSON.parse(bad!.rawBase64!).commandLine, 'base64')].slice(-8),
        [0x6e, 0xff, 0x76, 0x1b, 0x5b, 0x33, 0x31, 0x6d],
        'original bytes kept'
      );
      for (const p of inContainer(events).filter((e) => e.type === 'process.start')) {
        assert.ok(
          p.processKey && p.commandLine && p.user,
          `process ${JSON.stringify(p)} has key, command line and user`
        );
      }

      const listen = inContainer(events).find((e) => e.type === 'port.listen' && e.listenPort === 8080)!;
      assert.equal(listen.pid, nc.pid, 'the listener belongs to nc');
      assert.equal(listen.processKey, nc.processKey);
      const t = BigInt(listen.timeNs);
      assert.ok(
        t >= BigInt(nc.timeNs) && t <= BigInt(listenDeadlineNs),
        `listening began ${nsToMs(listen.timeNs)} between nc's exec and the end of the commands`
      );

      const stop = inContainer(events).find((e) => e.type === 'container.stop')!;
      assert.equal(stop.exitCode, 137);
      assert.ok(BigInt(stop.timeNs) > BigInt(start.timeNs));
    } catch (err) {
      const summary = seen
        .filter((e) => e.containerId || e.type.startsWith('container'))
        .map((e) => `${e.type} ${e.containerId?.slice(0, 12)} ${e.executable ?? ''} ${e.listenPort ?? ''}`);
      if (loki && seenHost) {
        const all = await new LokiClient({ url: loki.url })
          .readAll(
            { scope: { host: seenHost }, types: ['process.start'] },
            { fromNs: (BigInt(nowNs()) - 300_000_000_000n).toString(), toNs: nowNs() }
          )
          .catch(() => []);
        const mine = all.filter((e) => /^\/bin\/(nc|ls|cat|echo)$/.test(e.executable ?? ''));
        (err as Error).message +=
          `\n--- host-wide container commands: ${JSON.stringify(mine.map((e) => [e.executable, e.containerId?.slice(0, 12), e.pid, e.ppid, e.uid, e.user]))}`;
      }
      (err as Error).message +=
        `\n--- ${seen.length} events in Loki; container ones:\n${summary.join('\n')}\n--- collector log (tail) ---\n${logs.slice(-4000)}`;
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
      await loki?.stop();
      rmSync(stateDir, { recursive: true, force: true });
    }
  }
);
