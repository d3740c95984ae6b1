/**
 * A real SIGKILL of a process writing to the queue: every record whose
 * append() had resolved is readable afterwards, nothing acknowledged comes
 * back, and what is left is in order without duplicates.
 */
import { deepStrictEqual, ok } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiskQueue } from '../src/export/disk-queue';

const WRITER = resolve(import.meta.dirname, 'queue-writer.ts');

async function killedWriter(dir: string, afterMs: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, sig) => res(sig)));
  // Wait for the first durable record (tsx startup), then let it run a while.
  for (let i = 0; i < 400 && !/^r /m.test(out); i++) await sleep(25);
  await sleep(afterMs);
  child.kill('SIGKILL');
  const signal = await exited;
  let resolved = -1;
  let acked = -1;
  for (const line of out.split('\n')) {
    const [k, v] = line.split(' ');
    if (k === 'r') resolved = Math.max(resolved, Number(v));
    if (k === 'a') acked = Math.max(acked, Number(v));
  }
  return { signal, resolved, acked, err };
}

test('SIGKILL mid-write: every append that resolved is readable afterwards', async (t) => {
  for (const afterMs of [150, 400, 900]) {
    const dir = mkdtempSync(join(tmpdir(), 'casefile-queue-kill-'));
    const w = await killedWriter(dir, afterMs);
    ok(w.signal === 'SIGKILL', `writer was killed, not ended: ${w.err}`);
    ok(w.resolved > 1000, `writer got going (${w.resolved} durable)`);
    const q = new DiskQueue(dir, {});
    const got: number[] = [];
    for (let b = q.read(5000, 16 << 20); b; b = q.read(5000, 16 << 20))
      for (const r of b.records) got.push((JSON.parse(r) as { n: number }).n);
    q.close();
    // Consecutive from where the acknowledged records end (an ack the kill kept from being reported may
    // have moved that on), so: no duplicates, no gaps, nothing acknowledged comes back.
    const first = got[0] ?? w.acked + 1;
    ok(first > w.acked, `acknowledged up to ${w.acked}, yet ${first} is queued again`);
    deepStrictEqual(
      got,
      Array.from({ length: got.length }, (_, i) => first + i)
    );
    // Every record that resolved is either acknowledged (before `first`) or still queued.
    const last = got.at(-1) ?? Infinity;
    ok(last >= w.resolved, `resolved up to ${w.resolved}, readable only up to ${last}`);
    t.diagnostic(
      `kill after ${afterMs} ms: ${w.resolved + 1} resolved, ${w.acked + 1} acknowledged, ${got.length} in the queue, ` +
        `${got.length ? last - w.resolved : 0} written but unresolved survived, torn bytes cut ${q.recoveredTornBytes}, corrupt ${q.corruptBytes}`
    );
    ok(q.corruptBytes === 0, 'a kill never looks like damage');
  }
});
