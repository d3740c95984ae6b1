/**
 * /metrics (Prometheus text format) and /healthz (JSON status; 503 while
 * stopping) on `host:port`. Port 0 picks a free port; the chosen address is
 * returned and logged.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface HttpServer {
  /** host:port actually bound. */
  address: string;
  close(): Promise<void>;
}

/** Split `host:port`, `[v6]:port` or `:port` (all interfaces). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen: expected host:port, got ${JSON.stringify(listen)}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

export async function startHttpServer(
  listen: string,
  registry: Registry,
  health: () => { status: string },
  log: Logger
): Promise<HttpServer> {
  const { host, port } = parseListen(listen);
  const server = createServer(async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/metrics') {
        const body = await registry.metrics();
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(body);
      } else if (req.method === 'GET' && path === '/healthz') {
        const h = health();
        res.writeHead(h.status === 'stopping' ? 503 : 200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(h));
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found: try /metrics or /healthz\n');
      }
    } catch (err) {
      log.error({ err }, 'metrics endpoint failed');
      res.writeHead(500).end();
    }
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => res());
  });
  const a = server.address() as AddressInfo;
  const address = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  log.info({ address }, 'serving /metrics and /healthz');
  return {
    address,
    close: () =>
      new Promise((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}
