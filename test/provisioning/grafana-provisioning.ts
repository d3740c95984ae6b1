/**
 * Casefile's Grafana provisioning read the way Grafana 13 reads it, from the folders
 * docker-compose.yml mounts under /etc/grafana/provisioning, with the environment compose
 * gives Grafana. Every file is parsed by the rules of Grafana's readers and every value
 * goes through Grafana's expansion (./grafana-expand.ts); what Grafana would reject, or
 * expand to empty, is a problem. Sources followed (grafana, read for the rules):
 *
 * - datasources: pkg/services/provisioning/datasources/config_reader.go, types.go —
 *   apiVersion >= 1, name/type, uid (<= 40 of [A-Za-z0-9_-]), access proxy|direct, at
 *   most one isDefault per org, every field expanded (bools must parse).
 * - plugins: pkg/services/provisioning/plugins/config_reader.go, types.go — `type` required
 *   and installed, jsonData/secureJsonData expanded.
 * - dashboards: pkg/services/provisioning/dashboards/config_reader.go, file_reader.go —
 *   providers with options.path, dashboard JSON with title and uid; JSON is not expanded, so
 *   `${DS_...}` inputs of an exported dashboard stay unresolved.
 * - alerting: pkg/services/provisioning/alerting/rules_types.go — group name, folder and
 *   interval, rule uid/title/condition/data, `for` and states; labels expanded, annotations
 *   and query models taken raw; contact points, templates and policies in ./grafana-notifications.ts.
 *
 * Cross references: the app's jsonData.lokiUid, dashboard panels and alert queries name a
 * provisioned data source uid of the right type; the app's plugin routes template only
 * jsonData/secureJsonData keys that are provisioned; panels use core or installed panel
 * plugins; every unsigned plugin id (the app and each nested plugin) is allowed.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { composeGrafana, hostPathOf, REPO_ROOT, type ComposeGrafana } from './compose-grafana';
import { expandValue } from './grafana-expand';
import {
  checkNotifications,
  emptyNotifications,
  readNotifications,
  type Notifications,
} from './grafana-notifications';

export interface Problem {
  file: string;
  where: string;
  message: string;
}

export interface ProvisionedDataSource {
  name: string;
  uid: string;
  type: string;
  url: string;
  access: string;
  isDefault: boolean;
  orgId: number;
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
}

export interface ProvisionedApp {
  type: string;
  orgId: number;
  enabled: boolean;
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
}

export interface Provisioning {
  grafana: ComposeGrafana;
  datasources: ProvisionedDataSource[];
  apps: ProvisionedApp[];
  dashboards: { file: string; uid: string; title: string; folder: string }[];
  alertRules: { uid: string; title: string; folder: string; group: string }[];
  /** Contact points, notification templates and the policy tree. */
  notifications: Notifications;
  problems: Problem[];
}

/** The Casefile plugin as Grafana finds it installed: the app and its nested plugins. */
export interface InstalledPlugin {
  id: string;
  type: string;
  routes: { path: string; url?: string; headers?: { name: string; content: string }[] }[];
  children: { id: string; type: string }[];
}

const CORE_PANELS = new Set(
  (
    'timeseries logs table stat gauge bargauge barchart text piechart heatmap histogram news dashlist ' +
    'alertlist annolist nodeGraph traces flamegraph geomap canvas state-timeline status-history trend ' +
    'xychart candlestick datagrid welcome gettingstarted row'
  ).split(' ')
);
/** Data source references Grafana resolves itself. */
const BUILTIN_DS = new Set(['grafana', '-- Grafana --', '-- Mixed --', '-- Dashboard --', '__expr__']);
const UID = /^[a-zA-Z0-9\-_]{1,40}$/;
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const NO_DATA = ['Alerting', 'NoData', 'OK', 'KeepLast'];
const EXEC_ERR = ['Alerting', 'Error', 'OK', 'KeepLast'];

