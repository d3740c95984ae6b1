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
 * @example alertPins({ alerts: [{ status: 'firing', labels: { alertname: 'Unexpected process', container_name: 'web' }, startsAt: '2026-01-01T00:10:00Z', fingerprint: 'f1' }] }, 600, 60, { nowMs: Date.parse('2026-01-01T01:00:00Z'), maxAgeSeconds: 86400, maxFutureMs: 86400000 })
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

/** Grafana's startsAt: RFC 3339 (fraction optional). Anything else, such as "1", is refused, not guessed. */
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/i;

/** How old or new an alert's startsAt may be: Loki holds nothing outside. */
export interface AlertBounds {
  nowMs: number;
  /** Oldest startsAt accepted, in seconds before now. */
  maxAgeSeconds: number;
  /** Newest startsAt accepted, in ms after now. */
  maxFutureMs: number;
}

/**
 * Pins for the firing alerts of a payload; resolved alerts pin nothing. An
 * alert whose startsAt is not RFC 3339 or out of bounds is an error naming it
 * (the caller answers 400): Grafana never sends such a time.
 */
export function alertPins(
  p: GrafanaWebhookPayload,
  beforeSeconds: number,
  afterSeconds: number,
  bounds: AlertBounds
): AlertPin[] {
  const out: AlertPin[] = [];
  for (const [i, a] of p.alerts.entries()) {
    if (a.status !== 'firing') continue;
    const field = `alerts[${i}].startsAt`;
    const startsMs = RFC3339.test(a.startsAt) ? Date.parse(a.startsAt) : NaN;
    if (Number.isNaN(startsMs))
      throw new Error(`${field}: expected an RFC 3339 time, got ${JSON.stringify(a.startsAt)}`);
    if (startsMs < bounds.nowMs - bounds.maxAgeSeconds * 1000 || startsMs - beforeSeconds * 1000 < 0)
      throw new Error(
        `${field}: ${a.startsAt} is more than ${bounds.maxAgeSeconds} s ago (maxWindowSeconds)`
      );
    if (startsMs > bounds.nowMs + bounds.maxFutureMs)
      throw new Error(`${field}: ${a.startsAt} is in the future`);
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
