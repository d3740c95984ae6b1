/**
 * README's "Run it", as a new user on this Linux machine does it: `npm start` with LOKI_URL
 * (the Loki stand-in here) and the Podman socket docs/quickstart.md tells them to give it; then
 * a container they start must show up in Loki, with its processes, and the server must answer
 * with the token it printed. And the zero-dependency way to watch: `npx casefile-collector
 * --stdout` prints the same container's events. Real bpftrace, real Podman, the real bins.
 */
import { equal, ok } from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { nowNs, type CasefileEvent } from '@casefile/schema';
import { setupPodman, type Podman } from '../containers/podman';
import { freePort, startLoki, type Loki } from '../loki/loki-server';
import { readEvents } from '../loki/read';

const ROOT = resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  ms: number
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await f();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** A command the way a user types it, in its own process group so Ctrl-C reaches all of it. */
function user(cmd: string, args: string[], env: Record<string, string>) {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d) => (err = (err + d).slice(-20_000)));
  const exited = new Promise<number | string>((r) => child.once('exit', (c, s) => r(c ?? s ?? '?')));
  return { child, out: () => out, err: () => err, exited };
}

/** Ctrl-C: SIGINT to the whole group; the exit code, or a failure after `ms`. */
async function ctrlC(p: { child: ChildProcess; exited: Promise<number | string> }, ms = 30_000) {
  process.kill(-p.child.pid!, 'SIGINT');
  const code = await Promise.race([p.exited, sleep(ms).then(() => 'still running')]);
  if (code === 'still running') process.kill(-p.child.pid!, 'SIGKILL');
  return code;
}

let loki: Loki;
let pm: Podman;
let socket: string;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'casefile-quickstart-'));
  dirs.push(d);
  return d;
};

before(async () => {
  [loki, pm] = await Promise.all([startLoki(), setupPodman()]);
  socket = await pm.startService();
});
after(async () => {
  await pm?.cleanup();
  await loki?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test(
  'npm start: a new container and its processes reach Loki; the printed token opens the API',
  { timeout: 300_000 },
  async () => {
    const host = `quickstart-${process.pid}`;
    const [serverPort, metricsPort] = [await freePort(), await freePort()];
    const start = user('npm', ['start'], {
      LOKI_URL: loki.url,
      CASEFILE_STATE: tmp(),
      CASEFILE_RUNTIME_SOCKET: socket,
      CASEFILE_HOST_NAME: host,
      CASEFILE_SERVER_PORT: String(serverPort),
      CASEFILE_LISTEN: `127.0.0.1:${metricsPort}`,
    });
    try {
      const token = await until(
        'npm start to print "running" and the token',
        () => {
          if (start.child.exitCode !== null) throw new Error(`npm start exited: ${start.err()}`);
          return /casefile: running[\s\S]*token: (\S+)/.exec(start.out())?.[1];
        },
        180_000
      );
      ok(
        start.out().includes(`casefile: Loki ${loki.version} at ${loki.url}`),
        `names the Loki it found: ${start.out()}`
      );
      await until(
        'the eBPF and runtime sources to be active',
        async () => {
          const h = (await (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).json()) as {
            sources?: Record<string, string>;
          };
          return h.sources?.ebpf === 'active' && h.sources?.runtime === 'active';
        },
        90_000
      );
      const from = BigInt(nowNs()) - 5_000_000_000n;
      const name = `qs-web-${process.pid}`;
      const id = await pm.run(['/bin/sh', '-c', 'echo quickstart-hello; sleep 3'], { name });
      const window = () => ({
        fromNs: from.toString(),
        toNs: (BigInt(nowNs()) + 10_000_000_000n).toString(),
      });
      const events = await until<CasefileEvent[]>(
        'the container start and a process in it, in Loki',
        async () => {
          const evs = await readEvents(loki.url, { scope: { host, containerId: id } }, window());
          const started = evs.some((e) => e.type === 'container.start');
          const proc = evs.some((e) => e.type === 'process.start' && e.containerName === name);
          return started && proc ? evs : undefined;
        },
        60_000
      );
      const cs = events.find((e) => e.type === 'container.start')!;
      equal(cs.containerName, name);
      ok(cs.imageName?.includes('busybox'), `image of the start: ${cs.imageName}`);

      const api = `http://127.0.0.1:${serverPort}/api/v1/snapshots`;
      equal((await fetch(api, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      equal((await fetch(api)).status, 401, 'no token, no answer');
    } finally {
      const code = await ctrlC(start);
      ok(
        code === 0 || code === 130 || code === 'SIGINT',
        `Ctrl-C stops npm start cleanly: ${code}\n${start.err()}`
      );
      // Nothing left behind holding the ports (`npx`/`npm` must pass the signal on).
      for (const url of [`http://127.0.0.1:${serverPort}/healthz`, `http://127.0.0.1:${metricsPort}/healthz`])
        await until(
          `${url} to stop answering`,
          () =>
            fetch(url).then(
              () => false,
              () => true
            ),
          15_000
        );
    }
  }
);

test(
  'npx casefile-collector --stdout: the same container, with no Loki at all',
  { timeout: 180_000 },
  async () => {
    const state = tmp();
    const col = user(
      'npx',
      [
        'casefile-collector',
        '--stdout',
        '--sources',
        'ebpf,runtime',
        '--runtime-socket',
        socket,
        '--state-dir',
        state,
        '--listen',
        '127.0.0.1:0',
      ],
      {}
    );
    try {
      await until(
        'the collector to report its sources',
        () => {
          if (col.child.exitCode !== null) throw new Error(`collector exited: ${col.err()}`);
          return /"msg":"sources"/.test(col.err());
        },
        90_000
      );
      const name = `qs-stdout-${process.pid}`;
      const id = await pm.run(['/bin/sh', '-c', 'echo stdout-hello; sleep 3'], { name });
      const lines = await until(
        'the container start and a process in it on stdout',
        () => {
          const evs = col
            .out()
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as CasefileEvent)
            .filter((e) => e.containerId === id);
          return evs.some((e) => e.type === 'container.start') && evs.some((e) => e.type === 'process.start')
            ? evs
            : undefined;
        },
        60_000
      );
      equal(lines.find((e) => e.type === 'container.start')!.containerName, name);
    } finally {
      // npx itself dies of the SIGINT like any foreground program; the collector must drain and say so.
      const code = await ctrlC(col);
      ok(code === 0 || code === 130 || code === 'SIGINT', `Ctrl-C ends npx: ${code}`);
      ok(/"queued":0,"msg":"stopped"/.test(col.err()), `the collector drained and stopped:\n${col.err()}`);
    }
  }
);
