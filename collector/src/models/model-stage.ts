/**
 * The runtime-models stage: learns a model per image (per host for host
 * processes), audits deviations, drift and known-bad activity, applies the
 * policy's action, and emits model.learned / model.state / runtime.audit /
 * runtime.action events next to the events it passes through.
 *
 * Everything happens inside process() (synchronous, as the pipeline requires);
 * a 1 s timer only persists changed models and picks up admin commands.
 */
import { hostname } from 'node:os';
import { makeEvent, nsToMs, SCOPE_FIELDS, type CasefileEvent, type NewEvent } from '@casefile/schema';
import type { Logger } from 'pino';
import type { Stage } from '../pipeline/types';
import {
  detectConnect,
  detectExec,
  detectSyscall,
  ScanTracker,
  type ContainerInfo,
  type Finding,
} from '../audit/detectors';
import { AuditRateLimiter } from '../audit/rate-limit';
import { RULES, type RuleSpec } from '../audit/rules';
import { volumeMounts } from '../audit/proc-checks';
import { loadPolicy, type Policy, type ScopeOf } from '../policy/policy';
import type { RuntimeActions } from './actions';
import { connectBehavior, listenBehavior, processBehavior, RuntimeModel, type BehaviorKind } from './model';
import { loadModels, saveModel, takeCommands, type ModelCommand } from './store';

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

type Emit = (e: CasefileEvent) => void;

export class ModelStage implements Stage {
  readonly name = 'models';
  private readonly models = new Map<string, RuntimeModel>();
  private readonly containers = new Map<string, ContainerInfo>();
  private readonly dirty = new Set<string>();
  /** Models that learned something since their last model.state (emitted at most every STATE_MIN_GAP_MS). */
  private readonly changed = new Set<string>();
  /** Models whose model.state is due (changed, transitioned, or interval). */
  private readonly stateDue = new Map<string, string>();
  private readonly lastState = new Map<string, { ms: number; state: string }>();
  private readonly limiter: AuditRateLimiter;
  private readonly scans = new ScanTracker();
  private readonly policy: Policy;
  private readonly learningMs: number;
  private readonly stateIntervalMs: number;
  private readonly now: () => number;
  private readonly host = hostname();
  private readonly timer: NodeJS.Timeout;
  /** processKey (or pid) -> executable, to name the actors of events that arrive without one. */
  private readonly exes = new Map<string, string>();
  /** Process keys of the container runtime's own processes (runc init and its children): never modelled or audited. */
  private readonly runtimeKeys = new Set<string>();
  /** Container events that arrived before the container's image was known, by container id. */
  private readonly waiting = new Map<string, { sinceMs: number; events: CasefileEvent[] }>();
  /** Containers whose image never became known (no runtime API): their events are evaluated at once. */
  private readonly imageless = new Set<string>();
  /** The pipeline's emit (stable: composed once), for events evaluated after a wait. */
  private lastEmit?: Emit;
  private nextCheckMs = 0;
  private deferred: NewEvent[] = [];
  readonly counters = { audits: 0, suppressed: 0, actions: 0, actionErrors: 0, learned: 0 };

  constructor(
    private readonly config: ModelStageConfig,
    private readonly logger: Logger,
    private readonly actions: RuntimeActions,
    opts: ModelStageOptions = {}
  ) {
    this.now = opts.now ?? Date.now;
    this.learningMs = config.models.learningPeriodMs;
    this.stateIntervalMs = config.models.stateIntervalMs ?? 600_000;
    this.policy = opts.policy ?? loadPolicy(config.models.policyFile);
    this.limiter = new AuditRateLimiter(this.policy.rateLimit.burst, this.policy.rateLimit.everyMs);
    for (const m of loadModels(config.stateDir)) this.models.set(m.id, m);
    for (const id of ids(config.models.reset)) this.apply({ op: 'reset', model: id });
    for (const id of ids(config.models.extend)) this.apply({ op: 'extend', model: id });
    this.tick();
    this.timer = setInterval(() => this.tick(), 250);
    this.timer.unref();
    logger.info(
      {
        models: this.models.size,
        learningPeriodMs: this.learningMs,
        policy: config.models.policyFile ?? null,
      },
      'runtime models loaded'
    );
  }

