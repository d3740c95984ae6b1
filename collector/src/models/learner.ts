/**
 * The learner: the runtime models (one per image, one per host), what each
 * learns during its learning period, the admin commands (reset, extend) and
 * their persistence in the state directory (changed models written within
 * the stage's tick; a write that fails is retried on the next one).
 */
import { hostname } from 'node:os';
import { makeEvent, nsToMs, type CasefileEvent } from '@casefile/schema';
import type { Logger } from 'pino';
import { scopeFields } from './event-scope';
import { RuntimeModel, type BehaviorKind } from './model';
import type { StateReporter } from './state-reporter';
import { loadModels, saveModel, takeCommands, type ModelCommand } from './store';

/** Counters of the learner, for /metrics. */
export interface LearnerStats {
  models: { learning: number; active: number };
  learned: Record<BehaviorKind, number>;
  commands: Record<ModelCommand['op'], number>;
  /** Model files that could not be read (skipped and relearned), writes that failed, commands that could not be read (dropped). */
  persistErrors: { load: number; save: number; command: number };
}

export class Learner {
  /** Model id -> model. */
  readonly models = new Map<string, RuntimeModel>();
  /** Models changed since they were last written. */
  private readonly dirty = new Set<string>();
  private readonly learned: Record<BehaviorKind, number> = { process: 0, listen: 0, connect: 0 };
  private readonly commands: Record<ModelCommand['op'], number> = { reset: 0, extend: 0 };
  private readonly persistErrors = { load: 0, save: 0, command: 0 };
  private readonly host = hostname();
  private hostId = { host: '', id: '' };

  /**
   * Loads the models of `stateDir`.
   * @param learningMs learning period of a new, reset or extended model.
   */
  constructor(
    private readonly stateDir: string,
    private readonly learningMs: number,
    private readonly reporter: StateReporter,
    private readonly logger: Logger
  ) {
    const onCorrupt = (file: string, err: Error) => {
      this.persistErrors.load++;
      logger.warn(
        { file, error: err.message },
        'runtime model file unreadable: skipped, the model is learned again'
      );
    };
    for (const m of loadModels(stateDir, onCorrupt)) this.models.set(m.id, m);
  }

  /** The model an event counts for: its image's (digest, else name, else the container), or its host's. */
  modelFor(e: CasefileEvent, nowMs: number): RuntimeModel {
    const id = e.containerId
      ? (e.imageDigest ?? e.imageName ?? `container:${e.containerId}`)
      : this.hostModelId(e.host ?? this.host);
    let m = this.models.get(id);
    if (!m) {
      m = RuntimeModel.create(id, e.containerId ? 'image' : 'host', nowMs, this.learningMs);
      this.models.set(id, m);
      this.dirty.add(id);
      this.reporter.markDue(id, 'created');
    }
    return m;
  }

  /**
   * Learn `key` if `m` was learning when `e` happened (judged at that time: a
   * burst that began in the learning period is learned even when processed
   * after it) and emit model.learned; false when the model was active.
   */
  learn(
    m: RuntimeModel,
    e: CasefileEvent,
    kind: BehaviorKind,
    key: string,
    nowMs: number,
    emit: (e: CasefileEvent) => void
  ): boolean {
    const at = Math.min(nowMs, nsToMs(e.timeNs));
    if (m.state(at) !== 'learning') return false;
    m.learn(kind, key, at);
    this.dirty.add(m.id);
    this.reporter.learned(m.id);
    this.learned[kind]++;
    emit(
      makeEvent({
        ...scopeFields(e),
        type: 'model.learned',
        timeNs: e.timeNs,
        message: `Model ${m.id} learned ${kind} ${key} at ${new Date(nsToMs(e.timeNs)).toISOString()}`,
        modelId: m.id,
        modelState: 'learning',
        behaviorKind: kind,
        behavior: key,
        pid: e.pid,
        processKey: e.processKey,
        executable: e.executable,
        parentExecutable: e.parentExecutable,
        processEntry: e.processEntry,
      })
    );
    return true;
  }

  /** Reset or extend a model (`*`: all); its model.state says so. */
  apply(c: ModelCommand, nowMs: number): void {
    const targets =
      c.model === '*'
        ? [...this.models.values()]
        : [this.models.get(c.model)].filter((m): m is RuntimeModel => !!m);
    if (targets.length === 0) this.logger.warn({ command: c }, 'model command for an unknown model ignored');
    for (const m of targets) {
      if (c.op === 'reset') m.reset(nowMs, this.learningMs);
      else m.extend(nowMs, c.durationMs ?? this.learningMs);
      this.dirty.add(m.id);
      this.reporter.markDue(m.id, c.op === 'reset' ? 'reset' : 'extended');
      this.commands[c.op]++;
      this.logger.info({ model: m.id, op: c.op }, 'runtime model command applied');
    }
  }

  /** Apply the commands queued in the state directory, then write the changed models. */
  sync(nowMs: number): void {
    const onBad = (file: string, err: Error) => {
      this.persistErrors.command++;
      this.logger.warn({ file, error: err.message }, 'model command unreadable: dropped');
    };
    for (const c of takeCommands(this.stateDir, onBad)) this.apply(c, nowMs);
    for (const id of this.dirty) {
      const m = this.models.get(id);
      if (m) {
        try {
          saveModel(this.stateDir, m.toDocument(nowMs));
        } catch (err) {
          this.persistErrors.save++;
          this.logger.error({ err, model: id }, 'cannot persist runtime model');
          continue;
        }
      }
      this.dirty.delete(id);
    }
  }

  stats(nowMs: number): LearnerStats {
    const models = { learning: 0, active: 0 };
    for (const m of this.models.values()) models[m.state(nowMs)]++;
    return {
      models,
      learned: { ...this.learned },
      commands: { ...this.commands },
      persistErrors: { ...this.persistErrors },
    };
  }

  /** `host:<name>`, built once per host rather than per event. */
  private hostModelId(host: string): string {
    if (this.hostId.host !== host) this.hostId = { host, id: `host:${host}` };
    return this.hostId.id;
  }
}
