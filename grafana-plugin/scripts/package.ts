/**
 * `npm run package`: the zip Grafana installs — the built dist/ renamed to the plugin id
 * (`casefile-forensics-app/plugin.json`, `casefile-forensics-app/module.js`, ...), as
 * `grafana cli plugins install --pluginUrl` and Grafana's plugin validator expect it.
 * Writes `<id>-<version>.zip` next to package.json and prints its path and size.
 */
import { createWriteStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ZipFile } from 'yazl';

export const PLUGIN_ROOT = resolve(__dirname, '..');

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
}

/** Zip `distDir` under a folder named after its plugin id; resolves to the zip's path. */
export function packagePlugin(distDir = join(PLUGIN_ROOT, 'dist'), outDir = PLUGIN_ROOT): Promise<string> {
  const pj = JSON.parse(readFileSync(join(distDir, 'plugin.json'), 'utf8'));
  if (!pj.id || !pj.info?.version || pj.info.version === '%VERSION%')
    throw new Error(`${distDir}/plugin.json has no id or stamped version: run the build first`);
  const out = join(outDir, `${pj.id}-${pj.info.version}.zip`);
  const zip = new ZipFile();
  // A fixed time keeps the archive identical for identical builds.
  const mtime = new Date('2000-01-01T00:00:00Z');
  for (const f of files(distDir))
    zip.addFile(f, `${pj.id}/${relative(distDir, f).split('\\').join('/')}`, { mtime });
  zip.end();
  return new Promise((res, rej) => {
    const ws = createWriteStream(out);
    ws.on('close', () => res(out));
    ws.on('error', rej);
    zip.outputStream.on('error', rej).pipe(ws);
  });
}

// Run as a script (the plugin package is CommonJS, as Jest and webpack read it).
if (require.main === module) {
  packagePlugin().then(
    (zip) => console.log(`${relative(process.cwd(), zip)}: ${(statSync(zip).size / 1024).toFixed(1)} KiB`),
    (e) => {
      console.error((e as Error).message);
      process.exit(1);
    }
  );
}
