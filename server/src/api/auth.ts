/**
 * Bearer-token auth and scopes for everything but /healthz and /metrics.
 * Tokens are compared in constant time (SHA-256 of both sides,
 * timingSafeEqual), and every token is compared, so timing says nothing about
 * which one matched. Every API route names the scope it needs
 * (`config: { scope }`); a route without one is refused, so a new route is
 * closed until someone decides who may call it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { ApiToken, TokenScope } from '../config/config';
import type { CustodyActor } from '../custody/custody-entry';
import { ApiError } from './errors';

const digest = (s: string) => createHash('sha256').update(s).digest();

export const PUBLIC_PATHS = new Set(['/healthz', '/metrics']);

/** Headers only Grafana's plugin routes may send: they name the acting user and the app's cap. */
export const GRAFANA_HEADERS = ['x-grafana-user', 'x-casefile-max-snapshots'] as const;

/** Who called: the token's name and scopes. */
export interface Caller {
  name: string;
  scopes: readonly TokenScope[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The token scope a route needs. */
    scope?: TokenScope;
  }
}

export class TokenAuth {
  private readonly tokens: { caller: Caller; digest: Buffer }[];

  constructor(tokens: readonly ApiToken[]) {
    this.tokens = tokens.map((t) => ({
      caller: { name: t.name, scopes: t.scopes },
      digest: digest(t.token),
    }));
  }

  /** The caller of a request, or throws a 401 ApiError. */
  authenticate(req: FastifyRequest): Caller {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    if (!m)
      throw new ApiError(401, 'unauthorized', 'missing bearer token: send Authorization: Bearer <token>');
    const d = digest(m[1]);
    let caller: Caller | undefined;
    for (const t of this.tokens) if (timingSafeEqual(d, t.digest)) caller ??= t.caller;
    if (!caller) throw new ApiError(401, 'unauthorized', 'invalid bearer token');
    return caller;
  }

  /**
   * Refuse (403) a caller without the route's scope, a route that names no
   * scope, and Grafana's headers from any token but Grafana's (they would let
   * a caller name someone else in the chain of custody, or raise the cap).
   */
  authorize(req: FastifyRequest, caller: Caller): void {
    const need = req.routeOptions.config?.scope;
    if (!req.routeOptions.url) return; // no such route: the 404 handler answers
    if (!need) throw new ApiError(403, 'forbidden', 'this route names no scope; refused');
    if (!caller.scopes.includes(need))
      throw new ApiError(403, 'forbidden', `token ${caller.name} lacks the ${need} scope this route needs`);
    if (!caller.scopes.includes('grafana'))
      for (const h of GRAFANA_HEADERS)
        if (req.headers[h] !== undefined)
          throw new ApiError(
            403,
            'forbidden',
            `${h} is honoured only from Grafana's token (scope grafana); token ${caller.name} may not send it`
          );
  }
}

/** Who acts, as the custody log records it: the token, and the Grafana user that Grafana's token (only) forwards in X-Grafana-User. */
export function custodyActor(req: FastifyRequest): CustodyActor {
  const c = req.caller;
  const u = req.headers['x-grafana-user'];
  const user = c.scopes.includes('grafana') ? (Array.isArray(u) ? u[0] : u)?.trim().slice(0, 200) : undefined;
  return { token: c.name, grafanaUser: user || null };
}

/** Who acts in one name: the Grafana user Grafana's token forwards (X-Grafana-User), else the token's name. */
export function actor(req: FastifyRequest): string {
  const a = custodyActor(req);
  return a.grafanaUser ?? a.token;
}
