/** POST /api/v1/hooks/grafana: Grafana's webhook contact point -> one pin per firing alert. */
import type { FastifyInstance } from 'fastify';
import { alertPins, type GrafanaWebhookPayload } from '../hooks/grafana-alerts';
import type { AppDeps } from './app';
import { ApiError, toErrorBody } from './errors';
import { errorSchema, grafanaWebhookBody } from './schemas';
import { snapshotJson } from './snapshot-routes';

export function hookRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.post<{ Body: GrafanaWebhookPayload }>(
    '/api/v1/hooks/grafana',
    {
      schema: {
        summary:
          'Grafana webhook contact point: pins a snapshot around each firing alert (fingerprint+startsAt pins once)',
        body: grafanaWebhookBody,
        response: { 400: errorSchema, 401: errorSchema },
      },
    },
    async (req, reply) => {
      let pins;
      try {
        pins = alertPins(req.body, deps.config.hookBeforeSeconds, deps.config.hookAfterSeconds);
      } catch (err) {
        throw new ApiError(400, 'bad_request', (err as Error).message);
      }
      const pinned: unknown[] = [];
      const duplicates: { alertKey: string; snapshotId: string }[] = [];
      const failed: { alertKey: string; error: string; message: string }[] = [];
      for (const p of pins) {
        const prior = await deps.store.findByAlertKey(p.key);
        if (prior) {
          duplicates.push({ alertKey: p.key, snapshotId: prior });
          continue;
        }
        try {
          const { snapshot } = await deps.snapshots.pin(p.request, {
            by: req.tokenName,
            source: 'grafana-alert',
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
      // A failure answers 502 so Grafana retries; pins already made are deduplicated on retry.
      reply.code(failed.length ? 502 : 200);
      const summary = failed.length
        ? {
            error: 'pin_failed',
            message: `${failed.length} of ${pins.length} alert pins failed (Loki?); Grafana's retry will pin them`,
          }
        : {};
      return { ...summary, pinned, duplicates, failed, ignored: req.body.alerts.length - pins.length };
    }
  );
}
