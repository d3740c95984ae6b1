/**
 * Pin jobs: a pin of a large window runs in the background while the caller
 * watches its progress. The pin itself is SnapshotService.pin, unchanged in
 * what it stores (pages stream into the store, committed at the end): a cancelled or
 * failed job stores nothing. Jobs are bounded (how many run at once, how many
 * one caller and the server may have waiting) and journalled, so a restart
 * reports a job that was running as failed ("server restarted") — or done,
 * when its snapshot had been stored just before — instead of losing it.
 */
import { randomUUID } from 'node:crypto';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { ApiError, toErrorBody } from '../api/errors';
import type { LokiClient } from '../loki/loki-client';
import type { PinOrigin, PinRequest, SnapshotService } from '../snapshots/snapshot-service';
import type { SnapshotStore } from '../store/store';
import { FINISHED_STATES, type PinJobRecord } from './pin-job';
import { PinJobJournal } from './pin-job-journal';
import { countWindow } from './window-count';

export interface PinJobsOptions {
  /** Jobs reading or storing at once, all callers together. Default 2 (each holds a store connection or staging rows). */
  maxRunning: number;
  /** Queued + running jobs of one caller. Default 3. */
  maxActivePerCaller: number;
  /** Queued + running jobs in all. Default 16. */
  maxActive: number;
  /** Finished jobs kept to be read back. Default 200. */
  keepFinished: number;
  /** How long a finished job is kept, ms. Default 24 h. */
  keepFinishedMs: number;
}

export const PIN_JOB_DEFAULTS: PinJobsOptions = {
  maxRunning: 2,
  maxActivePerCaller: 3,
  maxActive: 16,
  keepFinished: 200,
  keepFinishedMs: 86_400_000,
};

/** How long a cancel waits for the pin to stop before answering with the job as it is. */
export const CANCEL_WAIT_MS = 10_000;

export interface PinJobsDeps {
  snapshots: SnapshotService;
  loki: LokiClient;
  store: SnapshotStore;
  registry: Registry;
  dataDir: string;
  log: Logger;
}

/** Why a job was stopped from outside: the abort reason its pin rejects with. */
class JobStopped extends Error {
  constructor(
    readonly state: 'cancelled' | 'failed',
    readonly error: { error: string; message: string }
  ) {
    super(error.message);
    this.name = 'JobStopped';
  }
}

interface Live {
  abort: AbortController;
  /** Resolves when the job reaches a finished state. */
  finished: Promise<void>;
  settle: () => void;
}

export class PinJobs {
  private readonly opts: PinJobsOptions;
  private readonly journal: PinJobJournal;
  /** Every kept job, oldest first. */
  private readonly jobs = new Map<string, PinJobRecord>();
  private readonly live = new Map<string, Live>();
  private readonly queue: string[] = [];
  private running = 0;
  private closing = false;
  private readonly metrics;

  constructor(
    private readonly deps: PinJobsDeps,
    opts: Partial<PinJobsOptions> = {}
  ) {
    this.opts = { ...PIN_JOB_DEFAULTS, ...opts };
    this.journal = new PinJobJournal(deps.dataDir);
    const registers = [deps.registry];
    const jobs = this.jobs;
    this.metrics = {
      finished: new Counter({
        name: 'casefile_server_pin_jobs_total',
        help: 'Pin jobs finished, by result (done, failed, cancelled); jobs interrupted by a restart count as failed.',
        labelNames: ['result'] as const,
        registers,
      }),
      refused: new Counter({
        name: 'casefile_server_pin_jobs_refused_total',
        help: 'Pin jobs refused with 429, by bound (caller, server).',
        labelNames: ['bound'] as const,
        registers,
      }),
      active: new Gauge({
        name: 'casefile_server_pin_jobs',
        help: 'Pin jobs now queued or running, by state.',
        labelNames: ['state'] as const,
        registers,
        collect() {
          const n = { queued: 0, running: 0 };
          for (const j of jobs.values()) if (j.state === 'queued' || j.state === 'running') n[j.state]++;
          this.set({ state: 'queued' }, n.queued);
          this.set({ state: 'running' }, n.running);
        },
      }),
      duration: new Histogram({
        name: 'casefile_server_pin_job_duration_seconds',
        help: 'Pin jobs from submission to their end, by result.',
        labelNames: ['result'] as const,
        buckets: [0.1, 0.5, 2, 10, 30, 120, 600],
        registers,
      }),
    };
  }

