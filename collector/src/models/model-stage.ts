/**
 * The runtime-models stage: learns a model per image (per host for host
 * processes), audits deviations, drift and known-bad activity, applies the
 * policy's action, and emits model.learned / model.state / runtime.audit /
 * runtime.action events next to the events it passes through.
 *
 * It composes the parts, each in its own file:
 *   image-wait.ts      a new container's first events wait for its image
 *   process-table.ts   processes: executable, runtime's own, gone from /proc
 *   container-table.ts containers: start time, a live pid, volume mounts
 *   learner.ts         the models, learning, admin commands, persistence
 *   auditor.ts         findings -> audits, by policy and rate limit
 *   actions.ts         prevent and block, and their runtime.action events
 *   state-reporter.ts  model.state events
 * Everything happens inside process() (synchronous, as the pipeline requires);
 * a 250 ms timer ends image waits, applies admin commands and persists.
 */
import { type CasefileEvent } from '@casefile/schema';
import type { Logger } from 'pino';
import type { Stage } from '../pipeline/types';
import { detectConnect, detectExec, detectSyscall, ScanTracker } from '../audit/detectors';
import { loadPolicy, type Policy } from '../policy/policy';
import { ActionTaker, type ActionStats, type RuntimeActions } from './actions';
import { Auditor, type AuditorStats } from './auditor';
import { ContainerTable } from './container-table';
import { ImageWait, type ImageWaitStats } from './image-wait';
import { Learner, type LearnerStats } from './learner';
import {
  connectBehavior,
  listenBehavior,
  processBehavior,
  type BehaviorKind,
  type RuntimeModel,
} from './model';
import { ProcessTable, type ProcessTableStats } from './process-table';
import { StateReporter } from './state-reporter';

/** The part of the collector's config this stage reads. */
export interface ModelStageConfig {
  stateDir: string;
  models: {
    /** Learning period of a new, reset or extended model (default 1 h). */
    learningPeriodMs: number;
    /** Policy YAML; none = alert on every rule. */
    policyFile?: string;
    /** model.state is re-emitted at least this often per model (default 10 min). */
    stateIntervalMs?: number;
    /** Model ids to reset at start-up, comma-separated (`*` = all). */
    reset?: string;
    /** Model ids to extend (learn again for a learning period) at start-up, comma-separated (`*` = all). */
    extend?: string;
  };
}

export interface ModelStageOptions {
  /** Clock (ms); tests and benchmarks drive it. Default Date.now. */
  now?: () => number;
  /** Policy object instead of config.models.policyFile. */
  policy?: Policy;
}

/** Every counter of the stage, for /metrics. */
export interface ModelStageStats extends LearnerStats {
  auditor: AuditorStats;
  actions: ActionStats;
  imageWait: ImageWaitStats;
  processes: ProcessTableStats;
  containers: number;
  stateEvents: number;
}

type Emit = (e: CasefileEvent) => void;

/** comm of the runtime's own tasks while it sets a container up. */
const RUNTIME_COMM = /^(runc|crun|conmon|runc:\[\d:[A-Z]+\])$/;

export class ModelStage implements Stage {
  readonly name = 'models';
  private readonly now: () => number;
  private readonly reporter: StateReporter;
  private readonly learner: Learner;
  private readonly actionTaker: ActionTaker;
  private readonly auditor: Auditor;
  private readonly imageWait = new ImageWait();
  private readonly processes = new ProcessTable();
  private readonly containers = new ContainerTable();
  private readonly scans = new ScanTracker();
  private readonly timer: NodeJS.Timeout;
  /** The pipeline's emit (stable: composed once), for events evaluated after a wait. */
  private lastEmit?: Emit;

  constructor(
    config: ModelStageConfig,
    logger: Logger,
    actions: RuntimeActions,
    opts: ModelStageOptions = {}
  ) {
    this.now = opts.now ?? Date.now;
    const policy = opts.policy ?? loadPolicy(config.models.policyFile);
    this.reporter = new StateReporter(config.models.stateIntervalMs ?? 600_000);
    this.learner = new Learner(config.stateDir, config.models.learningPeriodMs, this.reporter, logger);
    this.actionTaker = new ActionTaker(actions, logger);
    this.auditor = new Auditor(policy, this.actionTaker);
    for (const id of ids(config.models.reset)) this.learner.apply({ op: 'reset', model: id }, this.now());
    for (const id of ids(config.models.extend)) this.learner.apply({ op: 'extend', model: id }, this.now());
    this.tick();
    this.timer = setInterval(() => this.tick(), 250);
    this.timer.unref();
    logger.info(
      {
        models: this.learner.models.size,
        learningPeriodMs: config.models.learningPeriodMs,
        policy: config.models.policyFile ?? null,
      },
      'runtime models loaded'
    );
  }

  process(e: CasefileEvent, emit: Emit): void {
    emit(e);
    this.lastEmit = emit;
    const now = this.now();
    const waited = this.imageWait.release(e);
    if (waited) for (const w of waited) this.evaluate(w, now, emit);
    if (!this.imageWait.hold(e, now)) this.evaluate(e, now, emit);
    this.report(now, emit);
  }

