import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import pino from 'pino';
import type { CasefileEvent } from '@casefile/schema';
import { ActionTaker, createRuntimeActions } from '../src/models/actions';
import { Auditor } from '../src/models/auditor';
import { parsePolicy } from '../src/policy/policy';
import { clock, CONTAINER, execEvent } from './models-fixtures';

const logger = pino({ level: 'silent' });
/** A pid no process can have (above pid_max). */
const NO_PID = 4_999_996;

function auditor(policy: string) {
  const actions = new ActionTaker(createRuntimeActions(), logger);
  return { a: new Auditor(parsePolicy(policy), actions), actions };
}

function raise(
  a: Auditor,
  e: CasefileEvent,
  rule: Parameters<Auditor['raise']>[1][number]['rule'],
  now: number
) {
  const out: CasefileEvent[] = [];
  a.raise(e, [{ rule, detail: 'x' }], now, (x) => out.push(x));
  return out;
}

test('rate limit per container and attack type: burst, then held back, reported in the next audit', () => {
  const clk = clock();
  const { a } = auditor('rateLimit: { burst: 2, every: 10s }');
  const e = execEvent(clk.now(), ['/bin/x'], { pid: NO_PID });
  const counts = [0, 1, 2, 3].map(() => raise(a, e, 'unexpectedProcess', clk.now()).length);
  assert.deepEqual(counts, [1, 1, 0, 0]);
  assert.equal(raise(a, e, 'unexpectedPort', clk.now()).length, 1, 'another attack type has its own budget');
  assert.equal(
    raise(a, { ...e, containerId: 'e'.repeat(64) }, 'unexpectedProcess', clk.now()).length,
    1,
    'another container too'
  );
  assert.deepEqual(a.stats(), {
    audits: { alert: 4, prevent: 0, block: 0 },
    disabled: 0,
    rateLimited: 2,
    rateLimitPending: 2,
    rateLimitUnreported: 0,
  });
  clk.advance(10_000);
  const [next] = raise(a, e, 'unexpectedProcess', clk.now());
  assert.equal(next.suppressed, 2);
  assert.match(next.message, /\(2 similar suppressed\)/);
  assert.equal(a.stats().rateLimitPending, 0);
});

test('policy: disabled in a scope, actions per scope, block falls back to prevent for host processes, rules for containers only', async () => {
  const clk = clock();
  const { a, actions } = auditor(`
actions: { reverse_shell: block }
scopes:
  - match: { containerName: quiet }
    disable: [R0001]
`);
  assert.deepEqual(
    raise(
      a,
      execEvent(clk.now(), ['/bin/x'], { scope: { ...CONTAINER, containerName: 'quiet' } }),
      'unexpectedProcess',
      clk.now()
    ),
    []
  );
  assert.equal(a.stats().disabled, 1);
  assert.deepEqual(
    raise(a, execEvent(clk.now(), ['/bin/x'], { scope: { host: 'h' } }), 'packageManager', clk.now()),
    [],
    'a container-only rule'
  );

  // A host process: block becomes prevent (no container to stop); the gone pid cannot be killed.
  const host = raise(
    a,
    execEvent(clk.now(), ['/bin/sh'], { pid: NO_PID, scope: { host: 'h' } }),
    'reverseShell',
    clk.now()
  );
  assert.deepEqual(
    host.map((e) => [e.type, e.action]),
    [
      ['runtime.audit', 'prevent'],
      ['runtime.action', 'prevent'],
    ]
  );
  assert.match(host[1].reason!, /could not kill pid/);

  // A container: block asks the runtime; without one it fails later, and says so in a deferred runtime.action.
  const inContainer = raise(a, execEvent(clk.now(), ['/bin/sh'], { pid: NO_PID }), 'reverseShell', clk.now());
  assert.deepEqual(
    inContainer.map((e) => [e.type, e.action]),
    [
      ['runtime.audit', 'block'],
      ['runtime.action', 'block'],
    ]
  );
  await new Promise((r) => setImmediate(r));
  assert.equal(actions.pending, true);
  const later: CasefileEvent[] = [];
  actions.drain((e) => later.push(e));
  assert.equal(later.length, 1);
  assert.equal(later[0].auditId, inContainer[0].id);
  assert.match(later[0].reason!, /stop failed: no container runtime API configured/);
  assert.deepEqual(actions.stats(), { ok: { prevent: 0, block: 0 }, failed: { prevent: 1, block: 1 } });
  assert.deepEqual(a.stats().audits, { alert: 0, prevent: 1, block: 1 });
});

test('prevent kills a real process', async () => {
  const { a, actions } = auditor('actions: { crypto_miner: prevent }');
  const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
  try {
    await new Promise((r) => child.once('spawn', r));
    const exited = new Promise((r) => child.once('exit', (_c, sig) => r(sig)));
    const out = raise(
      a,
      execEvent(Date.now(), ['/bin/sleep', '30'], { pid: child.pid }),
      'minerProcess',
      Date.now()
    );
    assert.equal(out[1].reason, `killed pid ${child.pid}`);
    assert.equal(await exited, 'SIGKILL');
    assert.deepEqual(actions.stats().ok, { prevent: 1, block: 0 });
  } finally {
    child.kill('SIGKILL');
  }
});

test('verdicts come from the lists of the scopes that match', () => {
  const { a } = auditor(`
scopes:
  - match: { image: "shop/*" }
    deny: { processes: ["*/nc"], ports: [22] }
    allow: { destinations: ["*:443"] }
`);
  const e = execEvent(Date.now(), ['/bin/nc']);
  assert.equal(a.hasLists, true);
  assert.equal(a.verdict('process', ['/bin/nc'], e), 'deny');
  assert.equal(a.verdict('listen', [22], e), 'deny');
  assert.equal(a.verdict('connect', ['1.2.3.4:443'], e), 'allow');
  assert.equal(
    a.verdict('process', ['/bin/nc'], { ...e, imageName: 'other:1', imageDigest: undefined }),
    undefined
  );
  assert.equal(auditor('').a.hasLists, false);
});
