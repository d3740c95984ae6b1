/** Snapshot routes: pin, list, get, events, unreadable entries, delete, lock/unlock, pin jobs; each names its scope. */
import type { FastifyInstance } from 'fastify';
import { nsToIso, type EventType } from '@casefile/schema';
import type { SnapshotMeta } from '../store/store';
import type { AppDeps } from './app';
import { ApiError } from './errors';
import { actor, custodyActor } from './auth';
import {
  errorSchema,
  eventsQuery,
  idParams,
  pageQuery,
  pinBody,
  snapshotSchema,
  type PinRequest,
} from './schemas';
import { parseWindow } from './time';
import { pinJobRoutes } from './pin-job-routes';

/** The API form of a snapshot: the stored meta plus RFC 3339 window ends. */
export function snapshotJson(s: SnapshotMeta) {
  const { alertKey: _internal, ...rest } = s;
  return { ...rest, from: nsToIso(s.fromNs), to: nsToIso(s.toNs) };
}

/** Comma-separated types -> list (unknown names are a 400). */
export function parseTypes(v: string | undefined, known: readonly string[]): EventType[] | undefined {
  if (v === undefined || v === '') return undefined;
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((t) => !known.includes(t));
  if (bad.length) throw new ApiError(400, 'bad_request', `unknown event type(s): ${bad.join(', ')}`);
  return list as EventType[];
}

const errors = { 400: errorSchema, 401: errorSchema, 404: errorSchema };

export function snapshotRoutes(app: FastifyInstance, deps: AppDeps, knownTypes: readonly string[]): void {
  const { store } = deps;
  const mustGet = async (id: string) => {
    const s = await store.getSnapshot(id);
    if (!s) throw new ApiError(404, 'not_found', `no snapshot ${id}`);
    return s;
  };

  app.post<{
    Body: PinRequest;
  }>(
    '/api/v1/snapshots',
    {
      config: { scope: 'pin' },
      schema: {
        summary: 'Pin a snapshot: copy every event of a scope and window out of Loki, atomically',
        body: pinBody,
        response: {
          201: {
            type: 'object',
            properties: { snapshot: snapshotSchema, evicted: { type: 'array', items: { type: 'string' } } },
          },
          ...errors,
          409: errorSchema,
          413: errorSchema,
          502: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const { snapshot, evicted } = await deps.snapshots.pin(
        {
          title: b.title,
          note: b.note,
          scope: b.scope,
          ...parseWindow(b.from, b.to, deps.config.maxWindowSeconds),
          types: b.types,
          search: b.search,
        },
        { actor: custodyActor(req), maxSnapshots: capHeader(req.headers['x-casefile-max-snapshots']) }
      );
      reply.code(201);
      return { snapshot: snapshotJson(snapshot), evicted };
    }
  );

  app.get<{ Querystring: { limit: number; offset: number } }>(
    '/api/v1/snapshots',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'List snapshots, newest first',
        querystring: pageQuery,
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: snapshotSchema },
              total: { type: 'integer' },
              limit: { type: 'integer' },
              offset: { type: 'integer' },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const { limit, offset } = req.query;
      const page = await store.listSnapshots(limit, offset);
      return { items: page.items.map(snapshotJson), total: page.total, limit, offset };
    }
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/snapshots/:id',
    {
      config: { scope: 'read' },
      schema: { summary: 'One snapshot', params: idParams, response: { 200: snapshotSchema, ...errors } },
    },
    async (req) => snapshotJson(await mustGet(req.params.id))
  );

  /** The answer of the paged snapshot routes. */
  const pageOfItems = {
    type: 'object',
    properties: {
      items: { type: 'array', items: { type: 'object', additionalProperties: true } },
      total: { type: 'integer' },
      limit: { type: 'integer' },
      offset: { type: 'integer' },
    },
  };

  app.get<{
    Params: { id: string };
    Querystring: { limit: number; offset: number; types?: string; search?: string };
  }>(
    '/api/v1/snapshots/:id/events',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A snapshot's events in (time, id) order, paged, filterable by type and message text",
        params: idParams,
        querystring: eventsQuery,
        response: {
          200: pageOfItems,
          ...errors,
        },
      },
    },
    async (req) => {
      await mustGet(req.params.id);
      const { limit, offset, search } = req.query;
      const types = parseTypes(req.query.types, knownTypes);
      const page = await store.events(req.params.id, { limit, offset, types, search: search || undefined });
      return { items: page.items, total: page.total, limit, offset };
    }
  );

  app.get<{ Params: { id: string }; Querystring: { limit: number; offset: number } }>(
    '/api/v1/snapshots/:id/unreadable',
    {
      config: { scope: 'read' },
      schema: {
        summary:
          "A snapshot's entries that are not Casefile events (no id, or a type this server does not know), whole: line, stream labels, metadata, reason",
        params: idParams,
        querystring: {
          ...eventsQuery,
          properties: { limit: eventsQuery.properties.limit, offset: eventsQuery.properties.offset },
        },
        response: {
          200: pageOfItems,
          ...errors,
        },
      },
    },
    async (req) => {
      await mustGet(req.params.id);
      const { limit, offset } = req.query;
      const page = await store.events(req.params.id, { limit, offset, unreadable: true });
      return { items: page.items, total: page.total, limit, offset };
    }
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/snapshots/:id',
    {
      config: { scope: 'admin' },
      schema: {
        summary:
          'Delete a snapshot (admin scope; locked ones too: deleting is explicit). Leaves a tombstone in the custody log and frees its alert key',
        params: idParams,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      const tombstone = await deps.snapshots.delete(req.params.id, custodyActor(req));
      if (!tombstone) throw new ApiError(404, 'not_found', `no snapshot ${req.params.id}`);
      req.log.info(
        {
          snapshot: req.params.id,
          by: actor(req),
          token: req.caller.name,
          title: tombstone.title,
          contentSha256: tombstone.contentSha256,
          eventCount: tombstone.eventCount,
          locked: tombstone.details.locked,
          custodySeq: tombstone.seq,
        },
        'snapshot deleted'
      );
      reply.code(204).send();
    }
  );

  for (const [verb, locked] of [
    ['lock', true],
    ['unlock', false],
  ] as const) {
    app.post<{ Params: { id: string } }>(
      `/api/v1/snapshots/:id/${verb}`,
      {
        config: { scope: 'pin' },
        schema: {
          summary: locked
            ? 'Lock a snapshot: it is never evicted'
            : 'Unlock a snapshot: it may be evicted again',
          params: idParams,
          response: { 200: snapshotSchema, ...errors },
        },
      },
      async (req) => {
        const s = await deps.snapshots.setLocked(req.params.id, locked, custodyActor(req));
        if (!s) throw new ApiError(404, 'not_found', `no snapshot ${req.params.id}`);
        req.log.info({ snapshot: s.id, by: actor(req), locked }, `snapshot ${verb}ed`);
        return snapshotJson(s);
      }
    );
  }

  pinJobRoutes(app, deps);
}

/**
 * The Grafana app's snapshot cap, which its plugin route sends as
 * X-Casefile-Max-Snapshots. Absent, empty or Grafana's `<no value>` means the
 * server's own cap; anything else must be a whole number from 1 to 100000.
 */
export function capHeader(v: string | string[] | undefined): number | undefined {
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  if (!s || s === '<no value>') return undefined;
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!(n >= 1 && n <= 100_000))
    throw new ApiError(
      400,
      'bad_request',
      `X-Casefile-Max-Snapshots must be a whole number from 1 to 100000, got ${JSON.stringify(s.slice(0, 20))}`
    );
  return n;
}
