/**
 * A real collector run's parts, shared by the audit corpora (audit-corpus.ts), `npm run
 * bench:audits` and the plugin's browser tests: the collector's CLI as users run it (real eBPF
 * through bpftrace, the Podman Engine API) sending to a Loki (the stand-in, LOKI_URL, or one the
 * caller already runs), an isolated Podman with the busybox image, and host-side peers an attack
 * reaches (an HTTP server handing out a tool, a listener reverse shells call).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nowNs, type CasefileEvent, type EventType } from '@casefile/schema';
import { LokiClient } from '../../server/src/loki/loki-client';
import { startLoki, type Loki } from '../loki/loki-server';
import { setupPodman, type Podman } from '../containers/podman';
import { spawnCollector, until, type CollectorProcess } from '../../collector/test/helpers';

/** Progress on stderr, so a slow step shows where the time went. */
/** Polling with a deadline, for callers outside the collector (the plugin's tests may not import collector/). */
export { until };

export const step = (what: string) => console.error(`# ${new Date().toISOString()} ${what}`);

export interface Harness {
  loki: Loki;
  pm: Podman;
  col: CollectorProcess;
  host: string;
  dir: string;
  /** Host-side HTTP server that hands out a tool (busybox) at /tool. */
  httpPort: number;
  /** Host-side listener reverse shells connect to; it tells each shell to print a marker and exit. */
  shellPort: number;
  /** What the reverse shells sent back. */
  shellOutput: () => string;
  /** This run's events in Loki: of these containers (the host's own are many on a shared machine), or of `types`. */
  read(q: { containers?: string[]; types?: EventType[] }): Promise<CasefileEvent[]>;
  stop(): Promise<void>;
}

const RATE_POLICY = 'rateLimit: { burst: 100000, every: 1s }\n';

export interface HarnessOptions {
  /** A Loki the caller runs (and stops); default: a new one, stopped with the harness. */
  loki?: Loki;
  /** The collector's host name (default `corpus-<pid>`). */
  host?: string;
}

/** Loki, Podman, the collector (eBPF + runtime) with a learning period, and the host-side peers. */
export async function startHarness(learningPeriod: string, opts: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-corpus-'));
  const host = opts.host ?? `corpus-${process.pid}`;
  const closers: (() => Promise<unknown> | void)[] = [];
  try {
    const [loki, pm] = await Promise.all([opts.loki ?? startLoki(), setupPodman()]);
    if (!opts.loki) closers.push(() => loki.stop());
    closers.push(() => pm.cleanup());
    const socket = await pm.startService();
    writeFileSync(join(dir, 'policy.yaml'), RATE_POLICY); // the corpus measures detection, not storm control
    const col = spawnCollector([
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
      learningPeriod,
      '--policy',
      join(dir, 'policy.yaml'),
    ]);
    closers.unshift(async () => {
      if (col.child.exitCode !== null) return;
      col.child.kill('SIGTERM');
      await Promise.race([col.exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (col.child.exitCode === null) col.child.kill('SIGKILL');
    });
    const addr = await until('collector serving', () => col.address, 60_000);
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
    const tool = readFileSync('/bin/busybox');
    const http: HttpServer = createHttpServer((req, res) => {
      if (req.url === '/tool') res.end(tool);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => http.close(r)));
    let shellOut = '';
    const shells: Server = createServer((s: Socket) => {
      s.on('data', (d) => (shellOut += d.toString('latin1')));
      s.on('error', () => undefined);
      s.write('echo cf-shell-$$; exit\n');
      setTimeout(() => s.destroy(), 3000).unref();
    });
    await new Promise<void>((r) => shells.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => shells.close(r)));
    const client = new LokiClient({ url: loki.url });
    const t0 = BigInt(nowNs()) - 5_000_000_000n;
    return {
      loki,
      pm,
      col,
      host,
      dir,
      httpPort: (http.address() as { port: number }).port,
      shellPort: (shells.address() as { port: number }).port,
      shellOutput: () => shellOut,
      async read(q) {
        const window = { fromNs: t0.toString(), toNs: (BigInt(nowNs()) + 60_000_000_000n).toString() };
        const parts = await Promise.all(
          q.containers
            ? q.containers.map((containerId) => client.readAll({ scope: { host, containerId } }, window))
            : [client.readAll({ scope: { host }, types: q.types }, window)]
        );
        return parts.flat();
      },
      async stop() {
        for (const c of closers) await Promise.resolve(c()).catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const c of closers) await Promise.resolve(c()).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
