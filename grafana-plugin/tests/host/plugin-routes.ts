/**
 * STAND-IN FOR GRAFANA'S APP PLUGIN PROXY (`/api/plugin-proxy/<id>/<path>`): grafana
 * pkg/api/plugin_proxy.go (the proxy path), pkg/api/pluginproxy/pluginproxy.go (route
 * choice, access check, director), pkg/api/pluginproxy/utils.go (templates, headers),
 * pkg/util/proxyutil/proxyutil.go and reverse_proxy.go (headers stripped and set, response
 * headers, upstream errors). Rules modelled (read from those files, written anew here):
 *
 * - The proxy path is the escaped request path after `/api/plugin-proxy/<id>`, cleaned.
 * - Routes are tried in plugin.json order. A route is skipped unless its `method` is empty,
 *   `*`, or exactly the request method (case-sensitive), and its `path` matches in the
 *   router tree (./route-tree.ts). The first route that passes both is the one used; no
 *   route: 404 `plugin route match not found`.
 * - Access: `reqAction` (RBAC, evaluated first and alone when set), else a valid `reqRole`
 *   (Viewer < Editor < Admin, the org role); a misspelt role is not valid and checks
 *   nothing. Denied: 403 `plugin proxy route access denied`.
 * - Upstream: route `url` (Go template over JsonData/SecureJsonData; a missing key prints
 *   `<no value>`) joined with what `*` captured; a route without `*` forwards to its url
 *   alone. The query string is kept.
 * - Request headers: Cookie, Set-Cookie, Origin, Referer, X-Forwarded-Host/-Port/-Proto and
 *   any client X-Grafana-User are removed; X-Grafana-Referer (the old Referer),
 *   X-Forwarded-For and X-Grafana-Context (the signed-in user) are set; X-Grafana-User only
 *   when `[dataproxy] send_user_header` is on; route headers are set last (they win).
 * - Response: Set-Cookie removed, `Content-Security-Policy: sandbox` added; unreachable
 *   upstream 502 with an empty body.
 */
import { matchRoute } from './route-tree';

export type OrgRole = 'Viewer' | 'Editor' | 'Admin';
const RANK: Record<OrgRole, number> = { Viewer: 1, Editor: 2, Admin: 3 };

/** One `routes[]` entry of plugin.json. */
export interface PluginRoute {
  path: string;
  method?: string;
  url?: string;
  reqRole?: string;
  reqAction?: string;
  headers?: { name: string; content: string }[];
  body?: unknown;
}

export interface PluginSettings {
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
}

/** The signed-in user: org role and RBAC permissions (action -> scopes), as Grafana resolves them. */
export interface ProxyUser {
  id: number;
  login: string;
  role: OrgRole;
  permissions: Record<string, string[]>;
}

/** The Grafana settings the proxy reads (grafana.ini `[dataproxy] send_user_header`). */
export interface ProxyConfig {
  sendUserHeader: boolean;
}

/** A request as it reached Grafana. */
export interface ProxyRequest {
  method: string;
  /** Escaped path after `/api/plugin-proxy/<id>`. */
  proxyPath: string;
  query: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  remoteAddress: string;
}

/** Outcome of a request: forward it, or answer with an error as Grafana does. */
export type RouteDecision =
  | { kind: 'forward'; route: PluginRoute; url: string; headers: Record<string, string>; body?: string }
  | { kind: 'error'; status: number; message: string };

/** Basic-role permissions of the host's users (a subset of Grafana's fixed roles). */
export function basicRolePermissions(role: OrgRole): Record<string, string[]> {
  const p: Record<string, string[]> = {
    'plugins.app:access': ['plugins:*'],
    'datasources:query': ['datasources:*'],
  };
  if (role === 'Admin') p['plugins:write'] = ['plugins:*'];
  return p;
}

/** `{{ .JsonData.url }}/x` with jsonData {url:'http://a'} -> `http://a/x`. */
export function interpolate(template: string, s: PluginSettings): string {
  return template.replace(
    /\{\{\s*\.(JsonData|SecureJsonData)\.([A-Za-z0-9_]+)\s*\}\}/g,
    (_, bag: string, key: string) => {
      const v = bag === 'JsonData' ? s.jsonData[key] : s.secureJsonData[key];
      return v === undefined || v === null ? '<no value>' : String(v);
    }
  );
}

