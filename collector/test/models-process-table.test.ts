import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { makeEvent, msToNs } from '@casefile/schema';
import { ProcessTable } from '../src/models/process-table';
import { clock, execEvent } from './models-fixtures';

/** A pid no process can have (above pid_max). */
const NO_PID = 4_999_997;

test('remembers the executable and the runtime mark per process until it exits', () => {
  const t = clock().now();
  const table = new ProcessTable();
  const runc = execEvent(t, ['/usr/bin/runc', 'init'], { pid: 20 });
  table.exec(runc, true);
  table.exec(execEvent(t, ['/bin/sh'], { pid: 20 }), false);
  assert.deepEqual(
    table.get(runc),
    { executable: '/bin/sh', runtime: true, gone: false },
    'the runtime mark stays'
  );
  const exit = makeEvent({
    type: 'process.exit',
    message: 'exit',
    timeNs: msToNs(t),
    pid: 20,
    processKey: runc.processKey,
  });
  table.exit(exit);
  assert.equal(table.get(runc), undefined);
});

test('/proc is read once for a gone process, at every exec of a live one, every time without a process key', async () => {
  const t = clock().now();
  const table = new ProcessTable();
  const gone = execEvent(t, ['/bin/true'], { pid: NO_PID });
  table.exec(gone, false);
  for (let i = 0; i < 3; i++) assert.equal(table.probe(gone), undefined);
  assert.equal(table.stats().procReadsGone, 1);
  assert.equal(table.get(gone)?.gone, true);

  const { processKey: _, ...keyless } = gone;
  for (let i = 0; i < 2; i++) assert.equal(table.probe({ ...keyless, id: `${gone.id}-${i}` }), undefined);
  assert.equal(table.stats().procReadsGone, 3, 'a bare pid may be reused: read each time');

  const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
  try {
    await new Promise((r) => child.once('spawn', r));
    const live = execEvent(t, ['/bin/sleep', '30'], { pid: child.pid });
    table.exec(live, false);
    const ms = table.probe(live);
    assert.equal(typeof ms, 'number', 'the change time of /bin/sleep');
    assert.ok(ms! < Date.now());
    table.probe(live);
    assert.equal(table.stats().procReadsLive, 2);
  } finally {
    child.kill('SIGKILL');
  }
});

test('is bounded: the least recently seen process is forgotten first', () => {
  const t = clock().now();
  const table = new ProcessTable(2);
  const [a, b, c] = [30, 31, 32].map((pid) => execEvent(t, ['/bin/x'], { pid }));
  table.exec(a, false);
  table.exec(b, false);
  table.get(a); // a seen again: b is now the oldest
  table.exec(c, false);
  assert.deepEqual([!!table.get(a), !!table.get(b), !!table.get(c)], [true, false, true]);
  assert.equal(table.stats().size, 2);
});
