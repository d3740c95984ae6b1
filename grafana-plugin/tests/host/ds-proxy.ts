/**
 * STAND-IN FOR GRAFANA'S DATA SOURCE PROXY RULES (`/api/datasources/proxy/uid/<uid>/<path>`):
 * grafana pkg/api/pluginproxy/ds_proxy.go (validateRequest, hasAccessToRoute, director) and
 * the Loki data source's plugin.json `routes` (public/app/plugins/datasource/loki/plugin.json).
 * Rules modelled (read from those files, written anew here):
 *
 * - The data source's routes are tried in order: method empty, `*` or equal, and the cleaned
 *   request path has the cleaned route path as a PREFIX (this proxy matches by prefix, unlike
 *   the app plugin proxy). The first match is access-checked (`reqAction` first, else
 *   `reqRole`): denied is 403 `plugin proxy route access denied`.
 * - No route matched: for Loki (and the Prometheus family) DELETE, PUT and POST are refused
 *   with 403 `non allow-listed <METHOD>s not allowed on proxied loki datasource`; GET passes.
 * - Loki's routes are declared without the `loki/` prefix (`api/v1/query_range`), so the
 *   plugin's `loki/api/v1/...` GETs match none of them and pass as plain GETs, and a POST
 *   to `loki/api/v1/query_range` is refused.
 * - Forwarding: cookies are dropped (keepCookies aside), X-Grafana-User only with
 *   send_user_header, User-Agent `Grafana/<version>`; an upstream 401 becomes 400
 *   `Authentication to data source failed`.
 */
import type { ProxyUser } from './plugin-routes';

/** A data source plugin route: method, path and the access it needs. */
export interface DataSourceRoute {
  method: string;
  path: string;
  reqRole?: 'Viewer' | 'Editor' | 'Admin';
  reqAction?: string;
}

const q = (method: string, path: string): DataSourceRoute => ({
  method,
  path,
  reqRole: 'Viewer',
  reqAction: 'datasources:query',
});
const rulesRead = (path: string): DataSourceRoute => ({
  method: 'GET',
  path,
  reqRole: 'Viewer',
  reqAction: 'alert.rules.external:read',
});
const rulesWrite = (method: string, path: string): DataSourceRoute => ({
  method,
  path,
  reqRole: 'Editor',
  reqAction: 'alert.rules.external:write',
});

/** The Loki data source's routes as Grafana 13 declares them (the query and rules endpoints). */
export const LOKI_ROUTES: DataSourceRoute[] = [
  q('GET', '/api/v1/query'),
  q('GET', '/api/v1/query_range'),
  q('POST', '/api/v1/query_range'),
  q('GET', '/api/v1/labels'),
  q('GET', '/api/v1/label'),
  q('GET', '/api/v1/series'),
  q('POST', '/api/v1/series'),
  q('GET', '/api/v1/index/stats'),
  q('GET', '/api/v1/index/volume'),
  q('GET', '/api/v1/index/volume_range'),
  q('GET', '/api/v1/patterns'),
  q('GET', '/api/v1/tail'),
  q('GET', '/api/v1/status/buildinfo'),
  q('GET', '/api/v1/format_query'),
  q('POST', '/api/v1/format_query'),
  ...['/api/v1/rules', '/loki/api/v1/rules', '/rules', '/api/prom/rules'].flatMap((p) => [
    rulesRead(p),
    rulesWrite('POST', p),
    rulesWrite('DELETE', p),
  ]),
];

/** plugins.CleanRelativePath: a clean path without leading slash; "" for the root. */
function cleanRelative(p: string): string {
  const parts: string[] = [];
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') parts.pop();
    else parts.push(s);
  }
  return parts.join('/');
}

const RANK = { Viewer: 1, Editor: 2, Admin: 3 } as const;

/** Whether Grafana forwards `method path` to a data source of `type`, or the 403 it answers. */
export function checkDataSourceProxy(
  type: string,
  routes: DataSourceRoute[],
  method: string,
  proxyPath: string,
  user: ProxyUser
): { ok: true } | { ok: false; status: 403; message: string } {
  const path = cleanRelative(proxyPath);
  for (const r of routes) {
    if (r.method && r.method !== '*' && r.method !== method) continue;
    if (!path.startsWith(cleanRelative(r.path))) continue;
    const allowed = r.reqAction
      ? Boolean(user.permissions[r.reqAction])
      : !r.reqRole || RANK[user.role] >= RANK[r.reqRole];
    return allowed ? { ok: true } : { ok: false, status: 403, message: 'plugin proxy route access denied' };
  }
  const strict = [
    'prometheus',
    'grafana-amazonprometheus-datasource',
    'grafana-azureprometheus-datasource',
    'loki',
  ];
  if (strict.includes(type) && ['DELETE', 'PUT', 'POST'].includes(method))
    return {
      ok: false,
      status: 403,
      message: `non allow-listed ${method}s not allowed on proxied ${type} datasource`,
    };
  return { ok: true };
}