/** util.JoinURLFragments: exactly one slash between the parts; an empty second part adds nothing. */
function joinUrlFragments(a: string, b: string): string {
  if (!b) return a;
  const aSlash = a.endsWith('/');
  const bSlash = b.startsWith('/');
  if (aSlash && bSlash) return a + b.slice(1);
  if (!aSlash && !bSlash) return `${a}/${b}`;
  return a + b;
}

/** path.Join("/", p): collapse slashes, resolve `.`/`..`, no trailing slash. */
export function cleanProxyPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

/** Scopes `plugins:id:<id>` are covered by `plugins:*`, `plugins:id:*` and themselves. */
function scopeCovers(granted: string, wanted: string): boolean {
  if (granted === wanted || granted === '*') return true;
  return granted.endsWith('*') && wanted.startsWith(granted.slice(0, -1));
}

/** pluginaccesscontrol.GetPluginRouteEvaluator: plugins:write and plugins.app:access are scoped to the plugin. */
export function hasRouteAction(user: ProxyUser, pluginId: string, action: string): boolean {
  const scopes = user.permissions[action];
  if (!scopes) return false;
  if (action !== 'plugins:write' && action !== 'plugins.app:access') return true;
  return scopes.some((s) => scopeCovers(s, `plugins:id:${pluginId}`));
}

function hasAccess(route: PluginRoute, user: ProxyUser, pluginId: string): boolean {
  if (route.reqAction) return hasRouteAction(user, pluginId, route.reqAction);
  const role = route.reqRole as OrgRole | undefined;
  if (role && role in RANK) return RANK[user.role] >= RANK[role];
  return true;
}

const STRIPPED = [
  'cookie',
  'set-cookie',
  'origin',
  'referer',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-proto',
  'x-grafana-user',
];
/** Hop-by-hop and framing headers the HTTP client sets itself. */
const HOP_BY_HOP = [
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'upgrade',
  'content-length',
];

/** Set a header, replacing any spelling of the same name (Go's Header.Set canonicalises). */
function setHeader(h: Record<string, string>, name: string, value: string) {
  for (const k of Object.keys(h)) if (k.toLowerCase() === name.toLowerCase()) delete h[k];
  h[name] = value;
}

/** Decide what Grafana would do with this request for this plugin. */
export function routeRequest(
  routes: PluginRoute[],
  req: ProxyRequest,
  settings: PluginSettings,
  user: ProxyUser,
  cfg: ProxyConfig,
  pluginId: string
): RouteDecision {
  const proxyPath = cleanProxyPath(req.proxyPath);
  for (const route of routes) {
    if (route.method && route.method !== '*' && route.method !== req.method) continue;
    const params = matchRoute(route.path, proxyPath);
    if (!params) continue;
    if (!hasAccess(route, user, pluginId))
      return { kind: 'error', status: 403, message: 'plugin proxy route access denied' };
    const base = interpolate(route.url ?? '', settings);
    const url = joinUrlFragments(base, params['*'] ?? '') + (req.query ? `?${req.query}` : '');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (!STRIPPED.includes(k) && !HOP_BY_HOP.includes(k)) headers[k] = v;
    headers['x-grafana-referer'] = req.headers['referer'] ?? '';
    const xff = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = xff ? `${xff}, ${req.remoteAddress}` : req.remoteAddress;
    headers['x-grafana-context'] = JSON.stringify({ UserID: user.id, Login: user.login, OrgRole: user.role });
    if (cfg.sendUserHeader) headers['x-grafana-user'] = user.login;
    for (const h of route.headers ?? []) setHeader(headers, h.name, interpolate(h.content, settings));
    const body = route.body === undefined ? undefined : interpolate(JSON.stringify(route.body), settings);
    return { kind: 'forward', route, url, headers, body };
  }
  return { kind: 'error', status: 404, message: 'plugin route match not found' };
}