  /** Every counter of the stage, for /metrics. */
  stats(): ModelStageStats {
    return {
      ...this.learner.stats(this.now()),
      auditor: this.auditor.stats(),
      actions: this.actionTaker.stats(),
      imageWait: this.imageWait.stats(),
      processes: this.processes.stats(),
      containers: this.containers.size,
      stateEvents: this.reporter.stats().emitted,
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.endWaits(this.now(), true);
    this.learner.sync(this.now());
  }

  /** End image waits that ran out, apply admin commands, persist changed models. */
  private tick(): void {
    this.endWaits(this.now(), false);
    this.learner.sync(this.now());
  }

  /** Evaluate the events that waited for an image that did not come (all of them when `all`). */
  private endWaits(now: number, all: boolean): void {
    const emit = this.lastEmit;
    if (!emit) return;
    const expired = this.imageWait.expire(now, all);
    for (const e of expired) this.evaluate(e, now, emit);
    if (expired.length > 0) this.report(now, emit);
  }

  private report(now: number, emit: Emit): void {
    this.reporter.report(this.learner.models, now, emit);
    this.actionTaker.drain(emit);
  }

  private evaluate(e: CasefileEvent, now: number, emit: Emit): void {
    switch (e.type) {
      case 'container.start':
        this.containers.start(e);
        break;
      case 'container.stop':
        if (e.containerId) {
          this.containers.stop(e.containerId);
          this.imageWait.forget(e.containerId);
        }
        break;
      case 'process.start':
        if (isRuntimeExec(e)) this.processes.exec(e, true);
        else this.onExec(e, now, emit);
        break;
      case 'process.exit':
        this.processes.exit(e);
        break;
      case 'port.listen':
        if (e.listenPort) this.onListen(e, e.listenPort, now, emit);
        break;
      case 'network.connect':
        if (e.destAddress && e.destPort !== undefined)
          this.onConnect(e, e.destAddress, e.destPort, now, emit);
        break;
      case 'process.syscall':
        this.onSyscall(e, now, emit);
        break;
    }
  }

  private onExec(e: CasefileEvent, now: number, emit: Emit): void {
    const c = this.containers.of(e, now);
    const exe = e.executable ?? '';
    this.processes.exec(e, false);
    const m = this.learner.modelFor(e, now);
    const known = m.hasProcess(processBehavior(exe));
    if (!known || this.auditor.hasLists)
      this.onBehavior(e, m, 'process', known, [processBehavior(exe)], [exe], now, emit);
    this.auditor.raise(e, detectExec(e, c, this.processes.probe), now, emit);
  }

  private onListen(e: CasefileEvent, port: number, now: number, emit: Emit): void {
    const m = this.learner.modelFor(e, now);
    const known = m.hasListen(e.transport ?? 'tcp', port);
    if (!known || this.auditor.hasLists)
      this.onBehavior(e, m, 'listen', known, [listenBehavior(port, e.transport)], [port], now, emit);
  }

  private onConnect(e: CasefileEvent, address: string, port: number, now: number, emit: Emit): void {
    const m = this.learner.modelFor(e, now);
    const known =
      m.hasConnect(e.destDomain || address, port) || (!!e.destDomain && m.hasConnect(address, port));
    if (!known || this.auditor.hasLists) {
      const keys = [connectBehavior(address, port, e.destDomain)];
      if (e.destDomain) keys.push(connectBehavior(address, port));
      this.onBehavior(e, m, 'connect', known, keys, keys, now, emit);
    }
    const found = detectConnect(e, !!e.containerId);
    // A container scanning one port per process (a loop of `nc -z`) is still one scanner.
    if (this.scans.add(e.containerId ?? ProcessTable.key(e), address, port, now)) {
      const detail = `${e.executable ?? e.pid} connected to many ports of ${address}`;
      this.auditor.raise(e, [...found, { rule: 'scanBehaviour', detail }], now, emit);
    } else this.auditor.raise(e, found, now, emit);
  }

  private onSyscall(e: CasefileEvent, now: number, emit: Emit): void {
    // The runtime sets up namespaces and mounts inside the container (unshare, setuid...): that is not an attack. Nor are our own /proc reads.
    if (e.pid === process.pid || RUNTIME_COMM.test(e.processName ?? '')) return;
    const p = this.processes.get(e);
    if (p?.runtime) return;
    const exe = e.executable ?? p?.executable;
    this.auditor.raise(exe ? { ...e, executable: exe } : e, detectSyscall(e, !!e.containerId), now, emit);
  }

  /**
   * A behaviour the model does not know, or any behaviour when the policy has
   * lists: denied (audited even while learning), learned, allowed, or audited
   * as unexpected. `keys[0]` is what is learned.
   */
  private onBehavior(
    e: CasefileEvent,
    m: RuntimeModel,
    kind: BehaviorKind,
    known: boolean,
    keys: string[],
    policyValues: (string | number)[],
    now: number,
    emit: Emit
  ): void {
    const verdict = this.auditor.verdict(kind, policyValues, e);
    if (verdict === 'deny') {
      const rule =
        kind === 'process' ? 'deniedProcess' : kind === 'listen' ? 'deniedPort' : 'deniedDestination';
      this.auditor.raise(e, [{ rule, detail: String(keys[0]) }], now, emit, m.id);
      return;
    }
    if (known || this.learner.learn(m, e, kind, keys[0], now, emit) || verdict === 'allow') return;
    const rule =
      kind === 'process' ? 'unexpectedProcess' : kind === 'listen' ? 'unexpectedPort' : 'unexpectedOutbound';
    this.auditor.raise(e, [{ rule, detail: `${keys[0]} is not in model ${m.id}` }], now, emit, m.id);
  }
}

/** runc/crun re-executing itself (`runc init`, often from a memfd) to start a container process. */
function isRuntimeExec(e: CasefileEvent): boolean {
  if (e.args?.[1] !== 'init') return false;
  const a0 = e.args[0];
  return a0 === 'runc' || a0 === 'crun' || a0.endsWith('/runc') || a0.endsWith('/crun');
}

function ids(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