  /**
   * Read the journal: jobs that were queued or running when the server last
   * stopped are done if their snapshot was stored, else failed ("server restarted").
   */
  async recover(): Promise<void> {
    for (const j of this.journal.load()) {
      if (!FINISHED_STATES.includes(j.state)) {
        const stored = await this.deps.store.getSnapshot(j.snapshotId);
        j.state = stored ? 'done' : 'failed';
        delete j.phase;
        j.finishedAtMs = Date.now();
        if (stored) j.eventsRead = stored.eventCount + stored.unreadableCount;
        else
          j.error = {
            error: 'server_restarted',
            message: 'the server restarted before this pin finished; nothing was stored: pin again',
          };
        this.metrics.finished.inc({ result: j.state });
      }
      this.jobs.set(j.id, j);
    }
    this.persist();
  }

  /** Queue a pin; refuses with 429 when the caller or the server has as many jobs as it may. */
  submit(
    request: PinRequest,
    origin: Pick<PinOrigin, 'actor' | 'maxSnapshots'>,
    owner: string
  ): PinJobRecord {
    if (this.closing) throw new ApiError(503, 'unavailable', 'the server is stopping; pin again in a moment');
    const active = [...this.jobs.values()].filter((j) => !FINISHED_STATES.includes(j.state));
    const mine = active.filter((j) => j.owner === owner).length;
    if (mine >= this.opts.maxActivePerCaller) {
      this.metrics.refused.inc({ bound: 'caller' });
      throw new ApiError(
        429,
        'rate_limited',
        `you already have ${mine} pin jobs queued or running (at most ${this.opts.maxActivePerCaller}); wait for one or cancel it`
      );
    }
    if (active.length >= this.opts.maxActive) {
      this.metrics.refused.inc({ bound: 'server' });
      throw new ApiError(
        429,
        'rate_limited',
        `the server has ${active.length} pin jobs queued or running (at most ${this.opts.maxActive}); try again shortly`
      );
    }
    const job: PinJobRecord = {
      id: randomUUID(),
      state: 'queued',
      request,
      origin: { actor: origin.actor, maxSnapshots: origin.maxSnapshots },
      owner,
      createdAtMs: Date.now(),
      eventsRead: 0,
      estimatedTotal: null,
      snapshotId: randomUUID(),
    };
    let settle!: () => void;
    const finished = new Promise<void>((r) => (settle = r));
    this.live.set(job.id, { abort: new AbortController(), finished, settle });
    this.jobs.set(job.id, job);
    this.queue.push(job.id);
    this.persist();
    // Started after the caller has its answer: the 202 does not wait for the pin's first steps.
    setImmediate(() => this.pump());
    return job;
  }

  get(id: string): PinJobRecord | undefined {
    return this.jobs.get(id);
  }

  /** Jobs newest first; `active` keeps only the queued and running ones. */
  list(active: boolean): PinJobRecord[] {
    return [...this.jobs.values()].filter((j) => !active || !FINISHED_STATES.includes(j.state)).reverse();
  }

  /** Resolves with the job once it has finished, or after `ms`, whichever is first. */
  async waitFor(id: string, ms: number): Promise<PinJobRecord | undefined> {
    const live = this.live.get(id);
    if (live && ms > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([live.finished, new Promise((r) => (timer = setTimeout(r, ms)))]);
      clearTimeout(timer);
    }
    return this.jobs.get(id);
  }

