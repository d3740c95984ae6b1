/**
 * `npm run screenshots`: copies the screenshots the browser tests took of each page with
 * real data (test-artifacts/screenshots/) to src/img/screenshots/, the ones plugin.json's
 * info.screenshots lists for the catalog. Run `npm run e2e` first.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const FROM = join(ROOT, '../test-artifacts/screenshots');
const TO = join(ROOT, 'src/img/screenshots');
const shots: { name: string; path: string }[] = JSON.parse(
  readFileSync(join(ROOT, 'src/plugin.json'), 'utf8')
).info.screenshots;

mkdirSync(TO, { recursive: true });
for (const s of shots) {
  const file = s.path.replace(/^img\/screenshots\//, '');
  const src = join(FROM, file);
  if (!existsSync(src)) throw new Error(`${src} is missing: run npm run e2e first`);
  copyFileSync(src, join(TO, file));
  console.log(`${s.name}: ${file}`);
}
