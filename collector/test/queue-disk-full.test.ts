/**
 * The durable queue on a real full disk: a 1 MiB tmpfs mounted by the test
 * (root needed). While the disk refuses writes the queue holds records in
 * memory up to its bound, then drops and counts; it never throws (the commit
 * timer keeps running), leaves no partial frame behind, opens on a full disk
 * without crashing, and recovers by itself when space returns.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiskQueue, type QueueLog } from '../src/export/disk-queue';
import { scanSegment } from '../src/export/queue-frame';
import { until } from './helpers';

const rec = (i: number) => JSON.stringify({ id: `e${i}`, pad: 'x'.repeat(150) });
const ids = (records: string[]) => records.map((r) => Number((JSON.parse(r) as { id: string }).id.slice(1)));

/** Fill the file system holding `path` until it refuses more. */
function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(16384, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
}

function assertAligned(dir: string): void {
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.seg'))) {
    const buf = readFileSync(join(dir, f));
    const scan = scanSegment(buf, buf.length);
    equal(scan.bad.length + (scan.tail ? 1 : 0), 0, `${f} holds only whole, valid frames`);
  }
}

class Logged implements QueueLog {
  readonly lines: string[] = [];
  warn(_f: object, msg: string) {
    this.lines.push(`warn ${msg}`);
  }
  error(_f: object, msg: string) {
    this.lines.push(`error ${msg}`);
  }
}

test('a real full disk: back-pressure, counted drops, no partial frames, restart on a full disk, recovery', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'casefile-queue-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
  const opened: DiskQueue[] = [];
  try {
    const dir = join(mnt, 'queue');
    mkdirSync(dir);
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(512 * 1024, 1)); // someone else's half of the disk
    const log = new Logged();
    const opts = {
      segmentBytes: 128 * 1024,
      maxBytes: 64 << 20,
      maxPendingBytes: 64 * 1024,
      flushIntervalMs: 5,
      log,
    };
    const q = new DiskQueue(dir, opts);
    opened.push(q);
    /** Each record's outcome: true = durable, false = dropped, undefined = still waiting. */
    const outcome: Array<boolean | undefined> = [];
    const append = (queue: DiskQueue, n: number) => {
      for (let k = 0; k < n; k++) {
        const i = outcome.length;
        outcome.push(undefined);
        void queue.append(rec(i)).then((d) => (outcome[i] = d));
      }
    };

    // 1. Write until the disk is full.
    while (q.writable && outcome.length < 20_000) {
      append(q, 200);
      await sleep(1);
    }
    ok(!q.writable, 'the 1 MiB disk filled up');
    const durableAtFull = outcome.filter((d) => d === true).length;
    ok(durableAtFull > 2000, `${durableAtFull} records written before the disk was full`);
    // 2. Keep appending: memory holds maxPendingBytes, the rest is dropped and counted.
    append(q, 2000);
    await sleep(300); // the commit timer retries against the full disk meanwhile
    ok(q.droppedDiskFull > 0, 'drops counted');
    equal(outcome.filter((d) => d === false).length, q.droppedDiskFull, 'each drop resolves false');
    const { pendingBytes } = q.stats();
    ok(
      pendingBytes > 0 && pendingBytes <= opts.maxPendingBytes,
      `${pendingBytes} bytes wait in memory, within the bound`
    );
    ok(
      outcome.some((d) => d === undefined),
      'and their appends wait'
    );
    assertAligned(dir);
    equal(
      log.lines.filter((l) => l.startsWith('error queue write failed')).length,
      1,
      'logged once, not per retry'
    );

    // 3. Space returns: the waiting records are written without any call from outside.
    unlinkSync(filler);
    await until(
      'records written after space returned',
      () => outcome.every((d) => d !== undefined),
      10_000,
      20
    );
    ok(q.writable);
    ok(log.lines.includes('warn queue writes work again'));
    assertAligned(dir);

    // 4. Full again, then the collector stops and starts on the full disk.
    fillDisk(filler);
    append(q, 1500);
    await sleep(100);
    // Delivering while full: the ack cannot be persisted (no crash); after the restart that batch
    // comes again (at-least-once), it is not lost.
    const delivered = q.read(100, 1 << 20)!;
    equal(delivered.records.length, 100);
    q.ack(delivered);
    ok(log.lines.includes('warn could not persist the queue ack; retrying'));
    q.close();
    await sleep(1); // the outcomes arrive as promise callbacks
    const lostAtClose = outcome.filter((d) => d === false).length;
    equal(q.droppedDiskFull, lostAtClose, 'what close() could not write is counted, and resolved false');
    assertAligned(dir); // the failed writes were cut back: no torn frame for the next start
    const q2 = new DiskQueue(dir, opts);
    opened.push(q2);
    equal(q2.depth, outcome.filter((d) => d === true).length, 'every durable record is still queued');
    const firstOfQ2 = outcome.length;
    append(q2, 100);
    await sleep(100);
    ok(!q2.writable);
    unlinkSync(filler);
    await until('restarted queue recovers', () => outcome.every((d) => d !== undefined), 10_000, 20);
    equal(outcome.slice(firstOfQ2).filter((d) => d === true).length, 100);

    // 5. What comes out is exactly every record that resolved true, in order.
    const got: number[] = [];
    for (let b = q2.read(500, 1 << 20); b; b = q2.read(500, 1 << 20)) {
      got.push(...ids(b.records));
      q2.ack(b);
    }
    const durable = outcome.flatMap((d, i) => (d ? [i] : []));
    deepStrictEqual(got, durable);
    t.diagnostic(
      `full disk: ${outcome.length} appended, ${durable.length} durable, ${outcome.length - durable.length} dropped and counted (${q.droppedDiskFull} + ${q2.droppedDiskFull}), 0 lost uncounted`
    );
  } finally {
    for (const q of opened) q.close();
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true });
  }
});
