/**
 * JSON Schemas of the API: fastify validates requests with them and the
 * OpenAPI document (openapi.ts) is built from the same objects, so the two
 * never disagree.
 */
import { EVENT_TYPE_NAMES, SCOPE_KEYS, type EventType, type Scope } from '@casefile/schema';

/** Largest offset a page may start at: row positions are 32-bit integers in both stores. */
export const MAX_OFFSET = 2_147_483_647;

const str = (maxLength: number, extra: object = {}) => ({ type: 'string', maxLength, ...extra });

export const timeParam = {
  anyOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', maxLength: 40 },
  ],
  description: 'Milliseconds since the epoch, or an RFC 3339 time (nanosecond fraction kept).',
};

export const scopeSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Each set field narrows the scope (host, container, image, Kubernetes namespace/pod).',
  properties: Object.fromEntries(SCOPE_KEYS.map((k) => [k, str(512)])),
};

export const eventTypeSchema = { type: 'string', enum: EVENT_TYPE_NAMES };

/** A pin request's body, as `pinBody` validates it (direct pins and pin jobs take the same). */
export interface PinRequest {
  title: string;
  note?: string;
  scope: Scope;
  from: string | number;
  to: string | number;
  types?: EventType[];
  search?: string;
}

export const pinBody = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'scope', 'from', 'to'],
  properties: {
    title: str(200, { minLength: 1 }),
    note: str(10_000),
    scope: scopeSchema,
    from: timeParam,
    to: timeParam,
    types: {
      type: 'array',
      items: eventTypeSchema,
      maxItems: 64,
      description: 'Event types to keep; all when absent.',
    },
    search: str(1000, { description: 'Case-insensitive substring of the message.' }),
  },
};

export const snapshotSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    note: { type: 'string' },
    scope: scopeSchema,
    from: { type: 'string', description: 'RFC 3339 with nanoseconds' },
    to: { type: 'string' },
    fromNs: { type: 'string', description: 'ns since epoch, inclusive' },
    toNs: { type: 'string', description: 'ns since epoch, exclusive' },
    types: { type: 'array', items: { type: 'string' } },
    search: { type: 'string' },
    query: { type: 'string', description: 'The LogQL the events were read with' },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
    eventCount: { type: 'integer' },
    unreadableCount: {
      type: 'integer',
      description:
        'Entries Loki held in the window that are not Casefile events (no id, or a type this server does not know); kept whole: GET /snapshots/{id}/unreadable, the exports',
    },
    contentSha256: { type: 'string', description: 'SHA-256 of events.jsonl' },
    lokiVersion: { type: 'string' },
    source: { type: 'string', enum: ['api', 'grafana-alert'] },
    locked: { type: 'boolean' },
  },
};

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: str(64, { pattern: '^[0-9a-fA-F-]{1,64}$' }) },
};

export const pageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
    offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 },
  },
};

const typesParam = {
  type: 'string',
  maxLength: 2000,
  description: 'Comma-separated event types, e.g. process.start,network.connect',
};

export const eventsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 5000, default: 500 },
    offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 },
    types: typesParam,
    search: str(1000),
  },
};

export const liveExportQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: {
    ...scopeSchema.properties,
    from: timeParam,
    to: timeParam,
    types: typesParam,
    search: str(1000),
  },
};

export const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
};

/** Grafana's webhook contact point payload (the parts Casefile reads). */
export const grafanaWebhookBody = {
  type: 'object',
  required: ['alerts'],
  properties: {
    receiver: { type: 'string' },
    status: { type: 'string' },
    alerts: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        required: ['status', 'labels', 'startsAt'],
        properties: {
          status: { type: 'string', enum: ['firing', 'resolved'] },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          annotations: { type: 'object', additionalProperties: { type: 'string' } },
          startsAt: { type: 'string', maxLength: 40, description: 'RFC 3339, as Grafana sends it' },
          endsAt: { type: 'string' },
          fingerprint: { type: 'string', maxLength: 200 },
          generatorURL: { type: 'string' },
        },
      },
    },
  },
};

/** A pin job (GET /api/v1/pin-jobs/{id}): state, progress, and its snapshot or error once it has ended. */
export const pinJobSchema = {
  type: 'object',
  required: ['id', 'state', 'title', 'createdAt', 'elapsedMs', 'eventsRead', 'estimatedTotal'],
  properties: {
    id: { type: 'string' },
    state: { type: 'string', enum: ['queued', 'running', 'done', 'failed', 'cancelled'] },
    phase: {
      type: 'string',
      enum: ['reading', 'storing'],
      description: 'While running: reading from Loki (cancellable), then storing in one transaction (not)',
    },
    title: { type: 'string' },
    scope: scopeSchema,
    from: { type: 'string', description: 'RFC 3339 with nanoseconds' },
    to: { type: 'string' },
    types: { type: 'array', items: { type: 'string' } },
    search: { type: 'string' },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
    startedAt: { type: 'string' },
    finishedAt: { type: 'string' },
    elapsedMs: { type: 'integer', description: 'Since the job was created, until it ended' },
    eventsRead: { type: 'integer', description: 'Entries read from Loki so far' },
    estimatedTotal: {
      type: ['integer', 'null'],
      description:
        'Entries Loki counts in the window (instant count_over_time, whole ms); null until Loki answered',
    },
    snapshotId: { type: 'string', description: 'When done: the snapshot pinned' },
    evicted: { type: 'array', items: { type: 'string' } },
    error: { ...errorSchema, description: 'When failed or cancelled: why, in words' },
  },
};

export const pinJobCreateQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    waitMs: {
      type: 'integer',
      minimum: 0,
      maximum: 10_000,
      default: 0,
      description: 'Wait up to this long for the job to end, so a small pin is done in one round trip',
    },
  },
};

export const pinJobListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    active: { type: 'boolean', default: false, description: 'Only queued and running jobs' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
  },
};
