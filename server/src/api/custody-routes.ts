/**
 * The custody log and the signing key, read-only: the log is written only by
 * the actions themselves (pin, auto-pin, export, lock, unlock, delete, evict),
 * never through a route. Each answer says whether the chain it returns holds.
 */
import type { FastifyInstance } from 'fastify';
import { checkChain, type CustodyEntry } from '../custody/custody-entry';
import type { AppDeps } from './app';
import { errorSchema, idParams } from './schemas';

const custodyPage = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 1000 },
    offset: { type: 'integer', minimum: 0, maximum: 2_147_483_647, default: 0 },
  },
};

const entrySchema = { type: 'object', additionalProperties: true };

const custodyAnswer = {
  type: 'object',
  properties: {
    items: { type: 'array', items: entrySchema },
    total: { type: 'integer' },
    limit: { type: 'integer' },
    offset: { type: 'integer' },
    chain: {
      type: 'object',
      description: 'The check of the whole chain (all pages): hashes, links, signatures',
      properties: {
        verified: { type: 'boolean' },
        entries: { type: 'integer' },
        problems: { type: 'array', items: { type: 'string' } },
      },
    },
  },
};

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema };

/** Read every entry (of one snapshot, or the whole log) to check its chain. */
async function wholeChain(deps: AppDeps, snapshotId?: string): Promise<CustodyEntry[]> {
  const all: CustodyEntry[] = [];
  for (;;) {
    const p = await deps.store.custody({ snapshotId, limit: 10_000, offset: all.length });
    all.push(...p.items);
    if (!p.items.length || all.length >= p.total) return all;
  }
}

export function custodyRoutes(app: FastifyInstance, deps: AppDeps): void {
  const key = deps.custody.key.info;
  const answer = async (snapshotId: string | undefined, limit: number, offset: number) => {
    const all = await wholeChain(deps, snapshotId);
    const problems = checkChain(all, key.publicKeyPem, { whole: snapshotId === undefined });
    if (problems.length) deps.metrics.evidenceMismatches.inc({ reason: 'custody_chain' });
    return {
      items: all.slice(offset, offset + limit),
      total: all.length,
      limit,
      offset,
      chain: { verified: !problems.length, entries: all.length, problems },
    };
  };

  app.get(
    '/api/v1/signing-key',
    {
      config: { scope: 'read' },
      schema: {
        summary:
          "The server's Ed25519 public key: what signs packages and custody entries; compare its keyId with a package's",
        response: {
          200: {
            type: 'object',
            properties: {
              algorithm: { type: 'string' },
              keyId: { type: 'string' },
              publicKeyPem: { type: 'string' },
            },
          },
          ...errors,
        },
      },
    },
    async () => key
  );

  app.get<{ Querystring: { limit: number; offset: number } }>(
    '/api/v1/custody',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'The whole custody log in order, paged, with the check of its whole hash chain',
        querystring: custodyPage,
        response: { 200: custodyAnswer, ...errors },
      },
    },
    async (req) => answer(undefined, req.query.limit, req.query.offset)
  );

  app.get<{ Params: { id: string }; Querystring: { limit: number; offset: number } }>(
    '/api/v1/snapshots/:id/custody',
    {
      config: { scope: 'read' },
      schema: {
        summary:
          "A snapshot's custody entries (also after its deletion: the tombstone is the last), with the check of its chain",
        params: idParams,
        querystring: custodyPage,
        response: { 200: custodyAnswer, ...errors, 404: errorSchema },
      },
    },
    async (req, reply) => {
      const a = await answer(req.params.id, req.query.limit, req.query.offset);
      if (!a.total)
        return reply
          .code(404)
          .send({ error: 'not_found', message: `no custody entries for ${req.params.id}` });
      return a;
    }
  );
}