/** The plugin from grafana-plugin/src (what `npm run build` copies to dist/). */
export function installedPlugin(root = REPO_ROOT): InstalledPlugin {
  const src = join(root, 'grafana-plugin/src');
  const pj = JSON.parse(readFileSync(join(src, 'plugin.json'), 'utf8'));
  const children = (pj.includes ?? [])
    .filter((i: { type: string; path?: string }) => i.type !== 'page' && i.path?.endsWith('plugin.json'))
    .map((i: { path: string }) => {
      const child = JSON.parse(readFileSync(join(src, i.path), 'utf8'));
      return { id: child.id as string, type: child.type as string };
    });
  return { id: pj.id, type: pj.type, routes: pj.routes ?? [], children };
}

/** Grafana's value readers over one file (also grafana-notifications.ts's ValueReader). */
class Reader {
  problems: Problem[] = [];
  constructor(
    private env: Record<string, string>,
    public file: string
  ) {}

  problem(where: string, message: string) {
    this.problems.push({ file: this.file, where, message });
  }

  /** A values.StringValue. */
  str(v: unknown, where: string): string {
    if (v === undefined || v === null) return '';
    if (typeof v === 'object') {
      this.problem(where, 'expected a string');
      return '';
    }
    const e = expandValue(String(v), this.env);
    for (const p of e.problems) this.problem(where, p.message);
    return e.value;
  }

  /** A values.BoolValue: the expanded string must parse (Go strconv.ParseBool). */
  bool(v: unknown, where: string, dflt: boolean): boolean {
    if (v === undefined || v === null) return dflt;
    const s = this.str(v, where);
    if (/^(1|t|T|TRUE|true|True)$/.test(s)) return true;
    if (/^(0|f|F|FALSE|false|False)$/.test(s)) return false;
    this.problem(where, `"${s}" is not a boolean; Grafana fails to parse the file`);
    return dflt;
  }

  /** A values.Int64Value: empty keeps the default. */
  int(v: unknown, where: string, dflt: number): number {
    if (v === undefined || v === null) return dflt;
    const s = this.str(v, where);
    if (s === '') return dflt;
    if (!/^-?\d+$/.test(s)) this.problem(where, `"${s}" is not an integer; Grafana fails to parse the file`);
    return Number(s);
  }

  /** A values.JSONValue: strings expanded at any depth, other scalars kept. */
  json(v: unknown, where: string): unknown {
    if (typeof v === 'string') return this.str(v, where);
    if (Array.isArray(v)) return v.map((x, i) => this.json(x, `${where}[${i}]`));
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.json(x, `${where}.${k}`)]));
    return v;
  }

  /** A values.StringMapValue. */
  strMap(v: unknown, where: string): Record<string, string> {
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.problem(where, 'expected a map of strings');
      return {};
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.str(x, `${where}.${k}`)]));
  }

  /** Parse YAML and check apiVersion (0 or missing is the deprecated v0 format). */
  yaml(text: string): Record<string, unknown> | undefined {
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (e) {
      this.problem('', `invalid YAML: ${(e as Error).message}`);
      return undefined;
    }
    if (!doc || typeof doc !== 'object') {
      this.problem('', 'empty file');
      return undefined;
    }
    const d = doc as Record<string, unknown>;
    if (!(Number(d.apiVersion) >= 1))
      this.problem('apiVersion', 'apiVersion must be 1 (0 or missing is the deprecated format)');
    return d;
  }
}

function yamlFiles(dir: string | undefined): string[] {
  if (!dir || !existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join(dir, f));
}

const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v : []);

/**
 * Read everything Grafana would provision at start. `hostEnv` is the shell compose runs in;
 * by default one that sets the tokens compose passes on (neither has a default).
 */
