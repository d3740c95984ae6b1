/**
 * One runtime model: what an image (or a host) normally does. During its
 * learning period every new behaviour is added with the time it was learned;
 * afterwards the model is active and anything outside it is a deviation.
 */

export type BehaviorKind = 'process' | 'listen' | 'connect';
export const BEHAVIOR_KINDS: readonly BehaviorKind[] = ['process', 'listen', 'connect'];
export type ModelState = 'learning' | 'active';

/** The persisted and `model.state` form. */
export interface ModelDocument {
  id: string;
  /** image (by digest or name) or host. */
  scope: 'image' | 'host';
  state: ModelState;
  createdMs: number;
  learningUntilMs: number;
  /** Per kind: behaviour -> time learned (ms since the epoch). */
  behaviors: Record<BehaviorKind, Record<string, number>>;
}

export class RuntimeModel {
  readonly id: string;
  readonly scope: 'image' | 'host';
  readonly createdMs: number;
  learningUntilMs: number;
  private readonly learned: Record<BehaviorKind, Map<string, number>>;
  /**
   * Listen and connect behaviours by name (transport, or host) then port:
   * checking a known one builds no key string (this runs for every event).
   * Most hosts are reached on one port: that port is held as the number, a
   * Set only from the second (one object and one lookup less per check).
   */
  private readonly ports: Record<'listen' | 'connect', Map<string, Ports>> = {
    listen: new Map(),
    connect: new Map(),
  };

  constructor(doc: ModelDocument) {
    this.id = doc.id;
    this.scope = doc.scope;
    this.createdMs = doc.createdMs;
    this.learningUntilMs = doc.learningUntilMs;
    this.learned = {
      process: processEntries(doc.behaviors.process ?? {}),
      listen: new Map(Object.entries(doc.behaviors.listen ?? {})),
      connect: new Map(Object.entries(doc.behaviors.connect ?? {})),
    };
    for (const k of this.learned.listen.keys()) this.index('listen', k);
    for (const k of this.learned.connect.keys()) this.index('connect', k);
  }

  /** A fresh model learning from `nowMs` for `learningMs`. */
  static create(id: string, scope: 'image' | 'host', nowMs: number, learningMs: number): RuntimeModel {
    return new RuntimeModel({
      id,
      scope,
      state: 'learning',
      createdMs: nowMs,
      learningUntilMs: nowMs + learningMs,
      behaviors: { process: {}, listen: {}, connect: {} },
    });
  }

  state(nowMs: number): ModelState {
    return nowMs < this.learningUntilMs ? 'learning' : 'active';
  }

  /** Whether the model knows the executable ({@link processBehavior}). */
  hasProcess(exe: string): boolean {
    return this.learned.process.has(exe);
  }

  /** Whether the model knows a listener ({@link listenBehavior}`(port, transport)`). */
  hasListen(transport: string, port: number): boolean {
    return hasPort(this.ports.listen.get(transport), port);
  }

  /** Whether the model knows a destination ({@link connectBehavior}: `host` is the domain or the address). */
  hasConnect(host: string, port: number): boolean {
    return hasPort(this.ports.connect.get(host), port);
  }

  /** Add a behaviour (a key of {@link processBehavior}, {@link listenBehavior}, {@link connectBehavior}); false when it was already known. */
  learn(kind: BehaviorKind, value: string, nowMs: number): boolean {
    const m = this.learned[kind];
    if (m.has(value)) return false;
    m.set(value, nowMs);
    if (kind !== 'process') this.index(kind, value);
    return true;
  }

  /** Index a `name<sep>port` key (`tcp/8080`, `10.0.0.7:5432`, `[::1]:80` splits at the last `:`). */
  private index(kind: 'listen' | 'connect', key: string): void {
    const at = kind === 'listen' ? key.indexOf('/') : key.lastIndexOf(':');
    const port = Number(key.slice(at + 1));
    if (at < 0 || !Number.isInteger(port)) return; // not a key this version writes: kept, never matched
    const name = key.slice(0, at);
    const names = this.ports[kind];
    const known = names.get(name);
    if (known === undefined) names.set(name, port);
    else if (typeof known === 'number') {
      if (known !== port) names.set(name, new Set([known, port]));
    } else known.add(port);
  }

  size(): number {
    return this.learned.process.size + this.learned.listen.size + this.learned.connect.size;
  }

  /** Learn again for `learningMs` from now, keeping what is known. */
  extend(nowMs: number, learningMs: number): void {
    this.learningUntilMs = Math.max(this.learningUntilMs, nowMs + learningMs);
  }

  /** Forget everything and learn from scratch. */
  reset(nowMs: number, learningMs: number): void {
    for (const k of BEHAVIOR_KINDS) this.learned[k].clear();
    this.ports.listen.clear();
    this.ports.connect.clear();
    this.learningUntilMs = nowMs + learningMs;
  }

  toDocument(nowMs: number): ModelDocument {
    const behaviors = { process: {}, listen: {}, connect: {} } as ModelDocument['behaviors'];
    for (const k of BEHAVIOR_KINDS) behaviors[k] = Object.fromEntries(this.learned[k]);
    return {
      id: this.id,
      scope: this.scope,
      state: this.state(nowMs),
      createdMs: this.createdMs,
      learningUntilMs: this.learningUntilMs,
      behaviors,
    };
  }
}

/** The ports a name is known on: one port, or a Set of several. */
type Ports = number | Set<number>;

function hasPort(known: Ports | undefined, port: number): boolean {
  return known === port || (typeof known === 'object' && known.has(port));
}

/**
 * Process behaviours by executable. Models written before lineage was context
 * keyed them `exe <- parent`: those keys become the executable (learned at the
 * earliest of their times).
 */
function processEntries(stored: Record<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, ms] of Object.entries(stored)) {
    const exe = k.split(' <- ')[0];
    out.set(exe, Math.min(ms, out.get(exe) ?? Infinity));
  }
  return out;
}

/**
 * Behaviour keys. A process is its executable alone: how it was started (its
 * parent, a shell, the runtime's exec) is context that event and audit carry,
 * not part of what the image does.
 *
 * @example processBehavior('/bin/sleep') // => '/bin/sleep'
 * @example connectBehavior('10.0.0.5', 443, 'api.example.com') // => 'api.example.com:443'
 */
export function processBehavior(exe: string): string {
  return exe;
}
export function listenBehavior(port: number, transport = 'tcp'): string {
  return `${transport}/${port}`;
}
export function connectBehavior(address: string, port: number, domain?: string): string {
  return `${domain || address}:${port}`;
}