  /** Persist changed models, apply queued admin commands, evaluate events that waited too long for their image. */
  private tick(): void {
    const now = this.now();
    for (const [id, w] of this.waiting) {
      if (now - w.sinceMs >= IMAGE_WAIT_MS && this.lastEmit) this.release(id, undefined, now, this.lastEmit);
    }
    for (const c of takeCommands(this.config.stateDir)) this.apply(c);
    for (const id of this.dirty) {
      const m = this.models.get(id);
      if (m) {
        try {
          saveModel(this.config.stateDir, m.toDocument(this.now()));
        } catch (err) {
          this.logger.error({ err, model: id }, 'cannot persist runtime model');
          continue;
        }
      }
      this.dirty.delete(id);
    }
  }

  private apply(c: ModelCommand): void {
    const now = this.now();
    const targets =
      c.model === '*'
        ? [...this.models.values()]
        : [this.models.get(c.model)].filter((m): m is RuntimeModel => !!m);
    if (targets.length === 0) this.logger.warn({ command: c }, 'model command for an unknown model ignored');
    for (const m of targets) {
      if (c.op === 'reset') m.reset(now, this.learningMs);
      else m.extend(now, c.durationMs ?? this.learningMs);
      this.dirty.add(m.id);
      this.stateDue.set(m.id, c.op === 'reset' ? 'reset' : 'extended');
      this.logger.info({ model: m.id, op: c.op }, 'runtime model command applied');
    }
  }

  process(e: CasefileEvent, emit: Emit): void {
    emit(e);
    this.lastEmit = emit;
    const now = this.now();
    if (
      e.containerId &&
      (e.imageDigest || e.imageName || e.type === 'container.start') &&
      this.waiting.has(e.containerId)
    ) {
      this.release(e.containerId, e, now, emit);
    }
    if (
      e.containerId &&
      !e.imageDigest &&
      !e.imageName &&
      isEvaluated(e) &&
      !this.imageless.has(e.containerId)
    ) {
      // The enricher learns a new container's image a moment after its first events: wait for it, so they count for the image's model.
      let w = this.waiting.get(e.containerId);
      if (!w) this.waiting.set(e.containerId, (w = { sinceMs: now, events: [] }));
      if (w.events.length < MAX_WAITING_PER_CONTAINER) w.events.push(e);
    } else this.evaluate(e, now, emit);
    if (now >= this.nextCheckMs) this.checkStates(now);
    if (this.stateDue.size > 0 || this.deferred.length > 0) this.flush(now, emit);
  }

  /** Evaluate the events a container's first events waited with, with the scope `informed` now has (or as they are). */
  private release(containerId: string, informed: CasefileEvent | undefined, now: number, emit: Emit): void {
    const w = this.waiting.get(containerId);
    this.waiting.delete(containerId);
    if (!w) return;
    if (!informed) this.remember(this.imageless, containerId);
    const scope = informed ? scopeFields(informed) : {};
    for (const e of w.events)
      this.evaluate(
        {
          ...scope,
          ...e,
          ...pick(scope, ['imageName', 'imageDigest', 'containerName', 'namespace', 'pod', 'podUid']),
        },
        now,
        emit
      );
    if (!informed && (this.stateDue.size > 0 || this.deferred.length > 0)) this.flush(now, emit);
  }

  private evaluate(e: CasefileEvent, now: number, emit: Emit): void {
    switch (e.type) {
      case 'container.start':
        if (e.containerId)
          this.containers.set(e.containerId, {
            startMs: nsToMs(e.timeNs),
            rootPid: e.pid,
            mounts: e.pid ? volumeMounts(e.pid) : undefined,
          });
        break;
      case 'container.stop':
        if (e.containerId) {
          this.containers.delete(e.containerId);
          this.imageless.delete(e.containerId);
        }
        break;
      case 'process.start':
        if (isRuntimeExec(e)) this.remember(this.runtimeKeys, e.processKey ?? String(e.pid));
        else this.onExec(e, now, emit);
        break;
      case 'process.exit':
        this.exes.delete(e.processKey ?? String(e.pid));
        this.runtimeKeys.delete(e.processKey ?? String(e.pid));
        break;
      case 'port.listen':
        if (e.listenPort)
          this.onBehavior(
            e,
            'listen',
            [listenBehavior(e.listenPort, e.transport)],
            [e.listenPort],
            now,
            emit
          );
        break;
      case 'network.connect':
        this.onConnect(e, now, emit);
        break;
      case 'process.syscall': {
        // The runtime sets up namespaces and mounts inside the container (unshare, setuid...): that is not an attack. Nor are our own /proc reads.
        if (
          e.pid === process.pid ||
          RUNTIME_COMM.test(e.processName ?? '') ||
          this.runtimeKeys.has(e.processKey ?? String(e.pid))
        )
          break;
        const exe = e.executable ?? this.exes.get(e.processKey ?? String(e.pid));
        this.raise(exe ? { ...e, executable: exe } : e, detectSyscall(e, !!e.containerId), now, emit);
        break;
      }
    }
  }