export function loadProvisioning(
  opts: { root?: string; hostEnv?: Record<string, string | undefined>; grafana?: ComposeGrafana } = {}
): Provisioning {
  const root = opts.root ?? REPO_ROOT;
  const grafana =
    opts.grafana ??
    composeGrafana(
      opts.hostEnv ?? { CASEFILE_TOKEN: 'set-by-the-user', CASEFILE_WEBHOOK_TOKEN: 'set-by-the-user-too' },
      root
    );
  const problems: Problem[] = [];
  const rel = (f: string) => relative(root, f);
  const dir = (name: string) => hostPathOf(grafana, `/etc/grafana/provisioning/${name}`);
  const out: Provisioning = {
    grafana,
    datasources: [],
    apps: [],
    dashboards: [],
    alertRules: [],
    notifications: emptyNotifications(),
    problems,
  };
  const read = (file: string, fn: (r: Reader, doc: Record<string, unknown>) => void) => {
    const r = new Reader(grafana.env, rel(file));
    const doc = r.yaml(readFileSync(file, 'utf8'));
    if (doc) fn(r, doc);
    problems.push(...r.problems);
  };
  for (const name of ['datasources', 'plugins', 'dashboards', 'alerting'])
    if (!dir(name))
      problems.push({
        file: 'docker-compose.yml',
        where: 'services.grafana.volumes',
        message: `nothing mounted at /etc/grafana/provisioning/${name}`,
      });

  for (const file of yamlFiles(dir('datasources')))
    read(file, (r, doc) => {
      list(doc.datasources).forEach((d, i) => {
        const w = `datasources[${i}]`;
        const ds: ProvisionedDataSource = {
          name: r.str(d.name, `${w}.name`),
          uid: r.str(d.uid, `${w}.uid`),
          type: r.str(d.type, `${w}.type`),
          url: r.str(d.url, `${w}.url`),
          access: r.str(d.access, `${w}.access`) || 'proxy',
          isDefault: r.bool(d.isDefault, `${w}.isDefault`, false),
          orgId: r.int(d.orgId, `${w}.orgId`, 1) || 1,
          jsonData: (r.json(d.jsonData ?? {}, `${w}.jsonData`) ?? {}) as Record<string, unknown>,
          secureJsonData: r.strMap(d.secureJsonData, `${w}.secureJsonData`),
        };
        if (!ds.name) r.problem(`${w}.name`, 'a data source needs a name');
        if (!ds.type) r.problem(`${w}.type`, 'a data source needs a type');
        if (ds.uid && !UID.test(ds.uid))
          r.problem(`${w}.uid`, `uid "${ds.uid}" is not 1-40 of [A-Za-z0-9_-]`);
        if (!['proxy', 'direct'].includes(ds.access))
          r.problem(`${w}.access`, `access "${ds.access}" is replaced by proxy`);
        if (['loki', 'prometheus'].includes(ds.type) && !/^https?:\/\/./.test(ds.url))
          r.problem(
            `${w}.url`,
            `the ${ds.type} data source URL is "${ds.url}" after expansion; queries would fail`
          );
        out.datasources.push(ds);
      });
    });
  const defaults = new Map<number, number>();
  for (const ds of out.datasources)
    if (ds.isDefault) defaults.set(ds.orgId, (defaults.get(ds.orgId) ?? 0) + 1);
  for (const [org, n] of defaults)
    if (n > 1)
      problems.push({
        file: 'provisioning/grafana/datasources',
        where: 'isDefault',
        message: `${n} default data sources in org ${org}; Grafana refuses to start provisioning`,
      });
  const dsByUid = new Map(out.datasources.filter((d) => d.uid).map((d) => [d.uid, d]));

  const plugin = installedPlugin(root);
  const pluginTypes = new Map([
    [plugin.id, plugin.type],
    ...plugin.children.map((c) => [c.id, c.type] as [string, string]),
  ]);
  for (const file of yamlFiles(dir('plugins')))
    read(file, (r, doc) => {
      list(doc.apps).forEach((a, i) => {
        const w = `apps[${i}]`;
        const app: ProvisionedApp = {
          type: r.str(a.type, `${w}.type`),
          orgId: r.int(a.org_id, `${w}.org_id`, 1) || 1,
          enabled: !r.bool(a.disabled, `${w}.disabled`, false),
          jsonData: (r.json(a.jsonData ?? {}, `${w}.jsonData`) ?? {}) as Record<string, unknown>,
          secureJsonData: r.strMap(a.secureJsonData, `${w}.secureJsonData`),
        };
        if (!app.type) r.problem(`${w}.type`, `app item ${i + 1} doesn't contain required field type`);
        else if (pluginTypes.get(app.type) !== 'app')
          r.problem(`${w}.type`, `plugin not installed: "${app.type}"`);
        if (app.type === plugin.id) {
          const lokiUid = String(app.jsonData.lokiUid ?? '');
          if (dsByUid.get(lokiUid)?.type !== 'loki')
            r.problem(
              `${w}.jsonData.lokiUid`,
              `"${lokiUid}" is not the uid of a provisioned Loki data source`
            );
          if (!/^https?:\/\/[^/]+/.test(String(app.jsonData.serverUrl ?? '')))
            r.problem(
              `${w}.jsonData.serverUrl`,
              `"${app.jsonData.serverUrl ?? ''}" is not a server URL after expansion`
            );
          const needed = new Map<string, string[]>();
          for (const route of plugin.routes)
            for (const t of [route.url ?? '', ...(route.headers ?? []).map((h) => h.content)])
              for (const [, bag, key] of t.matchAll(/\{\{\s*\.(JsonData|SecureJsonData)\.(\w+)\s*\}\}/g)) {
                const k = `${bag === 'JsonData' ? 'jsonData' : 'secureJsonData'}.${key}`;
                needed.set(k, [...new Set([...(needed.get(k) ?? []), route.path])]);
              }
          for (const [k, paths] of needed) {
            const [bag, key] = k.split('.');
            const v = bag === 'jsonData' ? app.jsonData[key] : app.secureJsonData[key];
            if (v === undefined)
              r.problem(`${w}.${k}`, `not provisioned; routes ${paths.join(', ')} would send "<no value>"`);
            else if (v === '')
              r.problem(`${w}.${k}`, `empty after expansion; routes ${paths.join(', ')} would send ""`);
          }
        }
        out.apps.push(app);
      });
    });

  for (const file of yamlFiles(dir('dashboards')))
    read(file, (r, doc) => {
      list(doc.providers).forEach((p, i) => {
        const w = `providers[${i}]`;
        const name = r.str(p.name, `${w}.name`);
        const type = r.str(p.type, `${w}.type`) || 'file';
        const folder = r.str(p.folder, `${w}.folder`);
        const opts = (r.json(p.options ?? {}, `${w}.options`) ?? {}) as Record<string, unknown>;
        if (!name) r.problem(`${w}.name`, 'a dashboard provider needs a name');
        if (type !== 'file') r.problem(`${w}.type`, `provider type "${type}" is not file`);
        if (opts.foldersFromFilesStructure && (folder || p.folderUid))
          r.problem(`${w}.folder`, "'folder' and 'folderUID' must be empty with 'foldersFromFilesStructure'");
        const path = String(opts.path ?? '');
        const host = path ? hostPathOf(grafana, path) : undefined;
        if (!path) r.problem(`${w}.options.path`, 'the provider has no path');
        else if (!host || !existsSync(host) || !statSync(host).isDirectory())
          r.problem(`${w}.options.path`, `${path} is not a folder mounted into the Grafana container`);
        else out.dashboards.push(...readDashboards(host, folder, rel, problems, dsByUid, pluginTypes));
      });
    });
  const dashUids = new Map<string, string>();
  for (const d of out.dashboards) {
    if (dashUids.has(d.uid))
      problems.push({
        file: d.file,
        where: 'uid',
        message: `uid "${d.uid}" is also used by ${dashUids.get(d.uid)}`,
      });
    dashUids.set(d.uid, d.file);
  }

  for (const file of yamlFiles(dir('alerting')))
    read(file, (r, doc) => {
      readNotifications(r, doc, out.notifications);
      list(doc.groups).forEach((g, gi) => {
        const w = `groups[${gi}]`;
        const name = r.str(g.name, `${w}.name`);
        const folder = r.str(g.folder, `${w}.folder`);
        r.int(g.orgId, `${w}.orgId`, 1);
        const interval = r.str(g.interval, `${w}.interval`);
        if (!name.trim()) r.problem(`${w}.name`, 'rule group has no name set');
        if (!folder.trim()) r.problem(`${w}.folder`, 'rule group has no folder set');
        if (!interval || !DURATION.test(interval))
          r.problem(`${w}.interval`, `interval "${interval}" is not a duration`);
        list(g.rules).forEach((rule, ri) => {
          const rw = `${w}.rules[${ri}]`;
          const title = r.str(rule.title, `${rw}.title`);
          const uid = r.str(rule.uid, `${rw}.uid`);
          if (!title) r.problem(`${rw}.title`, 'rule has no title set');
          if (!uid) r.problem(`${rw}.uid`, `rule '${title}' failed to parse: no UID set`);
          else if (!UID.test(uid)) r.problem(`${rw}.uid`, `uid "${uid}" is not 1-40 of [A-Za-z0-9_-]`);
          const forV = r.str(rule.for, `${rw}.for`);
          if (forV && !DURATION.test(forV)) r.problem(`${rw}.for`, `'for' "${forV}" is not a duration`);
          const nd = r.str(rule.noDataState, `${rw}.noDataState`).trim();
          if (nd && !NO_DATA.includes(nd))
            r.problem(`${rw}.noDataState`, `"${nd}" is not one of ${NO_DATA.join(', ')}`);
          const ee = r.str(rule.execErrState, `${rw}.execErrState`).trim();
          if (ee && !EXEC_ERR.includes(ee))
            r.problem(`${rw}.execErrState`, `"${ee}" is not one of ${EXEC_ERR.join(', ')}`);
          r.strMap(rule.labels, `${rw}.labels`);
          r.bool(rule.isPaused, `${rw}.isPaused`, false);
          const data = list(rule.data);
          if (data.length === 0) r.problem(`${rw}.data`, `rule '${title}' failed to parse: no data set`);
          const refIds = data.map((q, qi) => {
            const qw = `${rw}.data[${qi}]`;
            const dsUid = r.str(q.datasourceUid, `${qw}.datasourceUid`);
            if (!BUILTIN_DS.has(dsUid) && !dsByUid.has(dsUid))
              r.problem(`${qw}.datasourceUid`, `"${dsUid}" is not a provisioned data source uid`);
            const m = (q.model ?? {}) as Record<string, unknown>;
            if (dsUid !== '__expr__' && dsByUid.get(dsUid)?.type === 'loki' && typeof m.expr !== 'string')
              r.problem(`${qw}.model.expr`, 'a Loki query needs expr');
            return r.str(q.refId, `${qw}.refId`);
          });
          for (const [qi, q] of data.entries()) {
            const expr = ((q.model ?? {}) as Record<string, unknown>).expression;
            if (
              q.datasourceUid === '__expr__' &&
              typeof expr === 'string' &&
              /^[A-Za-z]\w*$/.test(expr) &&
              !refIds.includes(expr)
            )
              r.problem(
                `${rw}.data[${qi}].model.expression`,
                `refers to "${expr}", which is not a refId of this rule`
              );
          }
          const cond = r.str(rule.condition, `${rw}.condition`);
          if (!cond) r.problem(`${rw}.condition`, `rule '${title}' failed to parse: no condition set`);
          else if (!refIds.includes(cond))
            r.problem(`${rw}.condition`, `condition "${cond}" is not a refId of this rule`);
          const dashboardUid = r.str(rule.dashboardUid ?? rule.dasboardUid, `${rw}.dashboardUid`);
          if (dashboardUid && !out.dashboards.some((d) => d.uid === dashboardUid))
            r.problem(`${rw}.dashboardUid`, `"${dashboardUid}" is not a provisioned dashboard uid`);
          out.alertRules.push({ uid, title, folder, group: name });
        });
      });
    });
  problems.push(...checkNotifications(out.notifications));
  const ruleUids = new Set<string>();
  const titles = new Set<string>();
  for (const a of out.alertRules) {
    if (ruleUids.has(a.uid))
      problems.push({
        file: 'provisioning/alerting',
        where: a.uid,
        message: `alert rule uid "${a.uid}" is used twice`,
      });
    if (titles.has(`${a.folder}\n${a.title}`))
      problems.push({
        file: 'provisioning/alerting',
        where: a.uid,
        message: `two rules titled "${a.title}" in folder ${a.folder}`,
      });
    ruleUids.add(a.uid);
    titles.add(`${a.folder}\n${a.title}`);
  }

  for (const id of [plugin.id, ...plugin.children.map((c) => c.id)])
    if (!grafana.allowUnsigned.includes(id))
      problems.push({
        file: 'docker-compose.yml',
        where: 'GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS',
        message: `the plugin is unsigned and ${id} is not listed; Grafana will not load it`,
      });
  if (!out.apps.some((a) => a.type === plugin.id && a.enabled))
    problems.push({
      file: 'provisioning/grafana/plugins',
      where: 'apps',
      message: `${plugin.id} is not provisioned enabled`,
    });
  return out;
}

