/**
 * STAND-IN FOR GRAFANA (server side): a small HTTP server that serves the host page
 * (tests/host/app, Grafana's frontend stand-in, bundled with esbuild at start), the
 * plugin's BUILT dist/ at `public/plugins/<id>/` as Grafana serves it, and the slice of
 * Grafana's HTTP API the plugin uses: plugin settings, data source list, `/api/ds/query`
 * and the data source proxy to the real Loki, and the app plugin proxy (plugin.json
 * routes, role checks) to the real Casefile server. The signed-in user's role is
 * switchable per test with setRole().
 *
 *   const host = await startHost({ distDir, lokiUrl, jsonData, secureJsonData });
 *   host.setRole('Viewer'); await page.goto(host.url + '/a/' + host.pluginId + '/timeline');
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, resolve, extname, normalize, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { handleDsQuery } from './ds-query';
import { routeRequest, type OrgRole, type PluginRoute, type PluginSettings } from './plugin-routes';

const HERE = import.meta.dirname;
const PLUGIN_ROOT = resolve(HERE, '../..');
const requireFromPlugin = createRequire(join(PLUGIN_ROOT, 'package.json'));
/** The Loki data source the host provisions (uid used by every test). */
export const LOKI_DS = { uid: 'casefile-loki', name: 'Loki', type: 'loki' } as const;

export interface HostOptions {
  /** The plugin's built output; default grafana-plugin/dist. */
  distDir?: string;
  lokiUrl: string;
  /** App plugin settings as an admin would save them on the config page. */
  jsonData?: Record<string, unknown>;
  secureJsonData?: Record<string, string>;
  /** Default 'Admin'. */
  role?: OrgRole;
  /** Default 'admin'. */
  login?: string;
}

export interface Host {
  url: string;
  pluginId: string;
  setRole(role: OrgRole, login?: string): void;
  settings(): PluginSettings;
  /** Requests the stand-in served, newest last (for asserting which API the plugin used). */
  requests: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.js': 'text/javascript',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.css': 'text/css',
  '.html': 'text/html',
  '.md': 'text/markdown',
};

