import { EVENT_TYPE_NAMES, type EventType } from './event-types';
import { FIELDS, lokiName } from './fields';
import { EVENT_ID_LABEL, EVENT_TYPE_LABEL } from './loki-labels';
import { SERVICE_NAMESPACE } from './otlp';

/**
 * LogQL builders. Every user value goes through {@link quote} (and, inside a
 * regex, {@link escapeRegex} first), so a search box or a scope picker can
 * never change the shape of the query.
 */

/** The scope of an investigation; each set field narrows it. */
export interface Scope {
  host?: string;
  containerId?: string;
  containerName?: string;
  imageName?: string;
  imageDigest?: string;
  namespace?: string;
  pod?: string;
}
export const SCOPE_KEYS = [
  'host',
  'containerId',
  'containerName',
  'imageName',
  'imageDigest',
  'namespace',
  'pod',
] as const;
export type ScopeKey = (typeof SCOPE_KEYS)[number];

export interface EventFilter {
  scope?: Scope;
  /** Types to keep; undefined keeps all, an empty list keeps none. */
  types?: readonly EventType[];
  /** Case-insensitive substring of the message. */
  search?: string;
}

/**
 * Quote a value as a LogQL double-quoted string (Go strconv.Unquote rules).
 *
 * @example quote('a"b\\c\n') // => "\"a\\\"b\\\\c\\n\""
 */
export function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return out + '"';
}

/**
 * Escape RE2 metacharacters so the value matches literally (Go regexp.QuoteMeta).
 *
 * @example escapeRegex('a.b*(c)') // => 'a\\.b\\*\\(c\\)'
 */
export function escapeRegex(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/**
 * The stream selector: Casefile's namespace, and the host when the scope has one
 * (host is the only scope field that is a stream label).
 *
 * @example streamSelector({ host: 'node-1' }) // => '{service_namespace="casefile", host_name="node-1"}'
 */
export function streamSelector(scope: Scope = {}): string {
  const m = [`service_namespace=${quote(SERVICE_NAMESPACE)}`];
  if (scope.host) m.push(`${lokiName(FIELDS.host.attr)}=${quote(scope.host)}`);
  return `{${m.join(', ')}}`;
}

/** Label filters for the scope's metadata fields, in SCOPE_KEYS order. */
function scopeFilters(scope: Scope = {}): string[] {
  const out: string[] = [];
  for (const k of SCOPE_KEYS) {
    const v = scope[k];
    if (k === 'host' || !v) continue;
    out.push(`| ${lokiName(FIELDS[k].attr)}=${quote(v)}`);
  }
  return out;
}

function typeFilter(types?: readonly EventType[]): string[] {
  if (!types) return [];
  const known = EVENT_TYPE_NAMES.filter((t) => types.includes(t));
  if (known.length === EVENT_TYPE_NAMES.length) return [];
  // No types: a filter nothing passes (every event has a type).
  if (known.length === 0) return [`| ${EVENT_TYPE_LABEL}=""`];
  if (known.length === 1) return [`| ${EVENT_TYPE_LABEL}=${quote(known[0])}`];
  return [`| ${EVENT_TYPE_LABEL}=~${quote(known.map(escapeRegex).join('|'))}`];
}

function searchFilter(search?: string): string[] {
  if (!search) return [];
  return [`|~ ${quote('(?i)' + escapeRegex(search))}`];
}

/**
 * The log query for a filter: selector, line search, then metadata filters.
 *
 * @example eventsQuery({ scope: { containerName: 'web' }, types: ['process.start'], search: 'nc -l' })
 *   // => '{service_namespace="casefile"} |~ "(?i)nc -l" | container_name="web" | casefile_event_type="process.start"'
 */
export function eventsQuery(f: EventFilter = {}): string {
  return [
    streamSelector(f.scope),
    ...searchFilter(f.search),
    ...scopeFilters(f.scope),
    ...typeFilter(f.types),
  ].join(' ');
}

/**
 * Event counts per type over time, for the timeline (a Loki metric query).
 *
 * @example countByTypeQuery({}, '1m') // => 'sum by (casefile_event_type) (count_over_time({service_namespace="casefile"} [1m]))'
 */
export function countByTypeQuery(f: EventFilter, step: string): string {
  return `sum by (${EVENT_TYPE_LABEL}) (count_over_time(${eventsQuery(f)} [${checkDuration(step)}]))`;
}

/**
 * Distinct values of one scope field within a filter and range, for pickers.
 *
 * @example distinctValuesQuery('containerName', {}, '1h') // => 'count by (container_name) (count_over_time({service_namespace="casefile"} [1h]))'
 */
export function distinctValuesQuery(key: ScopeKey, f: EventFilter, range: string): string {
  return `count by (${lokiName(FIELDS[key].attr)}) (count_over_time(${eventsQuery(f)} [${checkDuration(range)}]))`;
}

/** The query for one event by id (its details). */
export function eventByIdQuery(id: string, scope?: Scope): string {
  return `${streamSelector(scope)} | ${EVENT_ID_LABEL}=${quote(id)}`;
}

/** A LogQL duration such as `30s`, `5m`, `1h30m`; throws on anything else (never interpolated raw). */
export function checkDuration(d: string): string {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(d)) throw new Error(`not a LogQL duration: ${JSON.stringify(d)}`);
  return d;
}

