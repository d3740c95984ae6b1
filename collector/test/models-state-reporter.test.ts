import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CasefileEvent } from '@casefile/schema';
import { RuntimeModel } from '../src/models/model';
import { STATE_MIN_GAP_MS, StateReporter } from '../src/models/state-reporter';

const LEARN = 10_000;

test('model.state: created, learned (at most every 5 s), learning period ended, interval, loaded', () => {
  const r = new StateReporter(60_000);
  let t = Date.UTC(2026, 10, 27, 12);
  const models = new Map<string, RuntimeModel>();
  const m = RuntimeModel.create('img', 'image', t, LEARN);
  models.set(m.id, m);
  const reasons = () => {
    const out: CasefileEvent[] = [];
    r.report(models, t, (e) => out.push(e));
    return out.map((e) => [e.modelId, e.modelState, e.reason]);
  };
  r.markDue('img', 'created');
  assert.deepEqual(reasons(), [['img', 'learning', 'created']]);
  m.learn('process', '/bin/sh', t);
  r.learned('img');
  t += 1_000;
  assert.deepEqual(reasons(), [], 'learned, but the last state is under 5 s old');
  t += STATE_MIN_GAP_MS;
  assert.deepEqual(reasons(), [['img', 'learning', 'learned']]);
  t += LEARN;
  assert.deepEqual(reasons(), [['img', 'active', 'learning period ended']]);
  t += 59_000;
  assert.deepEqual(reasons(), []);
  t += 1_000;
  assert.deepEqual(reasons(), [['img', 'active', 'interval']]);
  const loaded = RuntimeModel.create('other', 'host', t - 2 * LEARN, LEARN);
  models.set(loaded.id, loaded);
  t += 1_000;
  assert.deepEqual(reasons(), [['other', 'active', 'loaded']]);
  assert.equal(r.stats().emitted, 5);
});

test('the whole document goes with it', () => {
  const r = new StateReporter(60_000);
  const t = Date.UTC(2026, 10, 27, 12);
  const m = RuntimeModel.create('img', 'image', t, LEARN);
  m.learn('listen', 'tcp/8080', t);
  const out: CasefileEvent[] = [];
  r.report(new Map([[m.id, m]]), t, (e) => out.push(e));
  assert.equal(out.length, 1);
  assert.match(out[0].message, /Model img is learning with 1 behaviours \(loaded\)/);
  assert.deepEqual(JSON.parse(out[0].model!), m.toDocument(t));
});
