/**
 * Runtime policy (YAML, `--policy FILE`): per scope, allow and deny lists and
 * the action each rule takes. Example:
 *
 * ```yaml
 * defaultAction: alert            # alert | prevent | block; alert by default
 * actions: { R1007: prevent }     # per rule id or attack type, everywhere
 * rateLimit: { burst: 5, every: 10s }
 * scopes:
 *   - match: { image: "shop/payments*", namespace: prod }   # image, containerName, namespace, host; globs with *
 *     actions: { reverse_shell: block, unexpected_process: prevent }
 *     allow: { processes: ["/usr/bin/curl"], ports: [9090], destinations: ["*.example.com:443"] }
 *     deny:  { processes: ["*\/nc"], ports: [22], destinations: ["*:6667"] }
 *     disable: [R0001]
 * ```
 * Every scope whose match fits an event applies; later scopes win over earlier
 * ones, scope settings over top-level ones, a rule id over an attack type.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseDuration } from '../config/duration';
import type { RuleSpec } from '../audit/rules';

export type Action = 'alert' | 'prevent' | 'block';
const ACTIONS: readonly Action[] = ['alert', 'prevent', 'block'];

/** What a scope is matched against. */
export interface ScopeOf {
  imageName?: string;
  imageDigest?: string;
  containerName?: string;
  namespace?: string;
  host?: string;
}

interface Lists {
  processes: RegExp[];
  ports: Set<number>;
  destinations: RegExp[];
}

interface CompiledScope {
  match: { image?: RegExp; containerName?: RegExp; namespace?: RegExp; host?: RegExp };
  actions: Map<string, Action>;
  allow: Lists;
  deny: Lists;
  disable: Set<string>;
}

export interface RateLimit {
  /** Audits of one container and attack type let through back to back (default 5). */
  burst: number;
  /** Then one more per this many ms (default 10 s). */
  everyMs: number;
}

/** A compiled policy. The empty policy alerts on every rule and allows/denies nothing. */
export class Policy {
  constructor(
    private readonly defaultAction: Action = 'alert',
    private readonly actions = new Map<string, Action>(),
    private readonly scopes: CompiledScope[] = [],
    readonly rateLimit: RateLimit = { burst: 5, everyMs: 10_000 }
  ) {}

  private applicable(s: ScopeOf): CompiledScope[] {
    return this.scopes.filter((c) => {
      const m = c.match;
      if (m.image && !(m.image.test(s.imageName ?? '') || m.image.test(s.imageDigest ?? ''))) return false;
      if (m.containerName && !m.containerName.test(s.containerName ?? '')) return false;
      if (m.namespace && !m.namespace.test(s.namespace ?? '')) return false;
      if (m.host && !m.host.test(s.host ?? '')) return false;
      return true;
    });
  }

  /** The action for a rule in a scope. */
  actionFor(rule: RuleSpec, s: ScopeOf): Action {
    const scopes = this.applicable(s);
    for (let i = scopes.length - 1; i >= 0; i--) {
      const a = scopes[i].actions.get(rule.id) ?? scopes[i].actions.get(rule.attackType);
      if (a) return a;
    }
    return this.actions.get(rule.id) ?? this.actions.get(rule.attackType) ?? this.defaultAction;
  }

  disabled(rule: RuleSpec, s: ScopeOf): boolean {
    return (
      this.scopes.length > 0 &&
      this.applicable(s).some((c) => c.disable.has(rule.id) || c.disable.has(rule.attackType))
    );
  }

  /** Whether any scope has allow or deny lists (so callers can skip building a scope). */
  get hasLists(): boolean {
    return this.scopes.length > 0;
  }

  /** 'allow', 'deny' or undefined for an executable, a port, or a destination (`host:port`, each form tried). */
  verdict(
    kind: 'process' | 'port' | 'destination',
    values: readonly (string | number)[],
    s: ScopeOf
  ): 'allow' | 'deny' | undefined {
    if (this.scopes.length === 0) return undefined;
    const scopes = this.applicable(s);
    const hit = (l: Lists) =>
      values.some((v) =>
        kind === 'port'
          ? l.ports.has(Number(v))
          : (kind === 'process' ? l.processes : l.destinations).some((r) => r.test(String(v)))
      );
    for (let i = scopes.length - 1; i >= 0; i--) {
      if (hit(scopes[i].deny)) return 'deny';
      if (hit(scopes[i].allow)) return 'allow';
    }
    return undefined;
  }
}

/** `*` matches anything, the rest literally. @example glob('*.example.com').test('a.example.com') // => true */
export function glob(p: string): RegExp {
  return new RegExp(
    '^' +
      p
        .split('*')
        .map((x) => x.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'))
        .join('.*') +
      '$'
  );
}

function action(v: unknown, where: string): Action {
  if (typeof v === 'string' && (ACTIONS as readonly string[]).includes(v)) return v as Action;
  throw new Error(`policy: ${where}: action must be one of ${ACTIONS.join(', ')}, got ${JSON.stringify(v)}`);
}

function actionMap(o: unknown, where: string): Map<string, Action> {
  const m = new Map<string, Action>();
  if (o && typeof o === 'object')
    for (const [k, v] of Object.entries(o)) m.set(k, action(v, `${where}.${k}`));
  return m;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

function lists(o: unknown): Lists {
  const l = (o ?? {}) as Record<string, unknown>;
  return {
    processes: strings(l.processes).map(glob),
    ports: new Set(strings(l.ports).map(Number).filter(Number.isInteger)),
    destinations: strings(l.destinations).map(glob),
  };
}

/** Parse a policy document (YAML text). Throws with the offending key on a bad action. */
export function parsePolicy(text: string): Policy {
  const doc = (parse(text) ?? {}) as Record<string, unknown>;
  const rl = (doc.rateLimit ?? {}) as Record<string, unknown>;
  const scopes = (Array.isArray(doc.scopes) ? doc.scopes : []).map(
    (raw: unknown, i: number): CompiledScope => {
      const s = (raw ?? {}) as Record<string, unknown>;
      const m = (s.match ?? {}) as Record<string, unknown>;
      const g = (k: string) => (typeof m[k] === 'string' ? glob(m[k] as string) : undefined);
      return {
        match: {
          image: g('image'),
          containerName: g('containerName'),
          namespace: g('namespace'),
          host: g('host'),
        },
        actions: actionMap(s.actions, `scopes[${i}].actions`),
        allow: lists(s.allow),
        deny: lists(s.deny),
        disable: new Set(strings(s.disable)),
      };
    }
  );
  return new Policy(
    doc.defaultAction === undefined ? 'alert' : action(doc.defaultAction, 'defaultAction'),
    actionMap(doc.actions, 'actions'),
    scopes,
    {
      burst: typeof rl.burst === 'number' ? rl.burst : 5,
      everyMs: rl.every === undefined ? 10_000 : parseDuration(rl.every as string | number),
    }
  );
}

/** Load `--policy FILE`; no file means the empty policy. */
export function loadPolicy(file?: string): Policy {
  return file ? parsePolicy(readFileSync(file, 'utf8')) : new Policy();
}
