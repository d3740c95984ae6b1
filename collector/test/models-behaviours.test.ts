import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScanTracker } from '../src/audit/detectors';
import { connectBehavior, listenBehavior, RuntimeModel } from '../src/models/model';

test('listen and connect behaviours are found by name and port, also after a reload and not after a reset', () => {
  const t = Date.UTC(2026, 10, 27, 12);
  const m = RuntimeModel.create('img', 'image', t, 1000);
  m.learn('listen', listenBehavior(8080), t);
  m.learn('listen', listenBehavior(53, 'udp'), t);
  m.learn('connect', connectBehavior('10.0.0.7', 5432), t);
  m.learn('connect', connectBehavior('10.0.0.8', 443, 'api.example.com'), t);
  m.learn('connect', connectBehavior('::1', 80), t);
  for (const model of [m, new RuntimeModel(JSON.parse(JSON.stringify(m.toDocument(t))))]) {
    assert.deepEqual(
      [
        model.hasListen('tcp', 8080),
        model.hasListen('udp', 53),
        model.hasListen('tcp', 53),
        model.hasListen('udp', 8080),
      ],
      [true, true, false, false]
    );
    assert.deepEqual(
      [
        model.hasConnect('10.0.0.7', 5432),
        model.hasConnect('api.example.com', 443),
        model.hasConnect('10.0.0.8', 443),
        model.hasConnect('::1', 80),
        model.hasConnect('10.0.0.7', 5433),
      ],
      [true, true, false, true, false]
    );
  }
  m.reset(t, 1000);
  assert.deepEqual([m.hasListen('tcp', 8080), m.hasConnect('10.0.0.7', 5432), m.size()], [false, false, 0]);
});

test('scan: many distinct ports of one address within the window, once per window, per scanner', () => {
  const s = new ScanTracker(5, 10_000);
  const t = 1_000_000;
  const hits = (scanner: string, address: string, ports: number[], at: number) =>
    ports.map((p) => s.add(scanner, address, p, at)).filter(Boolean).length;
  assert.equal(hits('c1', '10.0.0.1', [1, 2, 3, 4], t), 0);
  assert.equal(hits('c1', '10.0.0.1', [4, 4, 4], t), 0, 'the same port again is no new port');
  assert.equal(hits('c1', '10.0.0.2', [1, 2, 3, 4, 5], t), 1, 'its own count per address');
  assert.equal(hits('c1', '10.0.0.1', [5, 6, 7], t + 1), 1, 'fires once');
  assert.equal(hits('c2', '10.0.0.1', [1, 2, 3, 4, 5], t), 1, 'another scanner');
  assert.equal(hits('c1', '10.0.0.1', [8, 9, 10, 11, 12], t + 10_001), 1, 'a new window fires again');
});

test('scan tracking is bounded per scanner; addresses whose window passed make room', () => {
  const s = new ScanTracker(3, 10_000, 10, 2);
  const t = 1_000_000;
  s.add('c', 'a1', 1, t);
  s.add('c', 'a2', 1, t);
  assert.equal([1, 2, 3].filter((p) => s.add('c', 'a3', p, t)).length, 0, 'full: a3 is not tracked');
  assert.equal([2, 3].filter((p) => s.add('c', 'a1', p, t)).length, 1, 'tracked ones still are');
  assert.equal(
    [1, 2, 3].filter((p) => s.add('c', 'a3', p, t + 10_001)).length,
    1,
    'room once the windows passed'
  );
});
