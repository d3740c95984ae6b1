/**
 * The OpenAPI 3.1 document, built from the routes' own JSON Schemas as
 * fastify registers them (onRoute), so it cannot drift from what is validated.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

interface Op {
  method: string;
  url: string;
  schema: Record<string, any>;
  /** The token scope the route needs. */
  scope?: string;
}

/** Collect routes as they are registered; call before registering them. */
export function collectRoutes(app: FastifyInstance): Op[] {
  const ops: Op[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    if (!r.url.startsWith('/api/') && r.url !== '/healthz' && r.url !== '/metrics') return;
    for (const m of [r.method].flat())
      if (m !== 'HEAD')
        ops.push({
          method: m.toLowerCase(),
          url: r.url,
          schema: (r.schema ?? {}) as Record<string, any>,
          scope: r.config?.scope,
        });
  });
  return ops;
}

function parameters(s: Record<string, any>) {
  const out: object[] = [];
  for (const [where, schema] of [
    ['path', s.params],
    ['query', s.querystring],
  ] as const) {
    for (const [name, p] of Object.entries<any>(schema?.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === 'path' || (schema.required ?? []).includes(name),
        schema: p,
        description: p.description,
      });
    }
  }
  return out;
}

export function openApiDocument(ops: readonly Op[], version: string) {
  const paths: Record<string, Record<string, object>> = {};
  for (const o of ops) {
    const path = o.url.replace(/:(\w+)/g, '{$1}');
    const pub = path === '/healthz' || path === '/metrics';
    const responses: Record<string, object> = {};
    for (const [code, schema] of Object.entries<any>(o.schema.response ?? { 200: {} })) {
      responses[code] = {
        description: code.startsWith('2') ? 'OK' : 'Error {error, message}',
        content: { 'application/json': { schema } },
      };
    }
    paths[path] ??= {};
    paths[path][o.method] = {
      summary: o.schema.summary,
      parameters: parameters(o.schema),
      ...(o.schema.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: o.schema.body } } } }
        : {}),
      responses,
      // Bearer tokens carry roles (OpenAPI 3.1): the scope this route needs.
      security: pub ? [] : [{ bearer: o.scope ? [o.scope] : [] }],
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Casefile server',
      version,
      description:
        'Forensics API: snapshots pinned from Loki (directly, or as background pin jobs with progress), CSV and forensic-package export, Grafana alert webhook. ' +
        'Send Authorization: Bearer <token>; each route needs one scope (read, pin, admin, webhook), named in its security. ' +
        "X-Grafana-User (the acting user) and X-Casefile-Max-Snapshots are honoured only from Grafana's token (scope grafana).",
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