  private remember(set: Set<string>, key: string): void {
    if (set.size >= MAX_TRACKED_PROCESSES) set.delete(set.values().next().value!);
    set.add(key);
  }

  private container(e: CasefileEvent, now: number): ContainerInfo | undefined {
    if (!e.containerId) return undefined;
    let c = this.containers.get(e.containerId);
    if (!c) {
      // Started before we saw it: drift is judged from the first time we saw it.
      c = { startMs: now, rootPid: e.pid };
      this.containers.set(e.containerId, c);
    }
    if (c.mounts === undefined && c.rootPid) c.mounts = volumeMounts(c.rootPid) ?? [];
    return c;
  }

  private onExec(e: CasefileEvent, now: number, emit: Emit): void {
    const c = this.container(e, now);
    const exe = e.executable ?? '';
    if (this.exes.size >= MAX_TRACKED_PROCESSES) this.exes.delete(this.exes.keys().next().value!);
    this.exes.set(e.processKey ?? String(e.pid), exe);
    this.onBehavior(e, 'process', [processBehavior(exe)], [exe], now, emit);
    this.raise(e, detectExec(e, c), now, emit);
  }

  private onConnect(e: CasefileEvent, now: number, emit: Emit): void {
    if (!e.destAddress || e.destPort === undefined) return;
    const keys = [connectBehavior(e.destAddress, e.destPort, e.destDomain)];
    if (e.destDomain) keys.push(connectBehavior(e.destAddress, e.destPort));
    this.onBehavior(e, 'connect', keys, keys, now, emit);
    const found = detectConnect(e, !!e.containerId);
    // A container scanning one port per process (a loop of `nc -z`) is still one scanner.
    const scanner = e.containerId ?? e.processKey ?? String(e.pid);
    if (this.scans.add(`${scanner}|${e.destAddress}`, e.destPort, now)) {
      found.push({
        rule: 'scanBehaviour',
        detail: `${e.executable ?? e.pid} connected to many ports of ${e.destAddress}`,
      });
    }
    this.raise(e, found, now, emit);
  }

  /** Learn or check one behaviour; `keys[0]` is what is learned, any key known counts as known. */
  private onBehavior(
    e: CasefileEvent,
    kind: BehaviorKind,
    keys: string[],
    policyValues: (string | number)[],
    now: number,
    emit: Emit
  ): void {
    const m = this.modelFor(e, now);
    const pkind = kind === 'process' ? 'process' : kind === 'listen' ? 'port' : 'destination';
    const verdict = this.policy.hasLists ? this.policy.verdict(pkind, policyValues, scopeOf(e)) : undefined;
    if (verdict === 'deny') {
      const rule =
        kind === 'process' ? 'deniedProcess' : kind === 'listen' ? 'deniedPort' : 'deniedDestination';
      this.raise(e, [{ rule, detail: String(keys[0]) }], now, emit, m.id);
      return;
    }
    if (keys.some((k) => m.has(kind, k))) return;
    // Judged at the time it happened: a burst that began in the learning period is learned even when processed after it.
    const at = Math.min(now, nsToMs(e.timeNs));
    if (m.state(at) === 'learning') {
      m.learn(kind, keys[0], at);
      this.dirty.add(m.id);
      this.changed.add(m.id);
      this.counters.learned++;
      emit(
        makeEvent({
          ...scopeFields(e),
          type: 'model.learned',
          timeNs: e.timeNs,
          message: `Model ${m.id} learned ${kind} ${keys[0]} at ${new Date(nsToMs(e.timeNs)).toISOString()}`,
          modelId: m.id,
          modelState: 'learning',
          behaviorKind: kind,
          behavior: keys[0],
          pid: e.pid,
          processKey: e.processKey,
          executable: e.executable,
          parentExecutable: e.parentExecutable,
          processEntry: e.processEntry,
        })
      );
      return;
    }
    if (verdict === 'allow') return;
    const rule =
      kind === 'process' ? 'unexpectedProcess' : kind === 'listen' ? 'unexpectedPort' : 'unexpectedOutbound';
    this.raise(e, [{ rule, detail: `${keys[0]} is not in model ${m.id}` }], now, emit, m.id);
  }

