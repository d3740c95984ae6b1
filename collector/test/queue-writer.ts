/**
 * Child process of queue-sigkill.test.ts: appends to a DiskQueue as fast as it
 * can while a reader acknowledges batches, and tells the parent (stdout, a
 * pipe: synchronous on Linux) `r N` once every record up to N has resolved
 * durable and `a N` once everything up to N is acknowledged. The parent
 * SIGKILLs it at a random moment.
 */
import { writeSync } from 'node:fs';
import { DiskQueue } from '../src/export/disk-queue';

const q = new DiskQueue(process.argv[2], { segmentBytes: 256 * 1024, maxBytes: 1 << 30 });
const pad = 'p'.repeat(200);
let next = 0;
let resolved = -1;
let reported = -1;

function report(): void {
  if (resolved > reported) writeSync(1, `r ${(reported = resolved)}\n`);
}

function burst(): void {
  for (let k = 0; k < 300; k++) {
    const n = next++;
    void q.append(JSON.stringify({ n, pad })).then((durable) => {
      if (!durable) throw new Error(`record ${n} dropped`);
      resolved = n; // groups resolve in append order
    });
  }
  setImmediate(burst);
}

setInterval(report, 1);
setInterval(() => {
  const b = q.read(1000, 1 << 20);
  if (!b) return;
  q.ack(b);
  writeSync(1, `a ${(JSON.parse(b.records.at(-1)!) as { n: number }).n}\n`);
}, 7);
burst();
