/**
 * `npm run bench:collector`: runs each collector benchmark present
 * (pipeline.ts, capture.ts, models.ts; each exports `run()`), prints progress
 * on stderr and, as the LAST line of stdout, one JSON object merging their results.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const BENCHES = ['pipeline', 'capture', 'models'];

const merged: Record<string, unknown> = {};
for (const name of BENCHES) {
  if (!existsSync(join(import.meta.dirname, `${name}.ts`))) {
    process.stderr.write(`bench: ${name}.ts not present, skipped\n`);
    continue;
  }
  const started = Date.now();
  process.stderr.write(`bench: ${name}...\n`);
  try {
    const mod = (await import(`./${name}.ts`)) as { run: () => Promise<Record<string, unknown>> };
    const res = await mod.run();
    Object.assign(merged, res);
    console.log(`${name}: ${JSON.stringify(res)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  } catch (err) {
    merged[`${name}_error`] = String((err as Error).stack ?? err);
    console.log(`${name}: FAILED ${(err as Error).message}`);
  }
}
console.log(JSON.stringify(merged));
process.exit(0);
