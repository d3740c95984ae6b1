/**
 * `npm run bench:audits`: the benign and the attack corpus
 * (test/runtime/audit-corpus.ts) on real containers with the real collector
 * (eBPF, Podman Engine API, the Loki stand-in or LOKI_URL), as figures:
 * benign_false_positives, attacks_total, attacks_caught, recall, audits per
 * rule, audit_latency_p99_ms (kernel event -> audit decision, from the
 * events' own times), one line per attack, the last line one JSON object.
 * Needs root, bpftrace and Podman; takes about 4 minutes.
 *
 *   node --import tsx collector/bench/audits.ts [--learning-period 60s]
 */
import { runCorpora, startHarness } from '../../test/runtime/audit-corpus';

/** The audits part of the benchmarks. */
export async function run(learningMs = 60_000): Promise<Record<string, unknown>> {
  const h = await startHarness(`${learningMs / 1000}s`);
  try {
    const r = await runCorpora(h, learningMs);
    for (const a of r.attacks)
      console.log(
        `${a.caught ? 'caught' : 'MISSED'} ${a.name.padEnd(18)} ${a.ruleId} ${a.mitre.padEnd(9)} rules: ${a.rules.join(',')}  (${a.technique})`
      );
    for (const b of r.benignAudits) console.log(`false positive: ${b.ruleId} ${b.message}`);
    const lat = [...r.latenciesMs].sort((x, y) => x - y);
    const caught = r.attacks.filter((a) => a.caught).length;
    return {
      benign_false_positives: r.benignAudits.length,
      attacks_total: r.attacks.length,
      attacks_caught: caught,
      recall: Number((caught / r.attacks.length).toFixed(3)),
      audits_without_chain: r.storyless.length,
      audits_per_rule: r.perRule,
      audit_latency_p50_ms: lat.length ? Number(lat[Math.floor(lat.length / 2)].toFixed(1)) : null,
      audit_latency_p99_ms: lat.length
        ? Number(lat[Math.min(lat.length - 1, Math.ceil(lat.length * 0.99) - 1)].toFixed(1))
        : null,
      audit_latency_samples: lat.length,
      container_exec_events: r.lineage.containerExecs.length,
      container_exec_with_full_runtime_command: r.lineage.containerExecs.filter((x) =>
        /\brunc\b.*\bexec\b/.test(x.parentCommandLine ?? '')
      ).length,
      container_exec_with_operator: r.lineage.containerExecs.filter((x) =>
        /\bpodman\b.*\bexec\b/.test(x.operatorCommandLine ?? '')
      ).length,
      loki_backend: h.loki.backend,
    };
  } finally {
    await h.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--learning-period');
  const ms = i > 0 ? Number(/^(\d+)s$/.exec(process.argv[i + 1] ?? '')?.[1] ?? 60) * 1000 : 60_000;
  console.log(JSON.stringify(await run(ms)));
  process.exit(0);
}
