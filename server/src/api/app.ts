/**
 * The HTTP app (fastify): auth, validation, error shape, metrics, routes.
 * Built from its dependencies so tests and the CLI wire the same thing.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { EVENT_TYPE_NAMES } from '@casefile/schema';
import type { ServerConfig } from '../config/config';
import type { CustodyRecorder } from '../custody/custody-recorder';
import type { LokiClient } from '../loki/loki-client';
import type { ServerMetrics } from '../observability/metrics';
import type { SnapshotService } from '../snapshots/snapshot-service';
import type { SnapshotStore } from '../store/store';
import { PUBLIC_PATHS, TokenAuth, type Caller } from './auth';
import { errorHandler } from './errors';
import { exportRoutes } from './export-routes';
import { hookRoutes } from './hook-routes';
import { custodyRoutes } from './custody-routes';
import { collectRoutes, openApiDocument } from './openapi';
import { snapshotRoutes } from './snapshot-routes';

export interface AppDeps {
  config: ServerConfig;
  store: SnapshotStore;
  loki: LokiClient;
  snapshots: SnapshotService;
  /** The custody log's sealer and the server's signing key. */
  custody: CustodyRecorder;
  metrics: ServerMetrics;
  logger: Logger;
  /** Server version (package.json). */
  version: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The token that authenticated the request: its name and scopes. */
    caller: Caller;
  }
  interface FastifySchema {
    /** One line for the OpenAPI document. */
    summary?: string;
  }
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.config.bodyLimitBytes,
    // Unknown properties are refused with a 400, not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  }) as unknown as FastifyInstance; // the pino Logger type is narrower than FastifyBaseLogger
  const ops = collectRoutes(app);
  const auth = new TokenAuth(deps.config.tokens);

  app.decorateRequest('caller', null as unknown as Caller);
  app.setErrorHandler(errorHandler(deps.logger));
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  app.addHook('onRequest', async (req) => {
    if (PUBLIC_PATHS.has(req.url.split('?')[0])) return;
    req.caller = auth.authenticate(req);
    auth.authorize(req, req.caller);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ method: req.method, route, status: reply.statusCode });
    deps.metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.get('/healthz', { schema: { summary: 'Liveness: 200 when the store answers' } }, async () => {
    await deps.store.counts();
    return { status: 'ok', version: deps.version };
  });
  app.get('/metrics', { schema: { summary: 'Prometheus metrics' } }, async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  app.get(
    '/api/v1/openapi.json',
    { schema: { summary: 'This OpenAPI document' }, config: { scope: 'read' } },
    async () => openApiDocument(ops, deps.version)
  );
  snapshotRoutes(app, deps, EVENT_TYPE_NAMES);
  exportRoutes(app, deps, EVENT_TYPE_NAMES);
  hookRoutes(app, deps);
  custodyRoutes(app, deps);
  return app;
}
