/**
 * `npm run package` and the validator-equivalent checks (scripts/validate-plugin.ts) on
 * the zip it writes: the real build must pass; copies broken the ways the catalog's
 * validator refuses must fail with those findings.
 */
import { after, before, describe, it } from 'node:test';
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePlugin } from '../../scripts/package';
import { readZip, validatePluginZip, type Finding } from '../../scripts/validate-plugin';
import { ensurePluginBuilt, PLUGIN_ROOT } from '../helpers/stack';

const errors = (fs: Finding[]) => fs.filter((f) => f.level === 'error').map((f) => `${f.file}: ${f.message}`);

describe('the plugin zip Grafana installs', () => {
  const work = mkdtempSync(join(tmpdir(), 'casefile-package-'));
  let zip = '';
  before(async () => {
    ensurePluginBuilt();
    zip = await packagePlugin(join(PLUGIN_ROOT, 'dist'), work);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('holds dist/ under a folder named after the plugin id', async () => {
    const files = await readZip(zip);
    const pj = JSON.parse(readFileSync(join(PLUGIN_ROOT, 'dist/plugin.json'), 'utf8'));
    equal(zip, join(work, `${pj.id}-${pj.info.version}.zip`));
    ok([...files.keys()].every((f) => f.startsWith(`${pj.id}/`)));
    for (const f of [
      'plugin.json',
      'module.js',
      'panels/forensic-timeline/plugin.json',
      'panels/forensic-timeline/module.js',
    ])
      ok(files.has(`${pj.id}/${f}`), f);
    console.log(`package: ${zip}: ${statSync(zip).size} bytes, ${files.size} files`);
  });

  it('passes the validator-equivalent checks', async () => {
    deepEqual(errors(await validatePluginZip(zip)), []);
  });

  it('a broken copy fails them: routes, keywords, unsafe logo, source maps outside the plugin', async () => {
    const dist = join(work, 'broken');
    cpSync(join(PLUGIN_ROOT, 'dist'), dist, { recursive: true });
    const pj = JSON.parse(readFileSync(join(dist, 'plugin.json'), 'utf8'));
    pj.routes[0].method = 'get';
    pj.routes[1].reqRole = 'editor';
    pj.info.keywords = [];
    pj.info.screenshots = [];
    writeFileSync(join(dist, 'plugin.json'), JSON.stringify(pj));
    writeFileSync(
      join(dist, 'img/logo.svg'),
      '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'
    );
    const map = JSON.parse(readFileSync(join(dist, 'module.js.map'), 'utf8'));
    map.sources[0] = 'webpack://casefile-forensics-app/../../schema/src/x.ts';
    writeFileSync(join(dist, 'module.js.map'), JSON.stringify(map));
    const found = errors(await validatePluginZip(await packagePlugin(dist, dist))).join('\n');
    for (const want of [
      /route get api\/v1\/\*: method must be upper case/,
      /reqRole "editor" is not a role, so nothing is checked/,
      /info\.keywords needs at least one keyword/,
      /info\.screenshots is empty/,
      /img\/logo\.svg: unsafe SVG/,
      /module\.js\.map: 1 source\(s\) point outside the plugin/,
    ])
      match(found, want);
  });
});
