/**
 * STAND-IN FOR GRAFANA (server side): a small HTTP server that serves the host page
 * (tests/host/app, Grafana's frontend stand-in, bundled with esbuild at start), the
 * plugin's BUILT dist/ at `public/plugins/<id>/` as Grafana serves it, and the slice of
 * Grafana's HTTP API the plugin uses: plugin settings, data source list, `/api/ds/query`
 * and the data source proxy (./ds-proxy.ts) to the real Loki, and the app plugin proxy
 * (./plugin-routes.ts) to the real Casefile server. The data source, the app settings and
 * the grafana.ini switches come from provisioning and docker-compose.yml as Grafana reads
 * them (test/provisioning). Plugins without a MANIFEST.txt are unsigned and load only when
 * `allow_loading_unsigned_plugins` lists their id (grafana pkg/plugins/manager/signature/
 * authorizer.go); the signed-in user's role is switchable per test with setRole().
 *
 *   const host = await startHost({ datasource, app, grafana });
 *   host.setRole('Viewer'); await page.goto(host.url + '/a/' + host.pluginId + '/timeline');
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, resolve, extname, normalize, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { handleDsQuery } from './ds-query';
import { checkDataSourceProxy, LOKI_ROUTES } from './ds-proxy';
import {
  basicRolePermissions,
  hasRouteAction,
  routeRequest,
  type OrgRole,
  type PluginRoute,
  type PluginSettings,
  type ProxyUser,
} from './plugin-routes';

const HERE = import.meta.dirname;
const PLUGIN_ROOT = resolve(HERE, '../..');
const requireFromPlugin = createRequire(join(PLUGIN_ROOT, 'package.json'));
/** Grafana's version the host reports (boot data, User-Agent of the data source proxy). */
export const GRAFANA_VERSION = '13.2.3';

/** The provisioned Loki data source. */
export interface HostDataSource {
  uid: string;
  name: string;
  type: string;
  url: string;
  jsonData: Record<string, unknown>;
}

export interface HostOptions {
  /** The plugin's built output; default grafana-plugin/dist. */
  distDir?: string;
  datasource: HostDataSource;
  /** App plugin settings as provisioned (or saved on the config page). */
  app: PluginSettings;
  /** grafana.ini switches: `[dataproxy] send_user_header`, `[plugins] allow_loading_unsigned_plugins`. */
  grafana: { sendUserHeader: boolean; allowUnsigned: string[] };
  /** Default 'Admin'. */
  role?: OrgRole;
  /** Default 'admin'. */
  login?: string;
}

