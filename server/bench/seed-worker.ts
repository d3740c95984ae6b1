/**
 * One seeding process of the benchmark: emits its share of events through
 * the real OpenTelemetry exporter into Loki (several run in parallel, since
 * OTLP JSON encoding is CPU-bound). Flushes every FLUSH_EVERY records so the
 * batch processor never drops (MACHINE.md), and exits non-zero on any failed export.
 *
 *   node --import tsx seed-worker.ts <lokiUrl> <host> <worker> <workers> <total> <startMs> <spacingUs>
 * Event g (global index; this worker sends g = worker, worker+workers, ...)
 * is at startMs + g * spacingUs.
 */
import { makeEvent, type CasefileEvent } from '@casefile/schema';
import { seedEvents } from '../../test/loki/seed';

const [lokiUrl, host, workerS, workersS, totalS, startMsS, spacingUsS] = process.argv.slice(2);
const worker = Number(workerS);
const workers = Number(workersS);
const total = Number(totalS);
const startNs = BigInt(startMsS) * 1_000_000n;
const spacingNs = BigInt(spacingUsS) * 1000n;

function* share(): Generator<CasefileEvent> {
  for (let g = worker; g < total; g += workers) {
    yield makeEvent({
      type: 'process.start',
      timeNs: (startNs + BigInt(g) * spacingNs).toString(),
      message: `exec /usr/bin/worker --job ${g}`,
      pid: 1000 + (g % 30000),
      ppid: 1,
      executable: '/usr/bin/worker',
      commandLine: `/usr/bin/worker --job ${g}`,
      user: 'app',
      containerId: 'b'.repeat(64),
      containerName: 'bench',
      imageName: 'registry.example/bench:1.0',
    });
  }
}

try {
  const sent = await seedEvents(lokiUrl, host, share(), {
    serviceName: 'casefile-bench-seed',
    flushEvery: 20_000,
    batchSize: 5000,
  });
  console.log(JSON.stringify({ worker, sent }));
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
