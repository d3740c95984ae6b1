/**
 * Pin jobs over HTTP: POST answers at once (202 + Location) while the pin
 * runs in the background, GET reads its progress, DELETE cancels it. Scoped
 * like pins: creating and cancelling need `pin`, reading needs `read`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PinJobs } from '../jobs/pin-jobs';
import { pinJobJson } from '../jobs/pin-job';
import type { AppDeps } from './app';
import { custodyActor } from './auth';
import { ApiError } from './errors';
import {
  errorSchema,
  idParams,
  pinBody,
  type PinRequest,
  pinJobCreateQuery,
  pinJobListQuery,
  pinJobSchema,
  snapshotSchema,
} from './schemas';
import { capHeader, snapshotJson } from './snapshot-routes';
import { parseWindow } from './time';

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema };

/** Whose job it is: the token, and the Grafana user Grafana's token names. */
function ownerOf(req: FastifyRequest): string {
  const a = custodyActor(req);
  return JSON.stringify([a.token, a.grafanaUser]);
}

export function pinJobRoutes(app: FastifyInstance, deps: AppDeps): PinJobs {
  const jobs = new PinJobs({
    snapshots: deps.snapshots,
    loki: deps.loki,
    store: deps.store,
    registry: deps.metrics.registry,
    dataDir: deps.config.dataDir,
    log: deps.logger,
  });
  app.addHook('onReady', () => jobs.recover());
  app.addHook('onClose', () => jobs.close());

  app.post<{
    Body: PinRequest;
    Querystring: { waitMs: number };
  }>(
    '/api/v1/pin-jobs',
    {
      config: { scope: 'pin' },
      schema: {
        summary:
          'Pin a snapshot in the background: 202 with the job at once (Location: the job), or 201 with the snapshot when it is done within waitMs',
        body: pinBody,
        querystring: pinJobCreateQuery,
        response: {
          201: { type: 'object', properties: { job: pinJobSchema, snapshot: snapshotSchema } },
          202: { type: 'object', properties: { job: pinJobSchema } },
          ...errors,
          429: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const job = jobs.submit(
        {
          title: b.title,
          note: b.note,
          scope: b.scope,
          ...parseWindow(b.from, b.to, deps.config.maxWindowSeconds),
          types: b.types,
          search: b.search,
        },
        { actor: custodyActor(req), maxSnapshots: capHeader(req.headers['x-casefile-max-snapshots']) },
        ownerOf(req)
      );
      await jobs.waitFor(job.id, req.query.waitMs);
      const snapshot = job.state === 'done' ? await deps.store.getSnapshot(job.snapshotId) : undefined;
      if (snapshot) {
        reply.code(201).header('location', `/api/v1/snapshots/${snapshot.id}`);
        return { job: pinJobJson(job), snapshot: snapshotJson(snapshot) };
      }
      reply.code(202).header('location', `/api/v1/pin-jobs/${job.id}`);
      return { job: pinJobJson(job) };
    }
  );

  app.get<{ Querystring: { active: boolean; limit: number } }>(
    '/api/v1/pin-jobs',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Pin jobs, newest first (finished ones are kept 24 h, at most 200)',
        querystring: pinJobListQuery,
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: pinJobSchema }, total: { type: 'integer' } },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const all = jobs.list(req.query.active);
      return { items: all.slice(0, req.query.limit).map((j) => pinJobJson(j)), total: all.length };
    }
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/pin-jobs/:id',
    {
      config: { scope: 'read' },
      schema: {
        summary: "One pin job: state, entries read of Loki's estimate, elapsed, the snapshot id or the error",
        params: idParams,
        response: { 200: pinJobSchema, ...errors },
      },
    },
    async (req) => {
      const job = jobs.get(req.params.id);
      if (!job) throw new ApiError(404, 'not_found', `no pin job ${req.params.id}`);
      return pinJobJson(job);
    }
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/pin-jobs/:id',
    {
      config: { scope: 'pin' },
      schema: {
        summary:
          'Cancel a queued or reading pin job (its owner, or an admin token): nothing is stored; 409 once it is storing or has ended',
        params: idParams,
        response: { 200: pinJobSchema, ...errors, 409: errorSchema },
      },
    },
    async (req) => {
      const job = await jobs.cancel(req.params.id, {
        owner: ownerOf(req),
        name: custodyActor(req).grafanaUser ?? req.caller.name,
        admin: req.caller.scopes.includes('admin'),
      });
      req.log.info({ job: job.id, by: custodyActor(req) }, 'pin job cancelled');
      return pinJobJson(job);
    }
  );
  return jobs;
}
