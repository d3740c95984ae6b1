/**
 * Redaction benchmark (`npm run bench:collector -- redact`):
 *  - redact_ns_per_event: CPU ns of the redaction stage on typical events (the pipeline
 *    benchmark's synthetic process.start), and on the corpus mix
 *    (collector/test/fixtures/redact/, benign and secret-bearing command lines);
 *  - redact_worst_case_ms: the slowest event of the hostile set
 *    (collector/test/fixtures/redact/hostile.ts, every value at the 16 KiB cap),
 *    median of 5 runs per event, wall and CPU time, with the default per-event
 *    budget (and, for reference, without any budget);
 *  - events_per_sec_redact_on / _off, redact_throughput_cost_pct: the pipeline
 *    benchmark's throughput run (real CLI, one core when taskset is there,
 *    BENCH_REDACT_EVENTS synthetic events, default 100000, through validation,
 *    enrichment, models, redaction, the durable queue and the OTLP exporter
 *    into an HTTP sink) with and without --no-redact, alternated in one run,
 *    median of 3 each; redact_cpu_throughput_cost_pct compares the same runs
 *    in events per CPU second of the collector (wall time on a shared machine
 *    mostly measures the other tenants).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { makeEvent, type CasefileEvent } from '@casefile/schema';
import { syntheticEvent } from '../src/pipeline/synthetic-source';
import { Redactor } from '../src/redact';
import { hostileCases } from '../test/fixtures/redact/hostile';
import { throughput } from './pipeline';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Mean CPU ns per event of `redactor.event` over `events`, after a warm-up pass (CPU time: other tenants do not inflate it). */
function nsPerEvent(redactor: Redactor, events: CasefileEvent[], rounds: number): number {
  for (const e of events) redactor.event(e);
  const u = process.cpuUsage();
  for (let r = 0; r < rounds; r++) for (const e of events) redactor.event(e);
  const du = process.cpuUsage(u);
  return ((du.user + du.system) * 1000) / (rounds * events.length);
}

function corpusEvents(): CasefileEvent[] {
  const dir = resolve(import.meta.dirname, '../test/fixtures/redact');
  const lines = [
    ...(JSON.parse(readFileSync(join(dir, 'benign-commands.json'), 'utf8')) as Array<{ argv: string[] }>),
    ...(JSON.parse(readFileSync(join(dir, 'secret-commands.json'), 'utf8')) as Array<{ argv: string[] }>),
  ];
  return lines.map(({ argv }) => {
    const commandLine = argv.join(' ');
    return makeEvent({
      type: 'process.start',
      pid: 1,
      executable: `/usr/bin/${argv[0]}`,
      args: argv,
      commandLine,
      message: `process started: ${commandLine}`,
    });
  });
}

/**
 * The slowest hostile event, median of 5 runs each, in wall time and in the
 * process's CPU time (which a busy machine's other tenants do not inflate).
 */
function worstCase(redactor: Redactor): { ms: number; name: string; cpuMs: number; cpuName: string } {
  const cases = hostileCases();
  for (const c of cases) redactor.event(c.event);
  const worst = { ms: 0, name: '', cpuMs: 0, cpuName: '' };
  for (const c of cases) {
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const u = process.cpuUsage();
      redactor.event(c.event);
      const du = process.cpuUsage(u);
      wall.push(performance.now() - t);
      cpu.push((du.user + du.system) / 1000);
    }
    if (median(wall) > worst.ms) [worst.ms, worst.name] = [median(wall), c.name];
    if (median(cpu) > worst.cpuMs) [worst.cpuMs, worst.cpuName] = [median(cpu), c.name];
  }
  return worst;
}

export async function run(): Promise<Record<string, unknown>> {
  const redactor = new Redactor();
  const synthetic = Array.from({ length: 2000 }, (_, i) => makeEvent(syntheticEvent('bench', i)));
  const typical = nsPerEvent(redactor, synthetic, 20);
  const corpus = nsPerEvent(redactor, corpusEvents(), 20);
  const worst = worstCase(redactor);
  const worstNoBudget = worstCase(new Redactor({ budgetMs: 1e9 }));
  const n = Number(process.env.BENCH_REDACT_EVENTS ?? 100_000);
  const on: Array<{ eps: number; cpuPer1k: number }> = [];
  const off: Array<{ eps: number; cpuPer1k: number }> = [];
  for (let i = 0; i < 3; i++) {
    off.push(await throughput(n, { redact: false }));
    on.push(await throughput(n));
    process.stderr.write(
      `bench redact: run ${i + 1}: off ${Math.round(off[i].eps)}/s ${off[i].cpuPer1k.toFixed(0)} CPU ms/1k, ` +
        `on ${Math.round(on[i].eps)}/s ${on[i].cpuPer1k.toFixed(0)} CPU ms/1k (load ${loadavg()[0].toFixed(1)})\n`
    );
  }
  const eOn = median(on.map((r) => r.eps));
  const eOff = median(off.map((r) => r.eps));
  // Events per CPU second of the collector: what one pinned core sustains, which other tenants hardly move.
  const cOn = 1e6 / median(on.map((r) => r.cpuPer1k));
  const cOff = 1e6 / median(off.map((r) => r.cpuPer1k));
  return {
    redact_ns_per_event: Math.round(typical),
    redact_ns_per_event_corpus: Math.round(corpus),
    redact_worst_case_ms: Number(worst.ms.toFixed(3)),
    redact_worst_case_input: worst.name,
    redact_worst_case_cpu_ms: Number(worst.cpuMs.toFixed(3)),
    redact_worst_case_cpu_input: worst.cpuName,
    redact_worst_case_ms_no_budget: Number(worstNoBudget.ms.toFixed(3)),
    redact_worst_case_input_no_budget: worstNoBudget.name,
    events_per_sec_redact_on: Math.round(eOn),
    events_per_sec_redact_off: Math.round(eOff),
    redact_throughput_cost_pct: Number((((eOff - eOn) / eOff) * 100).toFixed(1)),
    events_per_sec_redact_on_runs: on.map((r) => Math.round(r.eps)),
    events_per_sec_redact_off_runs: off.map((r) => Math.round(r.eps)),
    events_per_cpu_sec_redact_on: Math.round(cOn),
    events_per_cpu_sec_redact_off: Math.round(cOff),
    redact_cpu_throughput_cost_pct: Number((((cOff - cOn) / cOff) * 100).toFixed(1)),
    redact_throughput_sink:
      'full pipeline (real CLI, synthetic source, durable queue, OTLP exporter, HTTP sink)',
    load_average_1m: Number(loadavg()[0].toFixed(1)),
  };
}
