/**
 * What Grafana's plugin validator (grafana/plugin-validator) checks that can be checked
 * here without the network, on the zip `npm run package` writes: the archive layout, each
 * plugin.json against the documented fields (Grafana's plugin.schema.json is AGPL, so its
 * rules are restated here, not vendored), includes and nested plugins, logos and unsafe
 * SVG, screenshots, module.js (AMD, shared modules only, no Angular, no tracking), source
 * maps next to every script with their sources inside the plugin, README for the catalog,
 * CHANGELOG entry for the version, LICENSE. Left out (they need the network): broken links,
 * published-version and org checks, osv-scanner, the LLM review, signature verification.
 *
 *   npm run validate [-- path/to/plugin.zip]   (default: the zip of the current version)
 */
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { open as openZip, type Entry } from 'yauzl';
import { PLUGIN_ROOT } from './package';

export interface Finding {
  level: 'error' | 'warning';
  file: string;
  message: string;
}

/** Every file of a zip, by path. */
export function readZip(path: string): Promise<Map<string, Buffer>> {
  return new Promise((res, rej) => {
    openZip(path, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return rej(err);
      const files = new Map<string, Buffer>();
      zip.on('entry', (e: Entry) => {
        if (e.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(e, (er, s) => {
          if (er || !s) return rej(er);
          const chunks: Buffer[] = [];
          s.on('data', (c: Buffer) => chunks.push(c));
          s.on('end', () => {
            files.set(e.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => res(files));
      zip.on('error', rej);
      zip.readEntry();
    });
  });
}

const ID = /^[0-9a-z]+-([0-9a-z]+-)?(app|panel|datasource|secretsmanager|transformer)$/;
const TYPES = ['app', 'datasource', 'panel', 'renderer', 'secretsmanager', 'transformer'];
const INCLUDE_TYPES = ['dashboard', 'page', 'panel', 'datasource', 'secretsmanager'];
const ROLES = ['Admin', 'Editor', 'Viewer'];
const METHODS = ['', '*', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/;
const GRAFANA_DEP =
  /^(<=|>=|<|>|=|~|\^)?([0-9]+)(\.[0-9x*]+)(\.[0-9x*]+)?(\s(<=|>=|<|=>)?([0-9]+)(\.[0-9x]+)(\.[0-9x]+))?$/;
/** Modules Grafana shares with plugins (grafana public/app/features/plugins/loader/sharedDependencies.ts). */
const SHARED = new Set([
  '@emotion/css',
  '@emotion/react',
  'emotion',
  '@grafana/data',
  '@grafana/runtime',
  '@grafana/ui',
  '@grafana/slate-react',
  '@grafana/i18n',
  'd3',
  'i18next',
  'jquery',
  'lodash',
  'moment',
  'prismjs',
  'react',
  'react-dom',
  'react-dom/client',
  'react/jsx-runtime',
  'react-redux',
  'react-router',
  'react-router-dom',
  'redux',
  'rxjs',
  'rxjs/operators',
  'slate',
  'slate-plain-serializer',
]);
const TRACKING =
  /google-analytics\.com|googletagmanager\.com|segment\.(io|com)\/analytics|hotjar\.com|mixpanel\.com/;
const UNSAFE_SVG = /<script|\son[a-z]+\s*=|javascript:|<foreignObject|<iframe|<embed/i;

/** Check a plugin zip; findings with level `error` would fail the catalog's validator. */
export async function validatePluginZip(zipPath: string): Promise<Finding[]> {
  const files = await readZip(zipPath);
  const out: Finding[] = [];
  const err = (file: string, message: string) => out.push({ level: 'error', file, message });
  const warn = (file: string, message: string) => out.push({ level: 'warning', file, message });
  const text = (p: string) => files.get(p)?.toString('utf8');

  const roots = new Set([...files.keys()].map((f) => f.split('/')[0]));
  if (roots.size !== 1) {
    err(zipPath, `the archive must hold one folder (the plugin id), found: ${[...roots].join(', ')}`);
    return out;
  }
  const [root] = roots;
  const rootJson = text(`${root}/plugin.json`);
  if (!rootJson) {
    err(`${root}/plugin.json`, 'missing');
    return out;
  }
  const app = JSON.parse(rootJson);
  if (app.id !== root) err(`${root}/`, `the archive folder must be named after the plugin id ${app.id}`);
  for (const f of [...files.keys()])
    if (/(^|\/)(\.|node_modules\/)/.test(f))
      err(f, 'hidden files and node_modules do not belong in the archive');
  for (const f of ['module.js', 'README.md', 'CHANGELOG.md', 'LICENSE'])
    if (!files.has(`${root}/${f}`)) err(`${root}/${f}`, 'missing');

  const checkPluginJson = (dir: string, pj: any, parent?: any) => {
    const file = `${dir}/plugin.json`;
    for (const k of ['type', 'name', 'id', 'info', 'dependencies'])
      if (pj[k] === undefined) err(file, `${k} is required`);
    if (!ID.test(pj.id ?? '')) err(file, `id "${pj.id}" does not follow <org>-<name>-<type>`);
    if (!TYPES.includes(pj.type)) err(file, `type "${pj.type}" is not one of ${TYPES.join(', ')}`);
    else if (!String(pj.id).endsWith(`-${pj.type}`)) err(file, `id "${pj.id}" must end with -${pj.type}`);
    const info = pj.info ?? {};
    if (!Array.isArray(info.keywords) || info.keywords.length === 0)
      err(file, 'info.keywords needs at least one keyword');
    if (!String(info.description ?? '').trim()) err(file, 'info.description is empty');
    if (!String(info.author?.name ?? '').trim()) err(file, 'info.author.name is empty');
    if (!SEMVER.test(info.version ?? ''))
      err(file, `info.version "${info.version}" is not a stamped semver version`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(info.updated ?? ''))
      err(file, `info.updated "${info.updated}" is not a date`);
    if (parent && info.version !== parent.info?.version)
      err(file, 'a nested plugin must carry the version of its parent');
    for (const size of ['small', 'large'] as const) {
      const p = info.logos?.[size];
      const svg = p && text(posix.join(dir, p));
      if (!p) err(file, `info.logos.${size} is missing`);
      else if (svg === undefined) err(file, `info.logos.${size} ${p} is not in the archive`);
      else if (!p.endsWith('.svg') || !svg.includes('<svg'))
        err(file, `info.logos.${size} ${p} is not an SVG`);
      else if (UNSAFE_SVG.test(svg))
        err(posix.join(dir, p), 'unsafe SVG (scripts, event handlers or embedded content)');
    }
    for (const l of info.links ?? [])
      if (!/^https?:\/\/\S+$/.test(l.url ?? ''))
        err(file, `info.links "${l.name}": ${l.url} is not an absolute URL`);
    const shots = info.screenshots ?? [];
    if (pj.type === 'app' && shots.length === 0)
      err(file, 'info.screenshots is empty: the catalog page shows none');
    for (const s of shots) {
      if (!s.name || !s.path) err(file, 'a screenshot needs name and path');
      const b = s.path && files.get(posix.join(dir, s.path));
      if (s.path && !b) err(file, `screenshot ${s.path} is not in the archive`);
      else if (
        b &&
        !(
          b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) ||
          s.path.endsWith('.jpg')
        )
      )
        err(file, `screenshot ${s.path} is not a PNG`);
    }
    if (!GRAFANA_DEP.test(pj.dependencies?.grafanaDependency ?? ''))
      err(
        file,
        `dependencies.grafanaDependency "${pj.dependencies?.grafanaDependency}" is not a version range`
      );
    for (const r of pj.routes ?? []) {
      const what = `route ${r.method ?? ''} ${r.path}`;
      if (!r.path) err(file, `${what}: path is empty`);
      if (!METHODS.includes(r.method ?? ''))
        err(file, `${what}: method must be upper case (Grafana compares it exactly)`);
      if (r.reqRole !== undefined && !ROLES.includes(r.reqRole))
        err(file, `${what}: reqRole "${r.reqRole}" is not a role, so nothing is checked`);
      if (!r.url) err(file, `${what}: url is empty`);
      if (r.urlParams || r.tokenAuth)
        warn(file, `${what}: urlParams and tokenAuth are not applied for app plugins`);
    }
    let defaults = 0;
    for (const inc of pj.includes ?? []) {
      const what = `include "${inc.name}"`;
      if (!INCLUDE_TYPES.includes(inc.type))
        err(file, `${what}: type "${inc.type}" is not one of ${INCLUDE_TYPES.join(', ')}`);
      if (inc.role !== undefined && !ROLES.includes(inc.role))
        err(file, `${what}: role "${inc.role}" is not a role`);
      if (inc.defaultNav) defaults++;
      if (inc.type === 'page' && !String(inc.path ?? '').match(new RegExp(`^/(a|plugins)/${pj.id}(/|$)`)))
        err(file, `${what}: a page path starts with /a/${pj.id}/`);
      if (inc.type === 'panel' || inc.type === 'datasource') {
        const childDir = posix.join(dir, posix.dirname(inc.path ?? ''));
        const childJson = inc.path?.endsWith('plugin.json') ? text(posix.join(dir, inc.path)) : undefined;
        if (!childJson) err(file, `${what}: ${inc.path} is not a plugin.json in the archive`);
        else {
          const child = JSON.parse(childJson);
          if (child.type !== inc.type)
            err(file, `${what}: the nested plugin is a ${child.type}, not a ${inc.type}`);
          checkPluginJson(childDir, child, pj);
          checkModule(childDir);
        }
      }
    }
    if (defaults > 1) err(file, 'more than one include has defaultNav');
  };

  const checkModule = (dir: string) => {
    const file = `${dir}/module.js`;
    const js = text(file);
    if (js === undefined) return err(file, 'missing');
    const define = /^define\((\[[^\]]*\])/.exec(js);
    if (!define) err(file, 'not an AMD module (define([...], factory)) as Grafana loads it');
    else
      for (const dep of JSON.parse(define[1]) as string[])
        // `module`, `exports` and `require` are AMD's own (SystemJS's amd extra provides them).
        if (
          !SHARED.has(dep) &&
          !dep.startsWith('@grafana/') &&
          !['module', 'exports', 'require'].includes(dep)
        )
          err(file, `imports "${dep}", which Grafana does not share`);
    if (/\bPanelCtrl\b|\bangular\.module\(|["']angular["']/.test(js))
      err(file, 'uses Angular, which Grafana 13 does not load');
  };

  checkPluginJson(root, app);
  checkModule(root);

  for (const [f, b] of files) {
    if (!f.endsWith('.js')) continue;
    const js = b.toString('utf8');
    if (TRACKING.test(js)) err(f, 'contains a tracking script');
    const m = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(js);
    if (!m) {
      err(f, 'has no source map');
      continue;
    }
    const mapPath = posix.join(posix.dirname(f), m[1]);
    const map = text(mapPath);
    if (map === undefined) {
      err(f, `its source map ${m[1]} is not in the archive`);
      continue;
    }
    const sm = JSON.parse(map);
    const outside = (sm.sources as string[]).filter(
      (s) => /(^|\/)\.\.(\/|$)/.test(s.replace(/^webpack:\/\/[^/]*\//, '')) || /^(\/|file:)/.test(s)
    );
    if (outside.length)
      err(mapPath, `${outside.length} source(s) point outside the plugin, e.g. ${outside[0]}`);
    if (!Array.isArray(sm.sourcesContent) || sm.sourcesContent.length !== sm.sources.length)
      warn(mapPath, 'sourcesContent is missing: reviewers cannot read the sources');
  }

  const readme = text(`${root}/README.md`) ?? '';
  if (readme.length < 500) err(`${root}/README.md`, 'too short for the catalog page');
  if (!readme.startsWith(`# ${app.name}`)) warn(`${root}/README.md`, `should start with "# ${app.name}"`);
  if (/%VERSION%|%TODAY%|\{\{\s*\w+\s*\}\}|create-plugin template/i.test(readme))
    err(`${root}/README.md`, 'contains template placeholders');
  for (const [, src] of readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g))
    if (!/^https?:/.test(src) && !files.has(posix.join(root, src)))
      err(`${root}/README.md`, `image ${src} is not in the archive`);
  const changelog = text(`${root}/CHANGELOG.md`) ?? '';
  if (!new RegExp(`^##\\s+v?${(app.info?.version ?? '').replace(/\./g, '\\.')}\\b`, 'm').test(changelog))
    err(`${root}/CHANGELOG.md`, `no entry for version ${app.info?.version}`);
  return out;
}

// Run as a script (the plugin package is CommonJS, as Jest and webpack read it).
if (require.main === module) {
  const pkg = JSON.parse(readFileSync(join(PLUGIN_ROOT, 'package.json'), 'utf8'));
  const pj = JSON.parse(readFileSync(join(PLUGIN_ROOT, 'src/plugin.json'), 'utf8'));
  const zip = process.argv[2] ?? join(PLUGIN_ROOT, `${pj.id}-${pkg.version}.zip`);
  validatePluginZip(zip).then((fs) => {
    for (const f of fs) console.log(`${f.level}: ${f.file}: ${f.message}`);
    const errors = fs.filter((f) => f.level === 'error').length;
    console.log(`${zip}: ${errors} error(s), ${fs.length - errors} warning(s)`);
    process.exit(errors ? 1 : 0);
  });
}
