/**
 * Bearer-token auth for everything but /healthz and /metrics. Tokens are
 * compared in constant time (SHA-256 of both sides, timingSafeEqual), and
 * every token is compared, so timing says nothing about which one matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { ApiToken } from '../config/config';
import { ApiError } from './errors';

const digest = (s: string) => createHash('sha256').update(s).digest();

export const PUBLIC_PATHS = new Set(['/healthz', '/metrics']);

export class TokenAuth {
  private readonly tokens: { name: string; digest: Buffer }[];

  constructor(tokens: readonly ApiToken[]) {
    this.tokens = tokens.map((t) => ({ name: t.name, digest: digest(t.token) }));
  }

  /** The token's name for a request, or throws a 401 ApiError. */
  authenticate(req: FastifyRequest): string {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    if (!m)
      throw new ApiError(401, 'unauthorized', 'missing bearer token: send Authorization: Bearer <token>');
    const d = digest(m[1]);
    let name: string | undefined;
    for (const t of this.tokens) if (timingSafeEqual(d, t.digest)) name ??= t.name;
    if (!name) throw new ApiError(401, 'unauthorized', 'invalid bearer token');
    return name;
  }
}

/** Who acts: the Grafana user Grafana forwards (X-Grafana-User), else the token's name. */
export function actor(req: FastifyRequest, tokenName: string): string {
  const u = req.headers['x-grafana-user'];
  const user = (Array.isArray(u) ? u[0] : u)?.trim();
  return user ? user.slice(0, 200) : tokenName;
}
