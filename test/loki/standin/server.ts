/**
 * The stand-in's HTTP routes: exactly the Loki endpoints Casefile uses (README.md's
 * table). Any other path or method is answered 404/405 "not modelled by the Loki
 * stand-in", so a client that starts relying on something new fails loudly.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { StandinConfig } from './config';
import { HttpError } from './http-error';
import { decodeRequest, toEntries } from './otlp';
import { QueryApi } from './query-api';
import { Ruler } from './ruler';
import { Store } from './store';

/** What the stand-in reports as its version; `standin` tells it apart from a real Loki. */
export const STANDIN_VERSION = '3.7.8-casefile-standin';
/** Loki's default `server.http_server_max_recv_msg_size`-like bound on a push body (100 MB). */
const MAX_BODY = 100 << 20;

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, `request body larger than ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) }).end(text);
}

export interface Standin {
  server: Server;
  store: Store;
  ruler: Ruler;
  close(): Promise<void>;
}

export function createStandin(cfg: StandinConfig, log: (msg: string) => void): Standin {
  const store = new Store(cfg);
  const api = new QueryApi(store, cfg);
  const ruler = new Ruler(cfg, api, log);

  async function params(req: IncomingMessage, url: URL): Promise<URLSearchParams> {
    if (req.method === 'POST') {
      const type = (req.headers['content-type'] ?? '').split(';')[0];
      if (type !== 'application/x-www-form-urlencoded')
        throw new HttpError(
          400,
          `POST parameters must be application/x-www-form-urlencoded, not ${JSON.stringify(type)}`
        );
      return new URLSearchParams((await readBody(req)).toString('utf8'));
    }
    return url.searchParams;
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const only = (...methods: string[]) => {
      if (!methods.includes(method))
        throw new HttpError(
          405,
          `${method} ${path} is not modelled by the Loki stand-in (only ${methods.join(', ')})`
        );
    };
    const categorize = String(req.headers['x-loki-response-encoding-flags'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .includes('categorize-labels');
    switch (path) {
      case '/ready':
        only('GET');
        return send(res, 200, 'ready\n', 'text/plain');
      case '/loki/api/v1/status/buildinfo':
        only('GET');
        return send(res, 200, {
          version: STANDIN_VERSION,
          revision: 'standin',
          branch: 'standin',
          standin: true,
        });
      case '/otlp/v1/logs': {
        only('POST');
        const body = await readBody(req);
        const now = nowNs();
        const entries = toEntries(
          decodeRequest(body, req.headers['content-type'], req.headers['content-encoding']),
          cfg.limits.indexLabels,
          now
        );
        const { errors } = store.push(entries, now);
        // Loki answers 400 with the reasons when any entry was refused; the valid ones are kept.
        if (errors.length) return send(res, 400, errors.slice(0, 10).join('\n') + '\n', 'text/plain');
        res.writeHead(204).end();
        return;
      }
      case '/flush':
        only('POST', 'GET');
        res.writeHead(204).end();
        return;
      case '/loki/api/v1/query_range':
        only('GET', 'POST');
        return send(res, 200, api.queryRange(await params(req, url), categorize, nowNs()));
      case '/loki/api/v1/query':
        only('GET', 'POST');
        return send(res, 200, api.query(await params(req, url), nowNs()));
      case '/loki/api/v1/labels':
        only('GET', 'POST');
        return send(res, 200, api.labels(await params(req, url), nowNs()));
      case '/loki/api/v1/rules':
        only('GET');
        return send(res, 200, ruler.rulesYaml(), 'application/yaml');
      case '/prometheus/api/v1/alerts':
        only('GET');
        return send(res, 200, ruler.alerts());
    }
    const lv = /^\/loki\/api\/v1\/label\/([^/]+)\/values$/.exec(path);
    if (lv) {
      only('GET', 'POST');
      return send(res, 200, api.labelValues(decodeURIComponent(lv[1]), await params(req, url), nowNs()));
    }
    throw new HttpError(404, `${method} ${path} is not modelled by the Loki stand-in`);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (e instanceof HttpError) return send(res, e.status, e.message + '\n', 'text/plain');
      log(`internal error on ${req.method} ${req.url}: ${(e as Error).stack}`);
      send(res, 500, `internal error: ${(e as Error).message}\n`, 'text/plain');
    });
  });
  ruler.start(nowNs);
  return {
    server,
    store,
    ruler,
    async close() {
      ruler.stop();
      await new Promise<void>((r) => server.close(() => r()));
      store.close();
    },
  };
}