/** The host frontend as { js, css }: @grafana/ui pulls in CSS (monaco, uPlot, slider). */
async function bundleHostApp(): Promise<{ js: string; css: string }> {
  const out = await build({
    outdir: join(HERE, '.bundle'),
    loader: {
      '.woff': 'dataurl',
      '.woff2': 'dataurl',
      '.ttf': 'dataurl',
      '.svg': 'dataurl',
      '.png': 'dataurl',
      '.gif': 'dataurl',
    },
    entryPoints: [join(HERE, 'app/main.tsx')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    minify: process.env.HOST_DEV !== '1',
    sourcemap: false,
    nodePaths: [join(PLUGIN_ROOT, 'node_modules'), resolve(PLUGIN_ROOT, '../node_modules')],
    // HOST_DEV=1: React's development build, for readable errors while debugging a page.
    define: {
      'process.env.NODE_ENV': process.env.HOST_DEV === '1' ? '"development"' : '"production"',
      global: 'globalThis',
    },
    logLevel: 'error',
    plugins: [
      {
        // Grafana shares its i18next instance from @grafana/i18n/internal, which the npm
        // package does not export; the host reaches the same file @grafana/i18n's index uses.
        name: 'grafana-i18n-internal',
        setup(b) {
          b.onResolve({ filter: /^host:grafana-i18n-internal$/ }, () => ({
            path: join(dirname(requireFromPlugin.resolve('@grafana/i18n')), '../esm/i18n.mjs'),
          }));
          // Grafana's own react-router-dom is v5 (the plugin workspace has v6 for the plugin):
          // the host takes the copy @grafana/ui resolves, as Grafana does.
          b.onResolve({ filter: /^react-router-dom$/ }, (args) =>
            args.importer.startsWith(join(HERE, 'app'))
              ? b.resolve(args.path, {
                  kind: args.kind,
                  resolveDir: dirname(requireFromPlugin.resolve('@grafana/ui/package.json')),
                })
              : undefined
          );
        },
      },
    ],
  });
  const text = (ext: string) => out.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return { js: text('.js'), css: text('.css') };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => res(Buffer.concat(chunks)));
    req.on('error', rej);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Forward a request to `url` and stream the answer back (status, content headers, body). */
async function forward(
  res: ServerResponse,
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer | string
) {
  try {
    const r = await fetch(url, {
      method,
      headers,
      body: method === 'GET' || method === 'HEAD' ? undefined : body,
    });
    const pass: Record<string, string> = {};
    for (const h of ['content-type', 'content-disposition', 'content-length']) {
      const v = r.headers.get(h);
      if (v) pass[h] = v;
    }
    res.writeHead(r.status, pass);
    res.end(Buffer.from(await r.arrayBuffer()));
  } catch (e) {
    // Grafana answers 502 when the upstream is unreachable.
    sendJson(res, 502, { message: 'Bad Gateway', error: (e as Error).message });
  }
}

/** Start the host; builds the host bundle (a few seconds) and listens on a free port. */
export async function startHost(opts: HostOptions): Promise<Host> {
  const dist = opts.distDir ?? join(PLUGIN_ROOT, 'dist');
  const pluginJson = JSON.parse(readFileSync(join(dist, 'plugin.json'), 'utf8'));
  const pluginId: string = pluginJson.id;
  const routes: PluginRoute[] = pluginJson.routes ?? [];
  const settings: PluginSettings = {
    jsonData: { ...opts.jsonData },
    secureJsonData: { ...opts.secureJsonData },
  };
  const user = { login: opts.login ?? 'admin', role: opts.role ?? ('Admin' as OrgRole) };
  const bundle = await bundleHostApp();
  const systemjs = ['system.js', 'extras/amd.js', 'extras/named-register.js']
    .map((f) => readFileSync(join(PLUGIN_ROOT, '../node_modules/systemjs/dist', f), 'utf8'))
    .join('\n');
  const requests: Host['requests'] = [];
  let baseUrl = '';

  const lokiSettings = () => ({
    id: 1,
    uid: LOKI_DS.uid,
    name: LOKI_DS.name,
    type: LOKI_DS.type,
    access: 'proxy',
    url: `/api/datasources/proxy/uid/${LOKI_DS.uid}`,
    isDefault: true,
    readOnly: false,
    jsonData: { maxLines: 1000 },
    meta: {
      id: 'loki',
      name: 'Loki',
      type: 'datasource',
      backend: true,
      logs: true,
      metrics: true,
      info: { logos: { small: 'public/app/plugins/datasource/loki/img/loki_icon.svg' } },
      module: 'core:plugin/loki',
      baseUrl: 'public/app/plugins/datasource/loki',
    },
  });

  const appMeta = () => ({
    ...pluginJson,
    type: 'app',
    enabled: true,
    pinned: true,
    module: `public/plugins/${pluginId}/module.js`,
    baseUrl: `public/plugins/${pluginId}`,
    jsonData: settings.jsonData,
    secureJsonFields: Object.fromEntries(Object.keys(settings.secureJsonData).map((k) => [k, true])),
  });
  const panelMetas = () => {
    const out: Record<string, unknown> = {};
    for (const dir of listPanelDirs(dist)) {
      const pj = JSON.parse(readFileSync(join(dist, dir, 'plugin.json'), 'utf8'));
      out[pj.id] = {
        ...pj,
        module: `public/plugins/${pluginId}/${dir}/module.js`,
        baseUrl: `public/plugins/${pluginId}/${dir}`,
      };
    }
    return out;
  };

  const bootData = () => ({
    settings: {
      appUrl: `${baseUrl}/`,
      appSubUrl: '',
      buildInfo: { version: '13.2.3', commit: 'host-stand-in', env: 'production', edition: 'Open Source' },
      datasources: { [LOKI_DS.name]: lokiSettings() },
      defaultDatasource: LOKI_DS.name,
      apps: {
        [pluginId]: {
          id: pluginId,
          path: appMeta().module,
          version: pluginJson.info?.version,
          preload: false,
        },
      },
      panels: panelMetas(),
      featureToggles: {},
      bootData: undefined,
    },
    user: {
      id: 1,
      uid: 'u1',
      login: user.login,
      name: user.login,
      email: `${user.login}@example.test`,
      isSignedIn: true,
      orgId: 1,
      orgName: 'Main Org.',
      orgRole: user.role,
      isGrafanaAdmin: user.role === 'Admin',
      timezone: 'utc',
      weekStart: 'monday',
      theme: 'dark',
      language: 'en-US',
      permissions: {},
    },
    navTree: [],
    // Read by the host app (not by Grafana's runtime).
    host: { pluginId, lokiDataSource: lokiSettings(), nestedPanels: Object.keys(panelMetas()) },
  });

  const indexHtml = () =>
    `<!doctype html><html><head><meta charset="utf-8"><base href="/">
<title>Casefile host (Grafana stand-in)</title>
<style>html,body,#root{margin:0;height:100%;background:#111217;color:#ccccdc;font-family:Inter,Helvetica,Arial,sans-serif}</style>
<script>window.grafanaBootData = ${JSON.stringify(bootData()).replace(/</g, '\\u003c')};</script>
<link rel="stylesheet" href="/host/bundle.css"></head>
<body><div id="root"></div>
<!-- SystemJS's AMD extra defines a global define(); UMD libraries in the host bundle (lodash)
     would register with it instead of exporting, so SystemJS loads after the bundle. -->
<script src="/host/bundle.js"></script><script src="/host/systemjs.js"></script>
<script>window.__casefileHostStart();</script></body></html>`;

  async function api(req: IncomingMessage, res: ServerResponse, path: string, query: string) {
    const method = req.method ?? 'GET';
    let m: RegExpExecArray | null;
    if (path === '/api/user') return sendJson(res, 200, bootData().user);
    if ((m = /^\/api\/plugins\/([^/]+)\/settings$/.exec(path)) && m[1] === pluginId) {
      if (method === 'GET') return sendJson(res, 200, appMeta());
      if (user.role !== 'Admin') return sendJson(res, 403, { message: 'Permission denied' });
      const b = JSON.parse((await readBody(req)).toString() || '{}');
      if (b.jsonData) settings.jsonData = b.jsonData;
      for (const [k, v] of Object.entries(b.secureJsonData ?? {})) settings.secureJsonData[k] = String(v);
      return sendJson(res, 200, { message: 'Plugin settings updated' });
    }
    if (path === '/api/datasources' && method === 'GET') return sendJson(res, 200, [lokiSettings()]);
    if (path === `/api/datasources/uid/${LOKI_DS.uid}`) return sendJson(res, 200, lokiSettings());
    if (path === '/api/ds/query' && method === 'POST') {
      const body = JSON.parse((await readBody(req)).toString());
      const unknown = body.queries.find((q: any) => q.datasource?.uid && q.datasource.uid !== LOKI_DS.uid);
      if (unknown) return sendJson(res, 404, { message: 'Data source not found' });
      const r = await handleDsQuery(opts.lokiUrl, body);
      return sendJson(res, r.status, r.json);
    }
    if ((m = new RegExp(`^/api/datasources/proxy/uid/${LOKI_DS.uid}(/.*)$`).exec(path))) {
      return forward(
        res,
        `${opts.lokiUrl}${m[1]}${query ? `?${query}` : ''}`,
        method,
        {},
        await readBody(req)
      );
    }
    if ((m = new RegExp(`^/api/datasources/uid/${LOKI_DS.uid}/resources/(.*)$`).exec(path))) {
      return forward(res, `${opts.lokiUrl}/loki/api/v1/${m[1]}${query ? `?${query}` : ''}`, 'GET', {});
    }
    if ((m = /^\/api\/plugin-proxy\/([^/]+)\/(.*)$/.exec(path))) {
      if (m[1] !== pluginId) return sendJson(res, 404, { message: 'Plugin not found' });
      const d = routeRequest(routes, method, m[2], query, settings, user);
      if (d.kind === 'error') return sendJson(res, d.status, { message: d.message });
      const headers: Record<string, string> = { ...d.headers };
      const ct = req.headers['content-type'];
      if (ct) headers['content-type'] = ct;
      const accept = req.headers['accept'];
      if (accept) headers['accept'] = accept;
      return forward(res, d.url, method, headers, d.body ?? (await readBody(req)));
    }
    return sendJson(res, 404, { message: 'Not found' });
  }

  const server = createServer(async (req, res) => {
    const u = new URL(req.url ?? '/', 'http://host');
    const path = decodeURIComponent(u.pathname);
    const query = u.search.slice(1);
    res.on('finish', () => requests.push({ method: req.method ?? 'GET', path, status: res.statusCode }));
    try {
      if (path.startsWith('/api/')) return await api(req, res, path, query);
      if (path === '/host/bundle.js')
        return void res.writeHead(200, { 'content-type': MIME['.js'] }).end(bundle.js);
      if (path === '/host/bundle.css')
        return void res.writeHead(200, { 'content-type': MIME['.css'] }).end(bundle.css);
      if (path === '/host/systemjs.js')
        return void res.writeHead(200, { 'content-type': MIME['.js'] }).end(systemjs);
      const prefix = `/public/plugins/${pluginId}/`;
      if (path.startsWith(prefix)) {
        const file = normalize(join(dist, path.slice(prefix.length)));
        if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile())
          return sendJson(res, 404, { message: 'Not found' });
        res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
        return void res.end(readFileSync(file));
      }
      if (path.startsWith('/public/')) return sendJson(res, 404, { message: 'Not found' });
      res.writeHead(200, { 'content-type': MIME['.html'] });
      res.end(indexHtml());
    } catch (e) {
      sendJson(res, 500, { message: (e as Error).message });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url: baseUrl,
    pluginId,
    requests,
    settings: () => settings,
    setRole(role, login) {
      user.role = role;
      user.login = login ?? role.toLowerCase();
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function listPanelDirs(dist: string): string[] {
  const out: string[] = [];
  const walk = (rel: string, depth: number) => {
    if (depth > 3) return;
    for (const name of safeReaddir(join(dist, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (name === 'node_modules' || name.startsWith('.')) continue;
      if (statSync(join(dist, r)).isDirectory()) {
        if (existsSync(join(dist, r, 'plugin.json'))) out.push(r);
        walk(r, depth + 1);
      }
    }
  };
  walk('', 0);
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
