/**
 * POST /api/v1/hooks/grafana: Grafana's webhook contact point -> one pin per
 * firing alert. Its own token (scope webhook, nothing else). Bounded: at most
 * hookMaxAlertsPerCall alerts are pinned per call and hookMaxPinsPerMinute
 * across calls; the rest are answered 429 with Retry-After (Grafana retries,
 * and fingerprint@startsAt de-duplication makes the retry pin each alert
 * once). Alert pins take their own share of the cap (maxAlertSnapshots) and
 * evict only older unlocked alert pins, never a locked or an analyst's snapshot.
 */
import type { FastifyInstance } from 'fastify';
import { alertPins, type GrafanaWebhookPayload } from '../hooks/grafana-alerts';
import { ALERT_SOURCE } from '../snapshots/snapshot-service';
import type { AppDeps } from './app';
import { ApiError, toErrorBody } from './errors';
import { errorSchema, grafanaWebhookBody } from './schemas';
import { snapshotJson } from './snapshot-routes';
import { MAX_FUTURE_MS } from './time';

/** Pins made in the last minute, as times (ms). */
class MinuteWindow {
  private readonly times: number[] = [];
  constructor(private readonly max: number) {}
  private prune(now: number) {
    while (this.times.length && this.times[0] <= now - 60_000) this.times.shift();
  }
  /** Takes one slot; false when the minute is full. */
  take(now = Date.now()): boolean {
    this.prune(now);
    if (this.times.length >= this.max) return false;
    this.times.push(now);
    return true;
  }
  /** Seconds until a slot frees. */
  retryAfter(now = Date.now()): number {
    this.prune(now);
    return this.times.length < this.max ? 0 : Math.max(1, Math.ceil((this.times[0] + 60_000 - now) / 1000));
  }
}

export function hookRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { config } = deps;
  const minute = new MinuteWindow(config.hookMaxPinsPerMinute);
  app.post<{ Body: GrafanaWebhookPayload }>(
    '/api/v1/hooks/grafana',
    {
      config: { scope: 'webhook' },
      schema: {
        summary:
          'Grafana webhook contact point: pins a snapshot around each firing alert (fingerprint+startsAt pins once); bounded per call and per minute (429 + Retry-After)',
        body: grafanaWebhookBody,
        response: { 400: errorSchema, 401: errorSchema, 403: errorSchema },
      },
    },
    async (req, reply) => {
      let pins;
      try {
        pins = alertPins(req.body, config.hookBeforeSeconds, config.hookAfterSeconds, {
          nowMs: Date.now(),
          maxAgeSeconds: config.maxWindowSeconds,
          maxFutureMs: MAX_FUTURE_MS,
        });
      } catch (err) {
        throw new ApiError(400, 'bad_request', (err as Error).message);
      }
      const pinned: unknown[] = [];
      const duplicates: { alertKey: string; snapshotId: string }[] = [];
      const failed: { alertKey: string; error: string; message: string }[] = [];
      const limited: string[] = [];
      const keys = new Set<string>();
      let tried = 0;
      for (const p of pins) {
        if (keys.has(p.key)) continue; // the same alert twice in one call
        keys.add(p.key);
        const prior = await deps.store.findByAlertKey(p.key);
        if (prior) {
          duplicates.push({ alertKey: p.key, snapshotId: prior });
          continue;
        }
        if (tried >= config.hookMaxAlertsPerCall || !minute.take()) {
          limited.push(p.key);
          continue;
        }
        tried++;
        try {
          const { snapshot } = await deps.snapshots.pin(p.request, {
            actor: { token: req.caller.name, grafanaUser: null },
            source: ALERT_SOURCE,
            alertKey: p.key,
          });
          pinned.push({ alertKey: p.key, snapshot: snapshotJson(snapshot) });
        } catch (err) {
          if ((err as Error).name === 'DuplicateAlertError') {
            duplicates.push({ alertKey: p.key, snapshotId: (err as { snapshotId: string }).snapshotId });
            continue;
          }
          const { body } = toErrorBody(err);
          req.log.warn({ alertKey: p.key, err }, 'alert pin failed');
          failed.push({ alertKey: p.key, ...body });
        }
      }
      const counts = { pinned, duplicates, failed, limited, ignored: req.body.alerts.length - pins.length };
      // A failure answers 502 so Grafana retries; pins already made are deduplicated on retry.
      if (failed.length) {
        reply.code(502);
        return {
          error: 'pin_failed',
          message: `${failed.length} of ${pins.length} alert pins failed; Grafana's retry will pin them`,
          ...counts,
        };
      }
      if (limited.length) {
        req.log.warn({ limited: limited.length, by: req.caller.name }, 'alert pins over the webhook limits');
        reply.code(429).header('retry-after', String(Math.max(1, minute.retryAfter())));
        return {
          error: 'rate_limited',
          message: `${limited.length} alerts not pinned yet: at most ${config.hookMaxAlertsPerCall} per call and ${config.hookMaxPinsPerMinute} per minute; Grafana's retry pins them`,
          ...counts,
        };
      }
      return counts;
    }
  );
}
