/**
 * The collector's event sources. Adding a source is one file under sources/
 * plus one line in {@link createSources}.
 */
import type { Logger } from 'pino';
import type { CollectorConfig } from '../config';
import type { Source, SourceName } from '../pipeline/types';
import { EbpfSource } from './ebpf';
import { HostSource } from './host';
import { ProcfsSource } from './procfs';
import { RuntimeSource } from './runtime';

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
  const make: { [K in SourceName]?: () => Source } = {
    ebpf: () => ebpf,
    procfs: () => new ProcfsSource(s.procfsIntervalMs, logger.child({ source: 'procfs' }), ebpfActive),
    runtime: () => new RuntimeSource(s.runtimeSocket, logger.child({ source: 'runtime' })),
    host: () => new HostSource(logger.child({ source: 'host' }), s.authLog),
  };
  return [...new Set(s.enabled)].flatMap((n) => make[n]?.() ?? []);
}