  private modelFor(e: CasefileEvent, now: number): RuntimeModel {
    const id = e.containerId
      ? (e.imageDigest ?? e.imageName ?? `container:${e.containerId}`)
      : `host:${e.host ?? this.host}`;
    let m = this.models.get(id);
    if (!m) {
      m = RuntimeModel.create(id, e.containerId ? 'image' : 'host', now, this.learningMs);
      this.models.set(id, m);
      this.dirty.add(id);
      this.stateDue.set(id, 'created');
    }
    return m;
  }

  /** Turn findings into audits and actions. */
  private raise(e: CasefileEvent, findings: Finding[], now: number, emit: Emit, modelId?: string): void {
    if (findings.length === 0) return;
    const scope = scopeOf(e);
    for (const fd of findings) {
      const rule: RuleSpec = RULES[fd.rule];
      if (!e.containerId && !rule.hosts) continue;
      if (this.policy.disabled(rule, scope)) continue;
      let action = this.policy.actionFor(rule, scope);
      if (action === 'block' && !e.containerId) action = 'prevent'; // a host process has no container to stop
      if ((action === 'prevent' && !e.pid) || (action === 'block' && !e.containerId)) action = 'alert';
      let suppressed = 0;
      if (action === 'alert') {
        const s = this.limiter.take(`${e.containerId ?? e.host ?? this.host}|${rule.attackType}`, now);
        if (s === undefined) {
          this.counters.suppressed++;
          continue;
        }
        suppressed = s;
      }
      this.counters.audits++;
      const where =
        e.containerName ?? (e.containerId ? e.containerId.slice(0, 12) : `host ${e.host ?? this.host}`);
      const audit = makeEvent({
        ...scopeFields(e),
        type: 'runtime.audit',
        message: `${rule.title}: ${fd.detail} in ${where}${suppressed ? ` (${suppressed} similar suppressed)` : ''}`,
        attackType: rule.attackType,
        severity: rule.severity,
        ruleId: rule.id,
        action,
        mitreTechnique: fd.mitre ?? rule.mitre,
        modelId,
        suppressed: suppressed || undefined,
        pid: e.pid,
        ppid: e.ppid,
        processKey: e.processKey,
        executable: e.executable,
        commandLine: e.commandLine,
        parentProcessKey: e.parentProcessKey,
        parentExecutable: e.parentExecutable,
        processEntry: e.processEntry,
        // The story: the chain of processes up to the container's entry, from the source's process table.
        processAncestry: e.processAncestry,
        uid: e.uid,
        user: e.user,
        listenPort: e.listenPort,
        destAddress: e.destAddress,
        destPort: e.destPort,
        destDomain: e.destDomain,
        filePath: e.filePath,
        syscall: e.syscall,
      });
      emit(audit);
      if (action !== 'alert') emit(this.act(action, audit, e));
    }
  }

  /** Take a prevent/block action; the event says what was done. */
  private act(action: 'prevent' | 'block', audit: CasefileEvent, e: CasefileEvent): CasefileEvent {
    this.counters.actions++;
    let reason: string;
    if (action === 'prevent') {
      try {
        this.actions.killProcess(e.pid!);
        reason = `killed pid ${e.pid}`;
      } catch (err) {
        this.counters.actionErrors++;
        reason = `could not kill pid ${e.pid}: ${(err as Error).message}`;
      }
    } else {
      const id = e.containerId!;
      reason = `stopping container ${id.slice(0, 12)} through the runtime API`;
      this.actions.stopContainer(id).catch((err: Error) => {
        this.counters.actionErrors++;
        this.logger.error({ err, containerId: id }, 'block: cannot stop container');
        this.deferred.push({
          ...scopeFields(e),
          type: 'runtime.action',
          message: `Block failed for ${id.slice(0, 12)}: ${err.message}`,
          action,
          auditId: audit.id,
          ruleId: audit.ruleId,
          reason: `stop failed: ${err.message}`,
        });
      });
    }
    return makeEvent({
      ...scopeFields(e),
      type: 'runtime.action',
      message: `${action === 'prevent' ? 'Prevent' : 'Block'} (${audit.ruleId} ${audit.attackType}): ${reason}`,
      action,
      auditId: audit.id,
      ruleId: audit.ruleId,
      pid: e.pid,
      processKey: e.processKey,
      executable: e.executable,
      reason,
    });
  }

