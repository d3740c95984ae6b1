/**
 * STAND-IN FOR GRAFANA'S BACKEND: the app plugin proxy (`/api/plugin-proxy/<id>/<path>`,
 * grafana pkg/api/pluginproxy). Applies the routes of the plugin's own plugin.json the way
 * Grafana does: first route whose method matches and whose path is a prefix of the request
 * path; `reqRole` checked against the signed-in user's org role (403 when too low);
 * `{{ .JsonData.x }}` / `{{ .SecureJsonData.x }}` templated into url, headers and body
 * (Go templates print `<no value>` for a missing key); cookies dropped; `X-Grafana-User`
 * added as with `send_user_header = true`.
 */

export type OrgRole = 'Viewer' | 'Editor' | 'Admin';
const RANK: Record<OrgRole, number> = { Viewer: 1, Editor: 2, Admin: 3 };

export interface PluginRoute {
  path: string;
  method?: string;
  url?: string;
  reqRole?: OrgRole;
  reqAction?: string;
  headers?: { name: string; content: string }[];
  body?: unknown;
}

export interface PluginSettings {
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
}

/** Outcome of matching a request: forward it, or answer with an error as Grafana does. */
export type RouteDecision =
  | { kind: 'forward'; url: string; headers: Record<string, string>; body?: string }
  | { kind: 'error'; status: number; message: string };

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

function joinUrlFragments(a: string, b: string): string {
  if (!b) return a;
  return a.replace(/\/+$/, '') + '/' + b.replace(/^\/+/, '');
}

/**
 * Decide what Grafana would do with `method proxyPath?query` for this plugin.
 * `proxyPath` is the part after `/api/plugin-proxy/<id>/`.
 */
export function routeRequest(
  routes: PluginRoute[],
  method: string,
  proxyPath: string,
  query: string,
  settings: PluginSettings,
  user: { login: string; role: OrgRole }
): RouteDecision {
  const path = proxyPath.replace(/^\/+/, '');
  for (const route of routes) {
    if (route.method && route.method !== '*' && route.method.toUpperCase() !== method.toUpperCase()) continue;
    const prefix = route.path.replace(/^\/+/, '');
    if (!path.startsWith(prefix)) continue;
    if (route.reqAction)
      throw new Error(`host stand-in does not model reqAction (${route.reqAction}); use reqRole`);
    if (route.reqRole && RANK[user.role] < RANK[route.reqRole]) {
      return { kind: 'error', status: 403, message: 'plugin proxy route access denied' };
    }
    if (!route.url) return { kind: 'error', status: 500, message: 'route has no url' };
    const base = interpolate(route.url, settings);
    const url = joinUrlFragments(base, path.slice(prefix.length)) + (query ? `?${query}` : '');
    const headers: Record<string, string> = { 'X-Grafana-User': user.login };
    for (const h of route.headers ?? []) headers[h.name] = interpolate(h.content, settings);
    const body = route.body === undefined ? undefined : interpolate(JSON.stringify(route.body), settings);
    return { kind: 'forward', url, headers, body };
  }
  return { kind: 'error', status: 404, message: 'plugin route match not found' };
}