function readDashboards(
  dir: string,
  folder: string,
  rel: (f: string) => string,
  problems: Problem[],
  dsByUid: Map<string, ProvisionedDataSource>,
  pluginTypes: Map<string, string>
) {
  const out: Provisioning['dashboards'] = [];
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const file = rel(join(dir, name));
    const add = (where: string, message: string) => problems.push({ file, where, message });
    let d: Record<string, any>;
    try {
      d = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    } catch (e) {
      add('', `invalid JSON: ${(e as Error).message}`);
      continue;
    }
    if (!String(d.title ?? '').trim()) add('title', 'dashboard title cannot be empty');
    if (d.uid !== undefined && !UID.test(String(d.uid)))
      add('uid', `uid "${d.uid}" is not 1-40 of [A-Za-z0-9_-]`);
    if (Array.isArray(d.__inputs) && d.__inputs.length)
      add('__inputs', 'an exported dashboard: provisioning does not resolve __inputs');
    const vars = new Set<string>((d.templating?.list ?? []).map((v: { name: string }) => v.name));
    const checkRef = (ref: unknown, where: string, panelType?: string) => {
      if (ref === undefined || ref === null) return;
      const uid = typeof ref === 'string' ? ref : String((ref as { uid?: string }).uid ?? '');
      const type = typeof ref === 'object' ? (ref as { type?: string }).type : undefined;
      const variable = /^\$\{?(\w+)/.exec(uid)?.[1];
      if (variable) {
        if (!vars.has(variable)) add(where, `data source variable $${variable} is not defined in templating`);
        return;
      }
      if (BUILTIN_DS.has(uid)) return;
      const ds = dsByUid.get(uid);
      if (!ds)
        add(where, `data source uid "${uid}" is not provisioned${panelType ? ` (panel ${panelType})` : ''}`);
      else if (type && ds.type !== type) add(where, `data source "${uid}" is ${ds.type}, not ${type}`);
    };
    (d.templating?.list ?? []).forEach((v: any, i: number) => {
      if (v.type === 'query') checkRef(v.datasource, `templating.list[${i}] $${v.name}.datasource`);
    });
    const panels = (d.panels ?? []).flatMap((p: any) => [p, ...(p.panels ?? [])]);
    panels.forEach((p: any, i: number) => {
      const w = `panels[${i}] "${p.title ?? ''}"`;
      if (!CORE_PANELS.has(p.type) && pluginTypes.get(p.type) !== 'panel')
        add(`${w}.type`, `panel plugin "${p.type}" is neither built in nor installed`);
      checkRef(p.datasource, `${w}.datasource`, p.type);
      (p.targets ?? []).forEach((t: any, j: number) =>
        checkRef(t.datasource, `${w}.targets[${j}].datasource`, p.type)
      );
    });
    out.push({ file, uid: String(d.uid ?? ''), title: String(d.title ?? ''), folder });
  }
  return out;
}
