/** Where an event happened (container, image, pod, host), as the events the models stage emits copy it and the policy matches it. */
import { SCOPE_FIELDS, type CasefileEvent } from '@casefile/schema';
import type { ScopeOf } from '../policy/policy';

/** The event's scope fields that are set, to copy onto the events emitted about it. */
export function scopeFields(e: CasefileEvent): Partial<CasefileEvent> {
  const out: Record<string, unknown> = {};
  for (const f of SCOPE_FIELDS) if (e[f] !== undefined) out[f] = e[f];
  return out as Partial<CasefileEvent>;
}

/** What a policy scope is matched against. */
export function scopeOf(e: CasefileEvent): ScopeOf {
  return {
    imageName: e.imageName,
    imageDigest: e.imageDigest,
    containerName: e.containerName,
    namespace: e.namespace,
    host: e.host,
  };
}
