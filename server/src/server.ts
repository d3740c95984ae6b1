/**
 * Wires the server from a config: store (migrated), Loki client, OTLP
 * emitter, snapshot service, HTTP app. Used by the CLI, the tests and the
 * benchmark, so all three run the same thing.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './api/app';
import { redactedConfig, type ServerConfig } from './config/config';
import { CustodyRecorder } from './custody/custody-recorder';
import { loadSigningKey } from './evidence/signing-key';
import { LokiClient } from './loki/loki-client';
import { createLogger } from './observability/logger';
import { ServerMetrics } from './observability/metrics';
import { PinnedEmitter } from './observability/pinned-emitter';
import { SnapshotService } from './snapshots/snapshot-service';
import { openStore } from './store/open-store';
import type { SnapshotStore } from './store/store';

export const SERVER_VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8')
).version;

export interface RunningServer {
  app: FastifyInstance;
  store: SnapshotStore;
  /** http://host:port */
  url: string;
  /** Stops listening, flushes the OTLP emitter, closes the store. Idempotent. */
  close(): Promise<void>;
}

export async function startServer(
  config: ServerConfig,
  logger: Logger = createLogger(config.logLevel)
): Promise<RunningServer> {
  const metrics = new ServerMetrics();
  const store = await openStore(config);
  const loki = new LokiClient({
    url: config.lokiUrl,
    tenant: config.lokiTenant,
    basicAuth: config.lokiBasicAuth,
    bearerToken: config.lokiBearerToken,
    pageSize: config.lokiPageSize,
    onRetry: (path, attempt, reason) => {
      metrics.lokiRetries.inc();
      logger.warn({ path, attempt, reason }, 'Loki request failed; retrying');
    },
  });
  const emitter = new PinnedEmitter({ url: config.otlpUrl, tenant: config.lokiTenant }, metrics);
  const key = loadSigningKey({ dataDir: config.dataDir, signingKeyPem: config.signingKey });
  const custody = new CustodyRecorder(
    key,
    { version: SERVER_VERSION, instance: config.instanceName ?? hostname() },
    emitter
  );
  const snapshots = new SnapshotService(store, loki, config, emitter, metrics, custody, logger);
  const app = buildApp({ config, store, loki, snapshots, custody, metrics, logger, version: SERVER_VERSION });
  if (!config.tokens.length)
    logger.warn(
      'no API tokens configured: every /api request will be refused (set CASEFILE_SERVER_TOKENS=name:scope+scope:secret)'
    );
  for (const t of config.tokens.filter((x) => x.legacy))
    logger.warn(
      { token: t.name, scopes: t.scopes },
      "token written without scopes (name:secret): it gets the scopes of Grafana's token; write name:scope+scope:secret"
    );
  const address = await app.listen({ host: config.host, port: config.port });
  metrics.snapshots.set((await store.counts()).snapshots);
  logger.info(
    { config: redactedConfig(config), address, signingKey: key.info.keyId },
    'casefile-server listening'
  );
  let closing: Promise<void> | undefined;
  return {
    app,
    store,
    url: address,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await emitter.shutdown();
        await store.close();
      })()),
  };
}
