/**
 * STAND-IN FOR GRAFANA'S ROUTER TREE (grafana pkg/web/tree.go, Macaron's tree), as the app
 * plugin proxy uses it: one tree per plugin.json route, holding that route's `path`, matched
 * against the request's proxy path. Rules modelled (read from tree.go, written anew here):
 *
 * - The pattern loses one trailing `/`, then one leading `/` per segment; the request path
 *   loses one leading and one trailing `/`. Segments are compared URL-unescaped.
 * - A static segment matches only itself: `api/v1` does not match `api/v1/snapshots`.
 * - `*` as the last segment matches one or more remaining segments (slashes included) and
 *   captures them as `*`; it does not match the bare prefix (`api/v1/*` vs `api/v1`).
 * - `*.*` as the last segment captures `:path` and `:ext`.
 * - `:name` as a whole segment matches any one segment (`:name` as the last segment also
 *   matches an empty one); `:name(re)`, `:name:int`, `:name:string` and segments that mix
 *   text with a placeholder are regular expressions, searched unanchored as Go does.
 * - `*` in the middle matches exactly one segment and captures it as `*<level>`, not `*`.
 */

type SegmentKind = 'static' | 'regexp' | 'pathExt' | 'holder' | 'matchAll';

interface Segment {
  kind: SegmentKind;
  text: string;
  wildcards: string[];
  re?: RegExp;
}

/** The captured parameters of a match (`*`, `:name`, `*0`, `:path`, `:ext`). */
export type RouteParams = Record<string, string>;

const PLACEHOLDER = /:[a-zA-Z0-9]+/;

/** `:id` -> `(.+)`, `:id:int` -> `([0-9]+)`, `:id:string` -> `([\w]+)`, `:id(re)` -> `(re)`. */
function toRegexp(pattern: string): { source: string; wildcards: string[] } {
  const wildcards: string[] = [];
  let p = pattern;
  for (;;) {
    const m = PLACEHOLDER.exec(p);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    wildcards.push(m[0]);
    if (end === p.length) p = p.slice(0, start) + '(.+)' + p.slice(end);
    else if (p[end] === '(') p = p.slice(0, start) + p.slice(end);
    else if (p.startsWith(':int', end)) p = p.slice(0, start) + '([0-9]+)' + p.slice(end + 4);
    else if (p.startsWith(':string', end)) p = p.slice(0, start) + '([\\w]+)' + p.slice(end + 7);
    else p = p.slice(0, start) + '(.+)' + p.slice(end);
  }
  return { source: p, wildcards };
}

function segment(pattern: string): Segment {
  const text = pattern.replace(/^\?/, '');
  if (text === '*') return { kind: 'matchAll', text, wildcards: [] };
  if (text === '*.*') return { kind: 'pathExt', text, wildcards: [] };
  if (text.includes(':')) {
    const { source, wildcards } = toRegexp(text);
    if (source === '(.+)') return { kind: 'holder', text, wildcards };
    return { kind: 'regexp', text, wildcards, re: new RegExp(source) };
  }
  return { kind: 'static', text, wildcards: [] };
}

/** A route path compiled into the chain of subtree segments and its leaf. */
export interface CompiledRoute {
  subtrees: Segment[];
  leaf: Segment;
}

/** Compile a plugin.json route `path` the way tree.Add splits it. */
export function compileRoute(path: string): CompiledRoute {
  let p = path.endsWith('/') ? path.slice(0, -1) : path;
  const subtrees: Segment[] = [];
  for (;;) {
    if (p.startsWith('/')) p = p.slice(1);
    const i = p.indexOf('/');
    if (i === -1) return { subtrees, leaf: segment(p) };
    subtrees.push(segment(p.slice(0, i)));
    p = p.slice(i + 1);
  }
}

function unescape(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function matchLeaf(leaf: Segment, rawUrl: string, level: number, params: RouteParams): boolean {
  const url = unescape(rawUrl);
  if (url === undefined) return false;
  switch (leaf.kind) {
    case 'static':
      return leaf.text === url;
    case 'regexp': {
      const m = leaf.re!.exec(url);
      if (!m || m.length - 1 !== leaf.wildcards.length) return false;
      leaf.wildcards.forEach((w, j) => (params[w] = m[j + 1]));
      return true;
    }
    case 'pathExt': {
      const j = url.lastIndexOf('.');
      params[':path'] = j > -1 ? url.slice(0, j) : url;
      if (j > -1) params[':ext'] = url.slice(j + 1);
      return true;
    }
    case 'holder':
      params[leaf.wildcards[0]] = url;
      return true;
    case 'matchAll':
      params['*'] = url;
      params[`*${level}`] = url;
      return true;
  }
}

function matchFrom(
  route: CompiledRoute,
  depth: number,
  url: string,
  level: number,
  params: RouteParams
): boolean {
  const slash = url.indexOf('/');
  const atLeaf = depth === route.subtrees.length;
  if (slash === -1) return atLeaf && matchLeaf(route.leaf, url, level, params);
  const before = url.slice(0, slash);
  const after = url.slice(slash + 1);
  if (!atLeaf) {
    const seg = route.subtrees[depth];
    const value = unescape(before);
    if (value === undefined) return false;
    const trial: RouteParams = { ...params };
    let ok = false;
    if (seg.kind === 'static') ok = seg.text === value && matchFrom(route, depth + 1, after, level, trial);
    else if (seg.kind === 'regexp') {
      const m = seg.re!.exec(value);
      if (m && m.length - 1 === seg.wildcards.length) {
        seg.wildcards.forEach((w, j) => (trial[w] = m[j + 1]));
        ok = matchFrom(route, depth + 1, after, level, trial);
      }
    } else if (seg.kind === 'holder') {
      ok = matchFrom(route, depth + 1, after, level + 1, trial);
      if (ok) trial[seg.wildcards[0]] = value;
    } else if (seg.kind === 'matchAll') {
      ok = matchFrom(route, depth + 1, after, level + 1, trial);
      if (ok) trial[`*${level}`] = value;
    }
    if (ok) Object.assign(params, trial);
    return ok;
  }
  // A leaf that swallows the rest of the path: `*` or `*.*` (tree.go's fallback to the last leaf).
  const rest = unescape(`${before}/${after}`);
  if (rest === undefined) return false;
  if (route.leaf.kind === 'matchAll') {
    params['*'] = rest;
    params[`*${level}`] = rest;
    return true;
  }
  if (route.leaf.kind === 'pathExt') {
    const j = rest.lastIndexOf('.');
    params[':path'] = j > -1 ? rest.slice(0, j) : rest;
    if (j > -1) params[':ext'] = rest.slice(j + 1);
    return true;
  }
  return false;
}

/**
 * Match a request path (URL-escaped, as Grafana passes it) against one route path.
 *
 * @example matchRoute('api/v1/*', '/api/v1/snapshots/a/lock') // => { '*': 'snapshots/a/lock', '*0': ... }
 * @example matchRoute('api/v1', '/api/v1/snapshots') // => undefined
 */
export function matchRoute(routePath: string, requestPath: string): RouteParams | undefined {
  let url = requestPath.startsWith('/') ? requestPath.slice(1) : requestPath;
  if (url.endsWith('/')) url = url.slice(0, -1);
  const params: RouteParams = {};
  return matchFrom(compileRoute(routePath), 0, url, 0, params) ? params : undefined;
}
