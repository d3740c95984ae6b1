import { test } from 'node:test';
import assert from 'node:assert/strict';
import { glob, parsePolicy, Policy } from '../src/policy/policy';
import { RULES } from '../src/audit/rules';

const POLICY = `
defaultAction: alert
actions: { R1007: prevent, reverse_shell: block }
rateLimit: { burst: 2, every: 1m }
scopes:
  - match: { image: "shop/*" }
    actions: { unexpected_process: prevent }
    allow: { processes: ["/usr/bin/curl"], ports: [9090], destinations: ["*.example.com:443"] }
    deny: { processes: ["*/nc"], ports: [22] }
  - match: { image: "shop/payments*", namespace: prod }
    actions: { R1007: alert, R0001: block }
    disable: [package_manager]
`;

const shop = { imageName: 'shop/web:1' };
const payments = { imageName: 'shop/payments:2', namespace: 'prod' };
const other = { imageName: 'other:1' };

test('actions: scope over top level, later scope over earlier, rule id over attack type, default last', () => {
  const p = parsePolicy(POLICY);
  assert.equal(p.actionFor(RULES.minerProcess, other), 'prevent', 'top-level rule id');
  assert.equal(p.actionFor(RULES.reverseShell, other), 'block', 'top-level attack type');
  assert.equal(p.actionFor(RULES.unexpectedPort, other), 'alert', 'default');
  assert.equal(p.actionFor(RULES.unexpectedProcess, shop), 'prevent', 'scope attack type');
  assert.equal(p.actionFor(RULES.unexpectedProcess, payments), 'block', 'later scope, rule id');
  assert.equal(p.actionFor(RULES.minerProcess, payments), 'alert', 'scope over top level');
  assert.deepEqual(p.rateLimit, { burst: 2, everyMs: 60_000 });
});

test('allow and deny lists, with globs, only within their scope', () => {
  const p = parsePolicy(POLICY);
  assert.equal(p.verdict('process', ['/bin/nc'], shop), 'deny');
  assert.equal(p.verdict('process', ['/usr/bin/curl'], shop), 'allow');
  assert.equal(p.verdict('process', ['/bin/nc'], other), undefined);
  assert.equal(p.verdict('port', [22], payments), 'deny', 'inherited from the broader scope');
  assert.equal(p.verdict('port', [9090], shop), 'allow');
  assert.equal(p.verdict('destination', ['api.example.com:443', '10.0.0.1:443'], shop), 'allow');
  assert.equal(p.verdict('destination', ['example.org:443'], shop), undefined);
});

test('rules disabled per scope', () => {
  const p = parsePolicy(POLICY);
  assert.equal(p.disabled(RULES.packageManager, payments), true);
  assert.equal(p.disabled(RULES.packageManager, shop), false);
});

test('bad actions are refused with the key at fault; an empty policy alerts on everything', () => {
  assert.throws(
    () => parsePolicy('actions: { R1007: kill }'),
    /actions\.R1007: action must be one of alert, prevent, block/
  );
  assert.throws(() => parsePolicy('defaultAction: nuke'), /defaultAction/);
  const empty = new Policy();
  assert.equal(empty.actionFor(RULES.reverseShell, shop), 'alert');
  assert.equal(empty.verdict('process', ['/bin/nc'], shop), undefined);
});

test('glob matches literally apart from *', () => {
  assert.ok(glob('*.example.com:443').test('a.b.example.com:443'));
  assert.ok(!glob('*.example.com:443').test('aexample.com:443'));
  assert.ok(!glob('shop/(x)').test('shop/x'));
  assert.ok(glob('shop/(x)').test('shop/(x)'));
});
