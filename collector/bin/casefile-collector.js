#!/usr/bin/env node
// Runs the compiled collector (dist/, from `npm run build`) in this process, so
// signals reach it directly. Stack traces point into src/ through the source map.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    `casefile-collector: ${entry.pathname} is missing: run \`npm run build\` at the repository root first\n`
  );
  process.exit(1);
}
// Imported after the check: the check is what a bin copied without its directory still says.
const { mapStackTraces } = await import('./stack-traces.js');
mapStackTraces(entry);
await import(entry.href);
