/**
 * Grafana webhook contact point -> pin requests. Pure: no I/O.
 *
 * One pin per FIRING alert, scoped from its labels, over
 * [startsAt - before, startsAt + after]. A label may be named as the schema
 * field (`containerName`), its OTel attribute (`container.name`) or its Loki
 * label (`container_name`). The dedupe key is fingerprint@startsAt, so
 * Grafana's repeated notifications of one alert pin once, while the same
 * rule firing again later pins again.
 *
 * @example alertPins({ alerts: [{ status: 'firing', labels: { alertname: 'Unexpected process', container_name: 'web' }, startsAt: '2026-01-01T00:10:00Z', fingerprint: 'f1' }] }, 600, 60)
 *   // => [{ key: 'f1@2026-01-01T00:10:00Z', request: { title: 'Alert: Unexpected process', scope: { containerName: 'web' }, fromNs: '1767225600000000000', toNs: '1767226260000000000', note: '' } }]
 */
import { createHash } from 'node:crypto';
import { FIELDS, SCOPE_KEYS, lokiName, type Scope, type ScopeKey } from '@casefile/schema';
import type { PinRequest } from '../snapshots/snapshot-service';

export interface GrafanaAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  fingerprint?: string;
  /** Grafana sends more (generatorURL, silenceURL, values, ...); Casefile does not need them. */
  [more: string]: unknown;
}

export interface GrafanaWebhookPayload {
  alerts: GrafanaAlert[];
}

export interface AlertPin {
  /** Dedupe key: fingerprint@startsAt. */
  key: string;
  request: PinRequest;
}

/** Label name (any of the three spellings) -> scope key. */
const SCOPE_BY_LABEL = new Map<string, ScopeKey>(
  SCOPE_KEYS.flatMap((k) => [
    [k, k],
    [FIELDS[k].attr, k],
    [lokiName(FIELDS[k].attr), k],
  ])
);

export function scopeFromLabels(labels: Record<string, string>): Scope {
  const scope: Scope = {};
  for (const [name, value] of Object.entries(labels)) {
    const k = SCOPE_BY_LABEL.get(name);
    if (k && value) scope[k] = value;
  }
  return scope;
}

/** A stable fingerprint when Grafana sends none: SHA-256 of the sorted labels. */
function labelFingerprint(labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

/** Pins for the firing alerts of a payload; resolved alerts pin nothing. */
export function alertPins(p: GrafanaWebhookPayload, beforeSeconds: number, afterSeconds: number): AlertPin[] {
  const out: AlertPin[] = [];
  for (const a of p.alerts) {
    if (a.status !== 'firing') continue;
    const startsMs = Date.parse(a.startsAt);
    if (Number.isNaN(startsMs))
      throw new Error(`alert startsAt is not a time: ${JSON.stringify(a.startsAt)}`);
    const startsNs = BigInt(startsMs) * 1_000_000n;
    const ann = a.annotations ?? {};
    out.push({
      key: `${a.fingerprint || labelFingerprint(a.labels)}@${new Date(startsMs).toISOString().replace('.000Z', 'Z')}`,
      request: {
        title: `Alert: ${a.labels.alertname ?? 'unnamed'}`.slice(0, 200),
        scope: scopeFromLabels(a.labels),
        fromNs: (startsNs - BigInt(beforeSeconds) * 1_000_000_000n).toString(),
        toNs: (startsNs + BigInt(afterSeconds) * 1_000_000_000n).toString(),
        note: (ann.summary ?? ann.description ?? '').slice(0, 10_000),
      },
    });
  }
  return out;
}
