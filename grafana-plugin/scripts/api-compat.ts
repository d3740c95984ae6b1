/**
 * `npm run api:compat`: @grafana/levitate's is-compatible for the app, the nested panel and
 * timeline-ui against the oldest Grafana the plugin claims (plugin.json grafanaDependency)
 * and the newest @grafana/* on npm. Needs the npm registry (levitate downloads both
 * versions' type definitions). `--force` because levitate's `npm list` does not see
 * workspace-hoisted packages; it then compares against the version on npm's `latest`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const LEVITATE = '@grafana/levitate@0.17.2';
const PACKAGES = ['@grafana/data', '@grafana/ui', '@grafana/runtime'];
const MODULES = ['src/module.tsx', 'src/panels/forensic-timeline/module.ts', 'timeline-ui/src/index.ts'];

const dep: string = JSON.parse(readFileSync(join(ROOT, 'src/plugin.json'), 'utf8')).dependencies
  .grafanaDependency;
const oldest = /(\d+\.\d+\.\d+)/.exec(dep)?.[1];
if (!oldest) throw new Error(`grafanaDependency "${dep}" names no version`);
const newest = execFileSync('npm', ['view', '@grafana/data', 'version'], { encoding: 'utf8' }).trim();
let failed = 0;
for (const version of [...new Set([oldest, newest])]) {
  const targets = PACKAGES.map((p) => `${p}@${version}`).join(',');
  for (const path of MODULES) {
    console.log(`\n=== ${path} against ${targets}`);
    const r = spawnSync(
      'npx',
      ['--yes', LEVITATE, 'is-compatible', '--force', '--path', path, '--target', targets],
      {
        cwd: ROOT,
        stdio: 'inherit',
      }
    );
    if (r.status !== 0) failed++;
  }
}
process.exit(failed ? 1 : 0);
