/**
 * The auditor: turns a detector's or the model's findings into runtime.audit
 * events as the policy says (rule disabled in the scope, which action) within
 * the rate limit per container (or host) and attack type, and has the
 * {@link ActionTaker} act on prevent and block.
 */
import { hostname } from 'node:os';
import { makeEvent, type CasefileEvent } from '@casefile/schema';
import type { Finding } from '../audit/detectors';
import { AuditRateLimiter } from '../audit/rate-limit';
import { RULES, type RuleSpec } from '../audit/rules';
import type { Action, Policy } from '../policy/policy';
import type { ActionTaker } from './actions';
import { scopeFields, scopeOf } from './event-scope';
import type { BehaviorKind } from './model';

/** Counters of the auditor, for /metrics. */
export interface AuditorStats {
  /** runtime.audit events emitted, by action. */
  audits: Record<Action, number>;
  /** Findings the policy disables in their scope. */
  disabled: number;
  /** Audits held back by the rate limit. */
  rateLimited: number;
  /** Held back and not yet reported in a later audit's `suppressed`. */
  rateLimitPending: number;
  /** Held back in rate-limit buckets forgotten since: reported nowhere but here. */
  rateLimitUnreported: number;
}

/** The policy list a behaviour kind is checked against. */
const LIST_OF: Record<BehaviorKind, 'process' | 'port' | 'destination'> = {
  process: 'process',
  listen: 'port',
  connect: 'destination',
};

export class Auditor {
  private readonly limiter: AuditRateLimiter;
  private readonly counts = { audits: { alert: 0, prevent: 0, block: 0 }, disabled: 0, rateLimited: 0 };
  private readonly host = hostname();

  constructor(
    private readonly policy: Policy,
    private readonly actions: ActionTaker
  ) {
    this.limiter = new AuditRateLimiter(policy.rateLimit.burst, policy.rateLimit.everyMs);
  }

  /** Whether the policy has allow or deny lists at all (without, no behaviour needs a {@link verdict}). */
  get hasLists(): boolean {
    return this.policy.hasLists;
  }

  /** The policy's verdict on a behaviour of `e` (an executable, a port, destinations). */
  verdict(
    kind: BehaviorKind,
    values: readonly (string | number)[],
    e: CasefileEvent
  ): 'allow' | 'deny' | undefined {
    return this.policy.hasLists ? this.policy.verdict(LIST_OF[kind], values, scopeOf(e)) : undefined;
  }

  /** Emit an audit per finding the policy and rate limit let through, and the action's event when it acts. */
  raise(
    e: CasefileEvent,
    findings: readonly Finding[],
    nowMs: number,
    emit: (e: CasefileEvent) => void,
    modelId?: string
  ): void {
    if (findings.length === 0) return;
    const scope = scopeOf(e);
    for (const fd of findings) {
      const rule: RuleSpec = RULES[fd.rule];
      if (!e.containerId && !rule.hosts) continue;
      if (this.policy.disabled(rule, scope)) {
        this.counts.disabled++;
        continue;
      }
      let action = this.policy.actionFor(rule, scope);
      if (action === 'block' && !e.containerId) action = 'prevent'; // a host process has no container to stop
      if ((action === 'prevent' && !e.pid) || (action === 'block' && !e.containerId)) action = 'alert';
      let suppressed = 0;
      if (action === 'alert') {
        const s = this.limiter.take(`${e.containerId ?? e.host ?? this.host}|${rule.attackType}`, nowMs);
        if (s === undefined) {
          this.counts.rateLimited++;
          continue;
        }
        suppressed = s;
      }
      this.counts.audits[action]++;
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
      if (action !== 'alert') emit(this.actions.act(action, audit, e));
    }
  }

  stats(): AuditorStats {
    const rl = this.limiter.stats();
    return {
      audits: { ...this.counts.audits },
      disabled: this.counts.disabled,
      rateLimited: this.counts.rateLimited,
      rateLimitPending: rl.pending,
      rateLimitUnreported: rl.unreported,
    };
  }
}
