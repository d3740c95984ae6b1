/**
 * The collector's seams. Data flows
 *   sources -> enrich -> classify + runtime models -> redact -> durable queue -> OTLP export
 * Every source implements {@link Source}; every step between source and queue
 * is a {@link Stage}. Adding a source is one file under sources/ plus one line
 * in sources/index.ts.
 */
import type { CasefileEvent, NewEvent } from '@casefile/schema';

/** Hand an event to the next step. Synchronous: the pipeline must keep up with 50k events/s. */
export type Emit = (e: NewEvent | CasefileEvent) => void;

/** `synthetic` is the test and benchmark generator (hidden --synthetic-* flags), never in --sources. */
export type SourceName = 'ebpf' | 'procfs' | 'runtime' | 'host' | 'synthetic';

export type Availability = { ok: true } | { ok: false; reason: string };

export interface Source {
  readonly name: SourceName;
  /** Whether this source can run here (root, bpftrace, a socket...); the reason is logged at start-up when not. */
  available(): Promise<Availability>;
  /** Start producing events; resolves once running. */
  start(emit: Emit): Promise<void>;
  /** Stop producing; idempotent. */
  stop(): Promise<void>;
  /** Source-specific counters for /metrics (e.g. bpftrace lost events, procfs missed polls). */
  stats?(): Record<string, number>;
  /** Why a started source sees nothing right now (its log file not there yet, its reader down); /healthz is degraded meanwhile. */
  blind?(): string | undefined;
}

/**
 * A step between sources and the queue. It may change the event, drop it (emit
 * nothing), or emit more (a runtime audit after an exec).
 */
export interface Stage {
  readonly name: string;
  process(e: CasefileEvent, emit: (e: CasefileEvent) => void): void;
  stop?(): Promise<void>;
}
