/**
 * `npm run lint:imports` enforces the architecture (.dependency-cruiser.cjs):
 * it passes on the tree as it is, and fails when a forbidden import appears.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '../..');
const run = (files: string[]) =>
  promisify(execFile)('npx', ['depcruise', ...files, '--config', '.dependency-cruiser.cjs'], {
    cwd: ROOT,
  }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout })
  );

test('the tree keeps the import rules', { timeout: 300_000 }, async () => {
  const r = await run(['schema', 'collector', 'server', 'grafana-plugin/src', 'test']);
  assert.equal(r.code, 0, r.out);
});

for (const [name, file, target, rule] of [
  [
    'the collector importing the server',
    'collector/src/zz-forbidden.ts',
    '../../server/src/config/config',
    'collector-not-server',
  ],
  [
    'the server importing the collector',
    'server/src/zz-forbidden.ts',
    '../../collector/src/config/index',
    'server-not-collector',
  ],
  [
    'schema importing a component',
    'schema/src/zz-forbidden.ts',
    '../../server/src/config/config',
    'schema-imports-no-component',
  ],
  [
    'the plugin importing the server',
    'grafana-plugin/src/zz-forbidden.ts',
    '../../server/src/config/config',
    'plugin-over-http-only',
  ],
] as const) {
  test(`lint fails on ${name}`, { timeout: 300_000 }, async () => {
    const path = join(ROOT, file);
    writeFileSync(path, `export * from '${target}';\n`);
    try {
      const r = await run([file]);
      assert.notEqual(r.code, 0, 'depcruise must fail');
      assert.match(r.out, new RegExp(`error ${rule}`));
    } finally {
      rmSync(path, { force: true });
    }
  });
}