export interface Host {
  url: string;
  pluginId: string;
  setRole(role: OrgRole, login?: string): void;
  /** The signed-in user's preferences, read by the next page load (Grafana's boot data). */
  setPreferences(p: { theme?: 'dark' | 'light'; timezone?: string }): void;
  settings(): PluginSettings;
  /** The request headers the Casefile server received for the last plugin-proxy call. */
  lastProxiedHeaders(): Record<string, string>;
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

let hostBundle: Promise<{ js: string; css: string }> | undefined;
/** The host frontend, bundled once per process. */
const bundleHostApp = () => (hostBundle ??= buildHostApp());

/** The host frontend as { js, css }: @grafana/ui pulls in CSS (monaco, uPlot, slider). */
async function buildHostApp(): Promise<{ js: string; css: string }> {
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

/**
 * Forward a request to `url` and send the answer back as Grafana's reverse proxy does
 * (pkg/util/proxyutil/reverse_proxy.go): Set-Cookie dropped, `Content-Security-Policy:
 * sandbox` added, an unreachable upstream is 502 with an empty body. `mapStatus` lets the
 * data source proxy turn an upstream 401 into its 400.
 */
async function forward(
  res: ServerResponse,
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer | string,
  mapStatus?: (status: number) => { status: number; body: string } | undefined
) {
  let r: Response;
  try {
    r = await fetch(url, {
      method,
      headers,
      body: method === 'GET' || method === 'HEAD' ? undefined : (body as BodyInit | undefined),
    });
  } catch {
    res.writeHead(502);
    return void res.end();
  }
  const mapped = mapStatus?.(r.status);
  if (mapped) {
    res.writeHead(mapped.status, { 'content-security-policy': 'sandbox' });
    return void res.end(mapped.body);
  }
  const pass: Record<string, string> = { 'content-security-policy': 'sandbox' };
  r.headers.forEach((v, k) => {
    // The body is passed on whole (not streamed), so announced trailers cannot follow it.
    if (
      ![
        'set-cookie',
        'content-encoding',
        'transfer-encoding',
        'connection',
        'keep-alive',
        'trailer',
      ].includes(k)
    )
      pass[k] = v;
  });
  const buf = Buffer.from(await r.arrayBuffer());
  pass['content-length'] = String(buf.length);
  res.writeHead(r.status, pass);
  res.end(buf);
}

/** The plugins in dist/: the app and each nested plugin, with whether Grafana would load them. */
function installedPlugins(dist: string, allowUnsigned: string[]) {
  // Without MANIFEST.txt a plugin is unsigned (a present manifest is not verified here).
  const signed = existsSync(join(dist, 'MANIFEST.txt'));
  return [{ dir: '', json: JSON.parse(readFileSync(join(dist, 'plugin.json'), 'utf8')) }]
    .concat(
      listPanelDirs(dist).map((dir) => ({
        dir,
        json: JSON.parse(readFileSync(join(dist, dir, 'plugin.json'), 'utf8')),
      }))
    )
    .map((p) => ({ ...p, id: p.json.id as string, loaded: signed || allowUnsigned.includes(p.json.id) }));
}

/** Start the host; builds the host bundle (a few seconds) and listens on a free port. */
export async function startHost(opts: HostOptions): Promise<Host> {
  const dist = opts.distDir ?? join(PLUGIN_ROOT, 'dist');
  const plugins = installedPlugins(dist, opts.grafana.allowUnsigned);
  const app = plugins[0];
  const pluginJson = app.json;
  const pluginId: string = app.id;
  const routes: PluginRoute[] = pluginJson.routes ?? [];
  const settings: PluginSettings = {
    jsonData: { ...opts.app.jsonData },
    secureJsonData: { ...opts.app.secureJsonData },
  };
  const ds = opts.datasource;
  const newUser = (role: OrgRole, login: string): ProxyUser => ({
    id: 1,
    login,
    role,
    permissions: basicRolePermissions(role),
  });
  let user = newUser(opts.role ?? 'Admin', opts.login ?? 'admin');
  const prefs = { theme: 'dark' as 'dark' | 'light', timezone: 'utc' };
  let lastProxiedHeaders: Record<string, string> = {};
  const bundle = await bundleHostApp();
  const systemjs = ['system.js', 'extras/amd.js', 'extras/named-register.js']
    .map((f) => readFileSync(join(PLUGIN_ROOT, '../node_modules/systemjs/dist', f), 'utf8'))
    .join('\n');
  const requests: Host['requests'] = [];
  let baseUrl = '';

  const lokiSettings = () => ({
    id: 1,
    uid: ds.uid,
    name: ds.name,
    type: ds.type,
    access: 'proxy',
    url: `/api/datasources/proxy/uid/${ds.uid}`,
    isDefault: true,
    readOnly: true,
    jsonData: ds.jsonData,
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

  /** `/api/plugins/<id>/settings` (pkg/api/plugins.go GetPluginSettingByID) for a loaded plugin. */
  const pluginMeta = (p: (typeof plugins)[number]) => ({
    ...p.json,
    enabled: p === app ? true : undefined,
    pinned: p === app ? true : undefined,
    module: `public/plugins/${pluginId}/${p.dir ? `${p.dir}/` : ''}module.js`,
    baseUrl: `public/plugins/${pluginId}${p.dir ? `/${p.dir}` : ''}`,
    signature: existsSync(join(dist, 'MANIFEST.txt')) ? 'valid' : 'unsigned',
    ...(p === app
      ? {
          jsonData: settings.jsonData,
          secureJsonFields: Object.fromEntries(Object.keys(settings.secureJsonData).map((k) => [k, true])),
        }
      : {}),
  });

  // Grafana 13.2's boot data: no settings.apps / settings.panels (plugin metas come from the API).
  const bootData = () => ({
    settings: {
      appUrl: `${baseUrl}/`,
      appSubUrl: '',
      namespace: 'default',
      buildInfo: {
        version: GRAFANA_VERSION,
        commit: 'host-stand-in',
        env: 'production',
        edition: 'Open Source',
      },
      datasources: { [ds.name]: lokiSettings() },
      defaultDatasource: ds.name,
      featureToggles: {},
      bootData: undefined,
    },
    user: {
      id: user.id,
      uid: 'u1',
      login: user.login,
      name: user.login,
      email: `${user.login}@example.test`,
      isSignedIn: true,
      orgId: 1,
      orgName: 'Main Org.',
      orgRole: user.role,
      isGrafanaAdmin: user.role === 'Admin',
      timezone: prefs.timezone,
      weekStart: 'monday',
      theme: prefs.theme,
      lightTheme: prefs.theme === 'light',
      language: 'en-US',
      permissions: Object.fromEntries(Object.keys(user.permissions).map((a) => [a, true])),
    },
    navTree: [],
    // Read by the host app (not by Grafana's runtime).
    host: {
      pluginId,
      lokiDataSource: lokiSettings(),
      nestedPanels: plugins.filter((p) => p !== app && p.json.type === 'panel').map((p) => p.id),
    },
  });

  const indexHtml = () =>
    `<!doctype html><html><head><meta charset="utf-8"><base href="/">
<title>Casefile host (Grafana stand-in)</title>
<style>html,body,#root{margin:0;height:100%;font-family:Inter,Helvetica,Arial,sans-serif}</style>
<script>window.grafanaBootData = ${JSON.stringify(bootData()).replace(/</g, '\\u003c')};</script>
<link rel="stylesheet" href="/host/bundle.css"></head>
<body><div id="root"></div>
<!-- SystemJS's AMD extra defines a global define(); UMD libraries in the host bundle (lodash)
     would register with it instead of exporting, so SystemJS loads after the bundle. -->
<script src="/host/bundle.js"></script><script src="/host/systemjs.js"></script>
<script>window.__casefileHostStart();</script></body></html>`;

  const incomingHeaders = (req: IncomingMessage) =>
    Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')])
    );

  async function api(req: IncomingMessage, res: ServerResponse, rawPath: string, query: string) {
    const method = req.method ?? 'GET';
    const path = decodeURIComponent(rawPath);
    let m: RegExpExecArray | null;
    if (path === '/api/user') return sendJson(res, 200, bootData().user);
    if (path === '/api/plugins/errors')
      return sendJson(
        res,
        200,
        plugins
          .filter((p) => !p.loaded)
          .map((p) => ({ pluginId: p.id, errorCode: 'signatureMissing', pluginType: p.json.type }))
      );
    if ((m = /^\/api\/plugins\/([^/]+)\/settings$/.exec(path))) {
      const p = plugins.find((x) => x.id === m![1] && x.loaded);
      if (!p) return sendJson(res, 404, { message: 'Plugin not found, no installed plugin with that id' });
      if (method === 'GET') return sendJson(res, 200, pluginMeta(p));
      if (p !== app || !hasRouteAction(user, pluginId, 'plugins:write'))
        return sendJson(res, 403, { message: 'Permission denied' });
      const b = JSON.parse((await readBody(req)).toString() || '{}');
      if (b.jsonData) settings.jsonData = b.jsonData;
      for (const [k, v] of Object.entries(b.secureJsonData ?? {})) settings.secureJsonData[k] = String(v);
      return sendJson(res, 200, { message: 'Plugin settings updated' });
    }
    if (path === '/api/datasources' && method === 'GET') return sendJson(res, 200, [lokiSettings()]);
    if (path === `/api/datasources/uid/${ds.uid}`) return sendJson(res, 200, lokiSettings());
    if (path === '/api/ds/query' && method === 'POST') {
      const body = JSON.parse((await readBody(req)).toString());
      const unknown = body.queries.find((q: any) => q.datasource?.uid && q.datasource.uid !== ds.uid);
      if (unknown) return sendJson(res, 404, { message: 'Data source not found' });
      const r = await handleDsQuery(ds.url, body);
      return sendJson(res, r.status, r.json);
    }
    if ((m = new RegExp(`^/api/datasources/proxy/uid/${ds.uid}/(.*)$`).exec(rawPath))) {
      const check = checkDataSourceProxy(ds.type, LOKI_ROUTES, method, m[1], user);
      if (!check.ok) return sendJson(res, check.status, { message: check.message });
      const headers: Record<string, string> = { 'user-agent': `Grafana/${GRAFANA_VERSION}` };
      const accept = req.headers['accept'];
      if (accept) headers['accept'] = accept;
      if (opts.grafana.sendUserHeader) headers['x-grafana-user'] = user.login;
      return forward(
        res,
        `${ds.url.replace(/\/+$/, '')}/${m[1]}${query ? `?${query}` : ''}`,
        method,
        headers,
        await readBody(req),
        (status) =>
          status === 401 ? { status: 400, body: 'Authentication to data source failed' } : undefined
      );
    }
    if ((m = new RegExp(`^/api/datasources/uid/${ds.uid}/resources/(.*)$`).exec(path))) {
      return forward(res, `${ds.url}/loki/api/v1/${m[1]}${query ? `?${query}` : ''}`, 'GET', {});
    }
    if ((m = /^\/api\/plugin-proxy\/([^/]+)(\/.*)?$/.exec(rawPath))) {
      // pkg/api/api.go: the proxy needs plugins.app:access on the app, and an installed app.
      if (m[1] !== pluginId || !app.loaded)
        return sendJson(res, 404, { message: 'Plugin not found, no installed plugin with that id' });
      if (!hasRouteAction(user, pluginId, 'plugins.app:access'))
        return sendJson(res, 403, { message: 'Permission denied' });
      const d = routeRequest(
        routes,
        {
          method,
          proxyPath: m[2] ?? '',
          query,
          headers: incomingHeaders(req),
          remoteAddress: req.socket.remoteAddress ?? '',
        },
        settings,
        user,
        { sendUserHeader: opts.grafana.sendUserHeader },
        pluginId
      );
      if (d.kind === 'error') return sendJson(res, d.status, { message: d.message });
      lastProxiedHeaders = d.headers;
      return forward(res, d.url, method, d.headers, d.body ?? (await readBody(req)));
    }
    return sendJson(res, 404, { message: 'Not found' });
  }

  const server = createServer(async (req, res) => {
    const u = new URL(req.url ?? '/', 'http://host');
    const path = decodeURIComponent(u.pathname);
    const query = u.search.slice(1);
    res.on('finish', () => requests.push({ method: req.method ?? 'GET', path, status: res.statusCode }));
    try {
      if (path.startsWith('/api/')) return await api(req, res, u.pathname, query);
      if (path === '/host/bundle.js')
        return void res.writeHead(200, { 'content-type': MIME['.js'] }).end(bundle.js);
      if (path === '/host/bundle.css')
        return void res.writeHead(200, { 'content-type': MIME['.css'] }).end(bundle.css);
      if (path === '/host/systemjs.js')
        return void res.writeHead(200, { 'content-type': MIME['.js'] }).end(systemjs);
      const prefix = `/public/plugins/${pluginId}/`;
      if (path.startsWith(prefix)) {
        const rel = path.slice(prefix.length);
        // A plugin Grafana did not load is not served, nor is a nested one it refused.
        const owner = plugins
          .filter((p) => p.dir === '' || rel.startsWith(`${p.dir}/`))
          .sort((a, b) => b.dir.length - a.dir.length)[0];
        const file = normalize(join(dist, rel));
        if (!owner?.loaded || !file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile())
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
    lastProxiedHeaders: () => lastProxiedHeaders,
    setRole(role, login) {
      user = newUser(role, login ?? role.toLowerCase());
    },
    setPreferences(p) {
      Object.assign(prefs, p);
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
