/**
 * The collector's event sources. Adding a source is one file under sources/
 * plus one line in {@link createSources}.
 */
import type { Logger } from 'pino';
import type { CollectorConfig } from '../config';
import type { Availability, Emit, Source, SourceName } from '../pipeline/types';
import { CriSource, DEFAULT_CRI_SOCKETS } from './cri';
import { EbpfSource } from './ebpf';
import { HostSource } from './host';
import { ProcfsSource } from './procfs';
import { RuntimeSource } from './runtime';

/** One container runtime API the `runtime` source may use, named for the start-up line. */
export interface RuntimeCandidate {
  /** e.g. `Engine API /var/run/docker.sock`, `CRI /run/containerd/containerd.sock` */
  label: string;
  source: Source & { describe?(): string };
}

/**
 * The `runtime` source: every container runtime API whose socket exists and
 * answers (Docker/Podman's Engine API, containerd's and CRI-O's CRI), run
 * side by side (each reports the containers it runs). One start-up line says
 * which are active and why the others are not.
 */
export class ContainerRuntimes implements Source {
  readonly name = 'runtime' as const;
  private active: RuntimeCandidate[] = [];
  private readonly inactive = new Map<string, string>();

  constructor(
    private readonly candidates: RuntimeCandidate[],
    private readonly logger: Logger
  ) {}

  async available(): Promise<Availability> {
    this.active = [];
    this.inactive.clear();
    for (const c of this.candidates) {
      const a = await c.source.available();
      if (a.ok) this.active.push(c);
      else this.inactive.set(c.label, a.reason);
    }
    return this.active.length > 0
      ? { ok: true }
      : { ok: false, reason: [...this.inactive.values()].join('; ') };
  }

  async start(emit: Emit): Promise<void> {
    const started: RuntimeCandidate[] = [];
    for (const c of this.active) {
      try {
        await c.source.start(emit);
        started.push(c);
      } catch (err) {
        this.inactive.set(c.label, `failed to start: ${(err as Error).message}`);
      }
    }
    this.active = started;
    this.logger.info(
      {
        active: started.map((c) => (c.source.describe ? `${c.label}: ${c.source.describe()}` : c.label)),
        inactive: Object.fromEntries(this.inactive),
      },
      'container runtimes'
    );
    if (started.length === 0) throw new Error([...this.inactive.values()].join('; '));
  }

  async stop(): Promise<void> {
    for (const c of this.active) await c.source.stop();
  }

  /** Every active runtime's counters, summed by name. */
  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.active)
      for (const [k, v] of Object.entries(c.source.stats?.() ?? {})) out[k] = (out[k] ?? 0) + v;
    return out;
  }
}

/** The CRI sockets to try: the configured one first, then containerd's and CRI-O's defaults. */
export function criSockets(configured?: string): string[] {
  return [...new Set([...(configured ? [configured] : []), ...DEFAULT_CRI_SOCKETS])];
}

/**
 * One Source per name in `config.sources.enabled` built here, in that order
 * (names handled elsewhere, e.g. the pipeline's synthetic source, are skipped). procfs is
 * the fallback: when eBPF is enabled too and can run, procfs reports itself
 * unavailable (the two would report the same processes twice).
 */
export function createSources(config: CollectorConfig, logger: Logger): Source[] {
  const s = config.sources;
  const ebpf = new EbpfSource(logger.child({ source: 'ebpf' }), { bpftrace: s.bpftrace });
  const ebpfActive = async () => s.enabled.includes('ebpf') && (await ebpf.available()).ok;
  const runtimeLog = logger.child({ source: 'runtime' });
  const make: { [K in SourceName]?: () => Source } = {
    ebpf: () => ebpf,
    procfs: () => new ProcfsSource(s.procfsIntervalMs, logger.child({ source: 'procfs' }), ebpfActive),
    runtime: () =>
      new ContainerRuntimes(
        [
          { label: `Engine API ${s.runtimeSocket}`, source: new RuntimeSource(s.runtimeSocket, runtimeLog) },
          ...criSockets(s.criSocket).map((p) => ({
            label: `CRI ${p}`,
            source: new CriSource(p, runtimeLog.child({ api: 'cri' })),
          })),
        ],
        runtimeLog
      ),
    host: () =>
      new HostSource(logger.child({ source: 'host' }), { authLog: s.authLog, stateDir: config.stateDir }),
  };
  return [...new Set(s.enabled)].flatMap((n) => make[n]?.() ?? []);
}
