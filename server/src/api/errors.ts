/**
 * Every error answer is JSON `{error, message}`: `error` a stable code,
 * `message` for humans. Domain errors map to their status here, in one place.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyBaseLogger } from 'fastify';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message);
  }
}

export interface ErrorBody {
  error: string;
  message: string;
}

/** Status and body for any thrown error. */
export function toErrorBody(err: unknown): { status: number; body: ErrorBody } {
  const e = err as FastifyError & { name?: string; status?: number; code?: string };
  if (err instanceof ApiError) return { status: err.status, body: { error: err.code, message: err.message } };
  if (e.validation) return { status: 400, body: { error: 'bad_request', message: e.message } };
  switch (e.name) {
    case 'CapReachedError':
      return { status: 409, body: { error: 'cap_reached', message: e.message } };
    case 'DuplicateAlertError':
      return { status: 409, body: { error: 'duplicate', message: e.message } };
    case 'EvidenceMismatchError':
      return { status: 409, body: { error: 'evidence_mismatch', message: e.message } };
    case 'SnapshotTooLargeError':
      return { status: 413, body: { error: 'too_large', message: e.message } };
    case 'PageWalkerError':
      return {
        status: 502,
        body: {
          error: 'loki_inconsistent',
          message: `nothing was pinned: Loki broke its own paging rules: ${e.message}`,
        },
      };
    case 'LokiError':
      return {
        status: 502,
        body: { error: 'loki_unavailable', message: `nothing was pinned: ${e.message}` },
      };
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return { status: 413, body: { error: 'body_too_large', message: e.message } };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: { error: 'bad_request', message: e.message } };
  }
  return { status: 500, body: { error: 'internal', message: 'internal error; see the server log' } };
}

export function errorHandler(log: FastifyBaseLogger) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = toErrorBody(err);
    if (status >= 500) log.error({ err, url: req.url }, 'request failed');
    else req.log.info({ status, error: body.error, msg: body.message }, 'request refused');
    reply.code(status).send(body);
  };
}
