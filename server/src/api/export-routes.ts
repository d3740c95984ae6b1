/** Export routes: a snapshot's CSV, its forensic package, and a live CSV straight from Loki. */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { SCOPE_KEYS, type Scope } from '@casefile/schema';
import {
  EXPORT_BATCH_ROWS,
  csvPage,
  csvStream,
  storedCsvPages,
  type ExportCounts,
} from '../export/csv-stream';
import { inOrder } from '../loki/loki-client';
import { EvidenceMismatchError, forensicPackage } from '../export/forensic-package';
import type { AppDeps } from './app';
import { ApiError } from './errors';
import { actor, custodyActor } from './auth';
import { errorSchema, idParams, liveExportQuery } from './schemas';
import { parseTypes } from './snapshot-routes';
import { parseWindow } from './time';

/** `?bom=false`: the CSV without the UTF-8 byte-order mark Excel needs (scripts and LibreOffice do not). */
const bomQuery = {
  bom: { type: 'boolean', default: true, description: 'Start with the UTF-8 byte-order mark (default true)' },
};

/** The CSV bytes, without their byte-order mark unless `bom`; errors still break the transfer. */
function csvBody(csv: Readable, bom: boolean): Readable {
  if (bom) return csv;
  return Readable.from(
    (async function* () {
      let first = true;
      for await (const chunk of csv as AsyncIterable<Buffer>) {
        yield first && chunk.subarray(0, 3).toString() === '\uFEFF' ? chunk.subarray(3) : chunk;
        first = false;
      }
    })()
  );
}

/** A file name safe in Content-Disposition: letters, digits, dot, dash, underscore. */
const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'snapshot';

export function exportRoutes(app: FastifyInstance, deps: AppDeps, knownTypes: readonly string[]): void {
  const { store, metrics } = deps;
  const mustGet = async (id: string) => {
    const s = await store.getSnapshot(id);
    if (!s) throw new ApiError(404, 'not_found', `no snapshot ${id}`);
    return s;
  };
  const errors = { 400: errorSchema, 401: errorSchema, 404: errorSchema };

  app.get<{ Params: { id: string }; Querystring: { bom: boolean } }>(
    '/api/v1/snapshots/:id/export.csv',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A snapshot's events as CSV (RFC 4180, UTF-8 BOM, formulas neutralised), streamed",
        params: idParams,
        querystring: { type: 'object', additionalProperties: false, properties: bomQuery },
        response: errors,
      },
    },
    async (req, reply) => {
      const s = await mustGet(req.params.id);
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="casefile-${safeName(s.title)}-${s.id.slice(0, 8)}.csv"`
        );
      return reply.send(
        csvBody(
          csvStream(storedCsvPages(store.eventJson(s.id, EXPORT_BATCH_ROWS)), undefined, (n) =>
            metrics.exportRows.inc({ kind: 'snapshot_csv' }, n)
          ),
          req.query.bom
        )
      );
    }
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/snapshots/:id/package',
    {
      config: { scope: 'read' },
      schema: {
        summary:
          'Signed forensic package (zip): evidence (pin record, events.jsonl, streams.jsonl, events.csv), custody log, export record, manifest of every hash, Ed25519 signature; 409 evidence_mismatch when the stored evidence no longer matches what was pinned',
        params: idParams,
        response: { ...errors, 409: errorSchema },
      },
    },
    async (req, reply) => {
      const s = await mustGet(req.params.id);
      const lokiVersion = await deps.loki.version().catch(() => 'unreachable');
      let zip;
      try {
        zip = await forensicPackage(store, s, {
          actor: custodyActor(req),
          lokiVersion,
          lokiUrl: deps.config.lokiUrl,
          lokiTenant: deps.config.lokiTenant,
          custody: deps.custody,
          onRows: (n) => metrics.exportRows.inc({ kind: 'package' }, n),
        });
      } catch (err) {
        if (err instanceof EvidenceMismatchError) {
          metrics.evidenceMismatches.inc({ reason: err.reason });
          req.log.error({ snapshot: s.id, reason: err.reason, by: actor(req) }, err.message);
        }
        throw err;
      }
      req.log.info({ snapshot: s.id, by: actor(req) }, 'forensic package exported');
      reply
        .header('content-type', 'application/zip')
        .header(
          'content-disposition',
          `attachment; filename="casefile-${safeName(s.title)}-${s.id.slice(0, 8)}.zip"`
        );
      return reply.send(zip);
    }
  );

  app.get<{ Querystring: Record<string, string> }>(
    '/api/v1/export.csv',
    {
      config: { scope: 'read' },
      schema: {
        summary:
          'Live CSV of a scope and window, streamed from Loki page by page (never held in memory); trailers X-Casefile-Rows and X-Casefile-Unreadable count what was written',
        querystring: { ...liveExportQuery, properties: { ...liveExportQuery.properties, ...bomQuery } },
        response: { ...errors, 502: errorSchema },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const scope: Scope = {};
      for (const k of SCOPE_KEYS) if (q[k]) scope[k] = q[k];
      const window = parseWindow(q.from, q.to, deps.config.maxWindowSeconds);
      const filter = { scope, types: parseTypes(q.types, knownTypes), search: q.search || undefined };
      // Each page becomes CSV bytes as soon as Loki's answer completes it (see csv-stream.ts: memory).
      const pages = deps.loki.readPages(filter, window, (p) => csvPage(inOrder(p)));
      // Read the first page before answering, so an unreachable Loki is a clean 502, not a cut-off file.
      const first = await pages.next();
      const counts: ExportCounts = { rows: 0, unreadable: 0 };
      async function* all() {
        try {
          if (!first.done) {
            metrics.lokiPages.inc();
            yield first.value;
          }
          for await (const p of pages) {
            metrics.lokiPages.inc();
            yield p;
          }
        } catch (err) {
          // After the header the only honest signal is to break the transfer: the file ends without
          // its chunked terminator and trailers, so no client takes it for complete.
          metrics.exportAborts.inc();
          req.log.error({ err, rows: counts.rows }, 'live export cut: Loki failed mid-read');
          throw err;
        } finally {
          if (counts.unreadable) metrics.unreadableEntries.inc({ kind: 'live_csv' }, counts.unreadable);
        }
      }
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="casefile-export.csv"')
        .trailer('x-casefile-rows', async () => String(counts.rows))
        .trailer('x-casefile-unreadable', async () => String(counts.unreadable));
      const csv = csvStream(all(), counts, (n) => metrics.exportRows.inc({ kind: 'live_csv' }, n));
      return reply.send(csvBody(csv, (req.query as { bom?: boolean }).bom !== false));
    }
  );
}