  /**
   * Cancel a queued or reading job (its owner, or a token with the admin
   * scope); resolves once it has stopped, with nothing stored, or after
   * CANCEL_WAIT_MS with the job still running (a Loki request in flight is
   * not interrupted: the pin stops at its answer, and stores nothing).
   */
  async cancel(id: string, by: { owner: string; name: string; admin: boolean }): Promise<PinJobRecord> {
    const job = this.jobs.get(id);
    if (!job) throw new ApiError(404, 'not_found', `no pin job ${id}`);
    if (job.owner !== by.owner && !by.admin)
      throw new ApiError(
        403,
        'forbidden',
        `pin job ${id} is not yours; only its owner or an admin token may cancel it`
      );
    if (FINISHED_STATES.includes(job.state))
      throw new ApiError(409, 'not_cancellable', `pin job ${id} has already ended (${job.state})`);
    if (job.phase === 'storing')
      throw new ApiError(
        409,
        'not_cancellable',
        `pin job ${id} has read everything and is committing it; it can no longer be cancelled`
      );
    const stop = new JobStopped('cancelled', {
      error: 'cancelled',
      message: `cancelled by ${by.name}; nothing was stored`,
    });
    if (job.state === 'queued') this.finish(job, 'cancelled', { error: stop.error });
    else {
      this.live.get(id)!.abort.abort(stop);
      await this.waitFor(id, CANCEL_WAIT_MS);
    }
    return job;
  }

  /** Stop taking jobs, stop the running ones (nothing stored) and journal them as failed. */
  async close(): Promise<void> {
    this.closing = true;
    const stop = new JobStopped('failed', {
      error: 'server_stopped',
      message: 'the server stopped before this pin finished; nothing was stored: pin again',
    });
    const waits: Promise<void>[] = [];
    for (const [id, live] of this.live) {
      const job = this.jobs.get(id)!;
      if (job.state === 'queued') this.finish(job, 'failed', { error: stop.error });
      else {
        live.abort.abort(stop);
        waits.push(live.finished);
      }
    }
    await Promise.all(waits);
  }

  private pump(): void {
    while (!this.closing && this.running < this.opts.maxRunning && this.queue.length) {
      const job = this.jobs.get(this.queue.shift()!);
      if (job?.state !== 'queued') continue;
      this.running++;
      void this.run(job).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run(job: PinJobRecord): Promise<void> {
    const { signal } = this.live.get(job.id)!.abort;
    job.state = 'running';
    job.phase = 'reading';
    job.startedAtMs = Date.now();
    this.persist();
    const r = job.request;
    countWindow(this.deps.loki, { scope: r.scope, types: r.types, search: r.search }, r)
      .then((n) => {
        if (n !== undefined) job.estimatedTotal = n;
      })
      .catch((err) =>
        this.deps.log.info({ job: job.id, err: (err as Error).message }, 'pin job: no estimate')
      );
    try {
      const { snapshot, evicted } = await this.deps.snapshots.pin(r, job.origin, {
        signal,
        snapshotId: job.snapshotId,
        onRead: (n) => (job.eventsRead = n),
        onStoring: () => (job.phase = 'storing'),
      });
      job.eventsRead = snapshot.eventCount + snapshot.unreadableCount;
      this.finish(job, 'done', { evicted });
    } catch (err) {
      const stopped = signal.aborted && signal.reason instanceof JobStopped ? signal.reason : undefined;
      if (stopped) this.finish(job, stopped.state, { error: stopped.error });
      else this.finish(job, 'failed', { error: toErrorBody(err).body });
    }
  }

  private finish(
    job: PinJobRecord,
    state: PinJobRecord['state'],
    out: Pick<PinJobRecord, 'error' | 'evicted'>
  ): void {
    job.state = state;
    delete job.phase;
    job.finishedAtMs = Date.now();
    Object.assign(job, out);
    this.metrics.finished.inc({ result: state });
    this.metrics.duration.observe({ result: state }, (job.finishedAtMs - job.createdAtMs) / 1000);
    this.deps.log.info(
      {
        job: job.id,
        state,
        events: job.eventsRead,
        ms: job.finishedAtMs - job.createdAtMs,
        error: job.error,
      },
      'pin job finished'
    );
    const live = this.live.get(job.id);
    this.live.delete(job.id);
    this.persist();
    live?.settle();
  }

  /** Journal every job, after dropping finished ones past their keep (count or age). */
  private persist(): void {
    const now = Date.now();
    const finished = [...this.jobs.values()].filter((j) => FINISHED_STATES.includes(j.state));
    const drop = new Set(finished.slice(0, Math.max(0, finished.length - this.opts.keepFinished)));
    for (const j of finished) if (now - (j.finishedAtMs ?? now) > this.opts.keepFinishedMs) drop.add(j);
    for (const j of drop) this.jobs.delete(j.id);
    this.journal.save([...this.jobs.values()]);
  }
}
