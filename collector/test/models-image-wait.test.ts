import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEvent, msToNs } from '@casefile/schema';
import { IMAGE_WAIT_MS, ImageWait } from '../src/models/image-wait';
import { clock, CONTAINER, execEvent, IMAGE } from './models-fixtures';

const bare = { containerId: CONTAINER.containerId, host: 'node-1' };

test('events of a container without an image wait; an event with the image releases them with its scope', () => {
  const clk = clock();
  const w = new ImageWait();
  const early = execEvent(clk.now(), ['/bin/sh'], { pid: 10, scope: bare });
  assert.equal(w.hold(early, clk.now()), true);
  assert.equal(w.hold(execEvent(clk.now(), ['/bin/ls'], { pid: 11 }), clk.now()), false, 'has an image');
  assert.equal(
    w.hold(execEvent(clk.now(), ['/bin/ls'], { pid: 12, scope: { host: 'h' } }), clk.now()),
    false,
    'host process'
  );
  const exit = makeEvent({
    type: 'process.exit',
    message: 'exit',
    timeNs: msToNs(clk.now()),
    pid: 10,
    ...bare,
  });
  assert.equal(w.hold(exit, clk.now()), false, 'only evaluated types wait');
  assert.equal(
    w.release(execEvent(clk.now(), ['/bin/x'], { scope: bare })),
    undefined,
    'no image yet: still waiting'
  );

  const informed = execEvent(clk.now(), ['/bin/sleep'], {
    pid: 13,
    scope: { ...CONTAINER, namespace: 'prod' },
  });
  const out = w.release(informed) ?? [];
  assert.equal(out.length, 1);
  assert.equal(out[0].id, early.id, 'the same event');
  assert.deepEqual(
    [out[0].imageDigest, out[0].imageName, out[0].containerName, out[0].namespace, out[0].executable],
    [IMAGE.imageDigest, IMAGE.imageName, 'api', 'prod', '/bin/sh']
  );
  assert.equal(w.release(informed), undefined, 'released once');
  assert.deepEqual(w.stats(), { waiting: 0, held: 1, released: 1, expired: 0, dropped: 0 });
});

test('container.start releases too; a wait that runs out makes the container imageless until it stops', () => {
  const clk = clock();
  const w = new ImageWait();
  w.hold(execEvent(clk.now(), ['/bin/sh'], { scope: bare }), clk.now());
  const start = makeEvent({ type: 'container.start', message: 'start', timeNs: msToNs(clk.now()), ...bare });
  assert.equal(w.release(start)?.length, 1);

  w.hold(execEvent(clk.now(), ['/bin/a'], { scope: bare }), clk.now());
  clk.advance(IMAGE_WAIT_MS - 1);
  assert.deepEqual(w.expire(clk.now()), [], 'not yet');
  clk.advance(1);
  const expired = w.expire(clk.now());
  assert.deepEqual(
    expired.map((e) => [e.executable, e.imageName]),
    [['/bin/a', undefined]]
  );
  assert.equal(
    w.hold(execEvent(clk.now(), ['/bin/b'], { scope: bare }), clk.now()),
    false,
    'imageless: evaluated at once'
  );
  w.forget(bare.containerId);
  assert.equal(
    w.hold(execEvent(clk.now(), ['/bin/c'], { scope: bare }), clk.now()),
    true,
    'a new container with that id waits again'
  );
  assert.equal(w.expire(clk.now(), true).length, 1, 'all: on stop, whatever their age');
  assert.deepEqual(w.stats(), { waiting: 0, held: 3, released: 1, expired: 2, dropped: 0 });
});

test('a container waits with at most 1000 events; the rest are counted as dropped', () => {
  const clk = clock();
  const w = new ImageWait();
  for (let i = 0; i < 1005; i++)
    assert.equal(w.hold(execEvent(clk.now(), [`/bin/x${i}`], { scope: bare }), clk.now()), true);
  assert.equal(w.release(execEvent(clk.now(), ['/bin/y']))?.length, 1000);
  assert.deepEqual(w.stats(), { waiting: 0, held: 1000, released: 1000, expired: 0, dropped: 5 });
});
