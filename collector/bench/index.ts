/**
 * `npm run bench:collector [-- pipeline capture models queue]`: runs the collector
 * benchmarks (each file exports `run()`), all four by default, prints progress
 * on stderr and, as the LAST line of stdout, one JSON object merging their results.
 */
export {}; // a module: top-level await below

const ALL = ['pipeline', 'capture', 'models', 'queue', 'redact'];
const wanted = process.argv.slice(2);
const unknown = wanted.filter((b) => !ALL.includes(b));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; choose from ${ALL.join(', ')}`);
  process.exit(2);
}

const merged: Record<string, unknown> = {};
for (const name of wanted.length ? wanted : ALL) {
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