  /** Mark models whose state changed (learning -> active) or whose interval passed. */
  private checkStates(now: number): void {
    this.nextCheckMs = now + 1000;
    for (const m of this.models.values()) {
      const last = this.lastState.get(m.id);
      const st = m.state(now);
      if (!last) this.stateDue.set(m.id, this.stateDue.get(m.id) ?? 'loaded');
      else if (last.state !== st)
        this.stateDue.set(m.id, st === 'active' ? 'learning period ended' : 'learning');
      else if (this.changed.has(m.id) && now - last.ms >= STATE_MIN_GAP_MS)
        this.stateDue.set(m.id, 'learned');
      else if (now - last.ms >= this.stateIntervalMs) this.stateDue.set(m.id, 'interval');
    }
  }

  private flush(now: number, emit: Emit): void {
    for (const [id, reason] of this.stateDue) {
      const m = this.models.get(id);
      if (!m) continue;
      const doc = m.toDocument(now);
      this.lastState.set(id, { ms: now, state: doc.state });
      this.changed.delete(id);
      emit(
        makeEvent({
          type: 'model.state',
          message: `Model ${id} is ${doc.state} with ${m.size()} behaviours (${reason})`,
          modelId: id,
          modelState: doc.state,
          model: JSON.stringify(doc),
          reason,
        })
      );
    }
    this.stateDue.clear();
    const d = this.deferred;
    this.deferred = [];
    for (const ev of d) emit(makeEvent(ev));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    const now = this.now();
    if (this.lastEmit)
      for (const id of [...this.waiting.keys()]) this.release(id, undefined, now, this.lastEmit);
    this.tick();
  }
}

/** A learning model's state is re-emitted at most this often (its whole document each time). */
const STATE_MIN_GAP_MS = 5_000;
/** Processes remembered for parent names (oldest forgotten first). */
const MAX_TRACKED_PROCESSES = 65_536;
/** How long a new container's events wait for the enricher to learn its image (then its model falls back to the container id). */
const IMAGE_WAIT_MS = 5_000;
const MAX_WAITING_PER_CONTAINER = 1_000;
/** comm of the runtime's own tasks while it sets a container up. */
const RUNTIME_COMM = /^(runc|crun|conmon|runc:\[\d:[A-Z]+\])$/;

/** Events the stage evaluates (the rest only pass through). */
function isEvaluated(e: CasefileEvent): boolean {
  return (
    e.type === 'process.start' ||
    e.type === 'port.listen' ||
    e.type === 'network.connect' ||
    e.type === 'process.syscall'
  );
}

/** runc/crun re-executing itself (`runc init`, often from a memfd) to start a container process. */
function isRuntimeExec(e: CasefileEvent): boolean {
  const a0 = e.args?.[0] ?? '';
  const base = a0.slice(a0.lastIndexOf('/') + 1);
  return (base === 'runc' || base === 'crun') && e.args?.[1] === 'init';
}

function pick(o: Partial<CasefileEvent>, keys: (keyof CasefileEvent)[]): Partial<CasefileEvent> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out as Partial<CasefileEvent>;
}

function ids(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function scopeOf(e: CasefileEvent): ScopeOf {
  return {
    imageName: e.imageName,
    imageDigest: e.imageDigest,
    containerName: e.containerName,
    namespace: e.namespace,
    host: e.host,
  };
}

function scopeFields(e: CasefileEvent): Partial<CasefileEvent> {
  const out: Record<string, unknown> = {};
  for (const f of SCOPE_FIELDS) if (e[f] !== undefined) out[f] = e[f];
  return out as Partial<CasefileEvent>;
}
