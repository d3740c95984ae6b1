/**
 * A generator of realistic, already-parsed process.start events, for the tests
 * and the benchmark (hidden flags --synthetic-rate/--synthetic-count/--synthetic-run).
 * Ids are `<run>-<seq>` so a reader can tell exactly which events were lost or
 * repeated. It exercises everything after the parser: validation, stages,
 * redaction, the durable queue and the exporter.
 */
import type { NewEvent } from '@casefile/schema';
import type { Availability, Emit, Source } from './types';

export interface SyntheticOptions {
  /** Events per second; 0 = as fast as the event loop allows. */
  rate: number;
  count: number;
  run: string;
}

const TICK_MS = 10;
const CHUNK = 512;

/** The event with sequence number `seq` of run `run`. */
export function syntheticEvent(run: string, seq: number): NewEvent {
  const pid = 10_000 + (seq % 4_000_000);
  const commandLine = `/usr/bin/curl -sS -o /dev/null --retry 3 https://svc-${seq % 97}.internal:8443/health?probe=${seq}`;
  return {
    id: `${run}-${seq}`,
    type: 'process.start',
    message: `process started: ${commandLine}`,
    pid,
    ppid: 4242,
    uid: 1000,
    processKey: `boot:${pid}:${seq}`,
    parentProcessKey: 'boot:4242:1',
    executable: '/usr/bin/curl',
    processName: 'curl',
    commandLine,
    args: commandLine.split(' '),
    cwd: '/srv/app',
    source: 'synthetic',
  };
}

export class SyntheticSource implements Source {
  readonly name = 'synthetic' as const;
  private emitted = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Resolves when all `count` events were emitted (or the source stopped). */
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(private readonly opts: SyntheticOptions) {
    this.done = new Promise((r) => (this.finish = r));
  }

  async available(): Promise<Availability> {
    return { ok: true };
  }

  async start(emit: Emit): Promise<void> {
    const { rate, count, run } = this.opts;
    const started = Date.now();
    const step = () => {
      if (this.stopped) return;
      const due =
        rate > 0
          ? Math.min(count, Math.floor(((Date.now() - started) * rate) / 1000) + 1)
          : Math.min(count, this.emitted + CHUNK);
      while (this.emitted < due) emit(syntheticEvent(run, this.emitted++));
      if (this.emitted >= count) return this.finish();
      this.timer = rate > 0 ? setTimeout(step, TICK_MS) : (setImmediate(step) as unknown as NodeJS.Timeout);
    };
    step();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.finish();
  }

  stats(): Record<string, number> {
    return { emitted: this.emitted };
  }
}
