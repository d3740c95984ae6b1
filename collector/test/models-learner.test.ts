import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { CasefileEvent } from '@casefile/schema';
import { Learner } from '../src/models/learner';
import { StateReporter } from '../src/models/state-reporter';
import { modelsDir, writeCommand } from '../src/models/store';
import { clock, CONTAINER, execEvent, IMAGE } from './models-fixtures';

const LEARN = 5_000;
const logger = pino({ level: 'silent' });

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-learner-'));
  const clk = clock();
  const make = () => new Learner(dir, LEARN, new StateReporter(600_000), logger);
  return { dir, clk, make, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a model per image (digest, else name, else container) and per host', () => {
  const s = setup();
  const l = s.make();
  const t = s.clk.now();
  const ids = [
    execEvent(t, ['/bin/a']),
    execEvent(t, ['/bin/a'], { scope: { containerId: 'd'.repeat(64), imageName: 'busybox:1' } }),
    execEvent(t, ['/bin/a'], { scope: { containerId: 'e'.repeat(64) } }),
    execEvent(t, ['/bin/a'], { scope: { host: 'node-1' } }),
  ].map((e) => l.modelFor(e, t).id);
  assert.deepEqual(ids, [IMAGE.imageDigest, 'busybox:1', `container:${'e'.repeat(64)}`, 'host:node-1']);
  assert.equal(l.modelFor(execEvent(t, ['/bin/b']), t), l.models.get(IMAGE.imageDigest), 'one model per id');
  s.done();
});

test('learns while learning (judged at the event time), emits model.learned, persists on sync and reloads', () => {
  const s = setup();
  const l = s.make();
  const t0 = s.clk.now();
  const out: CasefileEvent[] = [];
  const e = execEvent(t0, ['/bin/sh']);
  const m = l.modelFor(e, t0);
  assert.equal(
    l.learn(m, e, 'process', '/bin/sh', t0, (x) => out.push(x)),
    true
  );
  assert.deepEqual(
    out.map((x) => [x.type, x.modelId, x.behaviorKind, x.behavior, x.containerId]),
    [['model.learned', IMAGE.imageDigest, 'process', '/bin/sh', CONTAINER.containerId]]
  );
  // Processed after the learning period, but it happened inside it.
  const late = execEvent(t0 + LEARN - 1, ['/bin/date']);
  assert.equal(
    l.learn(m, late, 'process', '/bin/date', t0 + LEARN + 10, () => {}),
    true
  );
  assert.equal(
    l.learn(m, execEvent(t0 + LEARN, ['/bin/vi']), 'process', '/bin/vi', t0 + LEARN, () => {}),
    false
  );
  assert.deepEqual(l.stats(t0).learned, { process: 2, listen: 0, connect: 0 });

  l.sync(t0);
  assert.equal(readdirSync(modelsDir(s.dir)).filter((f) => f.endsWith('.json')).length, 1);
  const again = s.make().models.get(IMAGE.imageDigest)!;
  assert.deepEqual(
    [again.hasProcess('/bin/sh'), again.hasProcess('/bin/date'), again.hasProcess('/bin/vi')],
    [true, true, false]
  );
  s.done();
});

test('admin commands reset and extend models; unreadable commands and model files are counted, not fatal', () => {
  const s = setup();
  const first = s.make();
  const t0 = s.clk.now();
  const e = execEvent(t0, ['/bin/sh']);
  first.learn(first.modelFor(e, t0), e, 'process', '/bin/sh', t0, () => {});
  first.sync(t0);
  writeFileSync(join(modelsDir(s.dir), 'broken.json'), '{');

  const l = s.make();
  assert.equal(l.stats(t0).persistErrors.load, 1);
  const m = l.models.get(IMAGE.imageDigest)!;
  const t1 = t0 + 2 * LEARN;
  assert.equal(m.state(t1), 'active');
  writeCommand(s.dir, { op: 'extend', model: IMAGE.imageDigest, durationMs: 60_000 });
  writeCommand(s.dir, { op: 'reset', model: 'no-such-model' });
  writeFileSync(join(modelsDir(s.dir), 'commands', '9-bad.json'), '{"op":"delete","model":"*"}');
  l.sync(t1);
  assert.equal(m.state(t1 + 59_000), 'learning');
  assert.equal(m.hasProcess('/bin/sh'), true, 'extend keeps what is known');
  l.apply({ op: 'reset', model: '*' }, t1);
  assert.equal(m.hasProcess('/bin/sh'), false);
  assert.deepEqual(l.stats(t1), {
    models: { learning: 1, active: 0 },
    learned: { process: 0, listen: 0, connect: 0 },
    commands: { reset: 1, extend: 1 },
    persistErrors: { load: 1, save: 0, command: 1 },
  });
  s.done();
});

test('a model that cannot be written is counted and written on a later sync', () => {
  const s = setup();
  const l = s.make();
  const t0 = s.clk.now();
  const e = execEvent(t0, ['/bin/sh']);
  l.learn(l.modelFor(e, t0), e, 'process', '/bin/sh', t0, () => {});
  rmSync(modelsDir(s.dir), { recursive: true });
  writeFileSync(modelsDir(s.dir), 'a file where the directory was');
  l.sync(t0);
  l.sync(t0);
  assert.equal(l.stats(t0).persistErrors.save, 2, 'still dirty: retried');
  rmSync(modelsDir(s.dir));
  s.make(); // recreates the directory
  l.sync(t0);
  assert.equal(l.stats(t0).persistErrors.save, 2);
  assert.ok(existsSync(modelsDir(s.dir)) && readdirSync(modelsDir(s.dir)).some((f) => f.endsWith('.json')));
  s.done();
});