/** A step for a time range that yields about `points` buckets, rounded to a readable unit. */
export function stepFor(rangeMs: number, points = 120): string {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  const want = rangeMs / 1000 / points;
  const s = steps.find((x) => x >= want) ?? Math.ceil(want / 86400) * 86400;
  return s % 86400 === 0
    ? `${s / 86400}d`
    : s % 3600 === 0
      ? `${s / 3600}h`
      : s % 60 === 0
        ? `${s / 60}m`
        : `${s}s`;
}

/**
 * Event counts over a range grouped by any fields (metadata or labels), for
 * alert rules: one series per distinct combination.
 *
 * @example countByFieldsQuery(['attackType', 'host'], { types: ['runtime.audit'] }, '1m')
 *   // => 'sum by (casefile_audit_attack_type, host_name) (count_over_time({service_namespace="casefile"} | casefile_event_type="runtime.audit" [1m]))'
 */
export function countByFieldsQuery(
  fields: readonly (keyof typeof FIELDS)[],
  f: EventFilter,
  range: string
): string {
  const by = fields.map((k) => lokiName(FIELDS[k].attr)).join(', ');
  return `sum by (${by}) (count_over_time(${eventsQuery(f)} [${checkDuration(range)}]))`;
}

/** Grafana's range variables: a dashboard query may use them where a range goes; Grafana fills them in. */
export const GRAFANA_RANGE_VARIABLES = ['$__auto', '$__interval', '$__range'] as const;

/**
 * Dashboard template variables standing for scope values, by scope key (`{ host: 'host' }` reads `$host`).
 * A value reaches LogQL through Grafana's `regex` format inside a raw string, so it matches literally,
 * whatever it holds (Kubernetes and container names cannot hold the backtick that would end the string).
 */
export type ScopeVariables = Partial<Record<ScopeKey, string>>;

/** The filter of a provisioned dashboard panel or alert rule: template variables instead of scope values, and exact values of further fields. */
export interface DashboardFilter extends Omit<EventFilter, 'scope'> {
  /** The host variable is matched exactly (a stream label); the others as a substring, so an empty text box keeps every event. */
  variables?: ScopeVariables;
  /** Exact values, e.g. `{ severity: 'critical' }`. */
  equals?: Partial<Record<keyof typeof FIELDS, string>>;
}

function variableName(v: string): string {
  if (!/^[A-Za-z_]\w*$/.test(v)) throw new Error(`not a dashboard variable name: ${JSON.stringify(v)}`);
  return v;
}

/**
 * The log query of a dashboard panel.
 *
 * @example dashboardEventsQuery({ variables: { host: 'host', containerName: 'container' }, types: ['port.listen'] })
 *   // => '{service_namespace="casefile", host_name=~`${host:regex}`} | container_name=~`.*${container:regex}.*` | casefile_event_type="port.listen"'
 */
export function dashboardEventsQuery(f: DashboardFilter = {}): string {
  const vars = f.variables ?? {};
  const host = vars.host
    ? `{service_namespace=${quote(SERVICE_NAMESPACE)}, ${lokiName(FIELDS.host.attr)}=~\`\${${variableName(vars.host)}:regex}\`}`
    : streamSelector();
  const metadata = SCOPE_KEYS.filter((k) => k !== 'host' && vars[k]).map(
    (k) => `| ${lokiName(FIELDS[k].attr)}=~\`.*\${${variableName(vars[k]!)}:regex}.*\``
  );
  const equals = Object.entries(f.equals ?? {}).map(
    ([k, v]) => `| ${lokiName(FIELDS[k as keyof typeof FIELDS].attr)}=${quote(v!)}`
  );
  return [host, ...searchFilter(f.search), ...metadata, ...typeFilter(f.types), ...equals].join(' ');
}

/**
 * Counts of a dashboard's events grouped by fields (`'type'`: the event type), over a duration or a
 * Grafana range variable.
 *
 * @example dashboardCountQuery(['imageName'], { types: ['runtime.audit'] }, '$__auto')
 *   // => 'sum by (container_image_name) (count_over_time({service_namespace="casefile"} | casefile_event_type="runtime.audit" [$__auto]))'
 */
export function dashboardCountQuery(
  fields: readonly (keyof typeof FIELDS | 'type')[],
  f: DashboardFilter,
  range: string
): string {
  const r = (GRAFANA_RANGE_VARIABLES as readonly string[]).includes(range) ? range : checkDuration(range);
  const by = fields.map((k) => (k === 'type' ? EVENT_TYPE_LABEL : lokiName(FIELDS[k].attr))).join(', ');
  return `sum by (${by}) (count_over_time(${dashboardEventsQuery(f)} [${r}]))`;
}
