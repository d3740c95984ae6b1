#!/usr/bin/env node
/**
 * `npm run build` (root) or `npm run build` in collector/ or server/: the
 * package's src/cli.ts bundled by esbuild into <package>/dist/cli.js, with the
 * workspace code (@casefile/schema included) inside and every npm dependency
 * left external, so node_modules stays the one home of dependencies.
 *
 * The code finds its runtime files relative to its own module, so they are
 * copied to where the bundle looks for them:
 *   collector: src/sources/ebpf.ts reads ./bpftrace/probes/*.bt  -> dist/bpftrace/probes/
 *              src/sources/cri/client.ts reads ./proto/api.proto -> dist/proto/
 *   server:    src/server.ts reads ../package.json (the version) -> server/package.json, unchanged
 *
 * Every file is written under a temporary name and renamed into place, so a
 * process starting while tests rebuild never reads half a file.
 *
 *   node scripts/build.mjs [collector|server ...]   (default: both)
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');

/** Per package: runtime assets, [from under src/, to under dist/]. */
const PACKAGES = {
  collector: [
    ['src/sources/bpftrace/probes', 'bpftrace/probes'],
    ['src/sources/cri/proto', 'proto'],
  ],
  server: [],
};

/** Write `data` to `path` atomically (same directory, then rename). */
function writeAtomic(path, data) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

async function buildPackage(name) {
  const dir = join(ROOT, name);
  const dist = join(dir, 'dist');
  const started = Date.now();
  const result = await build({
    entryPoints: [join(dir, 'src/cli.ts')],
    outfile: join(dist, 'cli.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // The one workspace package: bundled from source (its exports point at .ts files node cannot run).
    alias: {
      '@casefile/schema': join(ROOT, 'schema/src/index.ts'),
      '@casefile/schema/otel': join(ROOT, 'schema/src/otel/index.ts'),
    },
    sourcemap: 'linked',
    write: false,
    logLevel: 'warning',
  });
  for (const f of result.outputFiles) writeAtomic(f.path, f.contents);
  for (const [from, to] of PACKAGES[name]) {
    const src = join(dir, from);
    for (const f of readdirSync(src)) writeAtomic(join(dist, to, f), readFileSync(join(src, f)));
  }
  console.log(`build: ${relative(ROOT, dist)}/cli.js in ${Date.now() - started} ms`);
}

const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(PACKAGES);
for (const n of names) {
  if (!(n in PACKAGES)) {
    console.error(`build: unknown package ${n} (known: ${Object.keys(PACKAGES).join(', ')})`);
    process.exit(2);
  }
  await buildPackage(n);
}
