import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createRuntimeActions, ModelStage, type ModelStageConfig } from '../src/models';
import { modelsDir, saveModel, writeCommand } from '../src/models/store';
import { parsePolicy } from '../src/policy/policy';
import {
  audits,
  clock,
  collect,
  CONTAINER,
  execEvent,
  IMAGE,
  syscallEvent,
  tcpEvent,
} from './models-fixtures';

const logger = pino({ level: 'silent' });
const LEARN = 5_000;

function setup(extra: Partial<ModelStageConfig['models']> = {}, policy?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-models-'));
  const clk = clock();
  const config: ModelStageConfig = { stateDir: dir, models: { learningPeriodMs: LEARN, ...extra } };
  const make = () =>
    new ModelStage(config, logger, createRuntimeActions(), {
      now: clk.now,
      policy: policy ? parsePolicy(policy) : undefined,
    });
  return { dir, clk, config, make, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What the image does normally: a shell running sleep, a listener on 8080, a call to the database. */
function normal(t: number) {
  return [
    execEvent(t, ['/bin/sh', '-c', 'sleep 1'], { pid: 100 }),
    execEvent(t, ['/bin/sleep', '1'], { pid: 101, ppid: 100 }),
    tcpEvent(t, 'listen', '0.0.0.0', 8080, { pid: 102 }),
    tcpEvent(t, 'connect', '10.0.0.7', 5432, { pid: 102 }),
  ];
}

test('learns each behaviour once with its time, then audits only deviations', async () => {
  const s = setup();
  const stage = s.make();
  const learning = collect(stage, [...normal(s.clk.now()), ...normal(s.clk.now())]);
  const learned = learning.filter((e) => e.type === 'model.learned');
  assert.deepEqual(
    learned.map((e) => [e.behaviorKind, e.behavior]),
    [
      ['process', '/bin/sh'],
      ['process', '/bin/sleep'],
      ['listen', 'tcp/8080'],
      ['connect', '10.0.0.7:5432'],
    ]
  );
  assert.ok(
    learned.every(
      (e) =>
        e.modelId === IMAGE.imageDigest &&
        e.modelState === 'learning' &&
        e.containerId === CONTAINER.containerId
    )
  );
  assert.match(learned[0].message, /learned process \/bin\/sh at 2026-11-27T12:00:00/);
  assert.equal(audits(learning).length, 0);
  const created = learning.find((e) => e.type === 'model.state');
  assert.equal(created?.modelState, 'learning');

  s.clk.advance(LEARN + 1);
  const after = collect(stage, normal(s.clk.now()));
  assert.equal(audits(after).length, 0, 'normal behaviour after learning yields no audit');
  const st = after.find((e) => e.type === 'model.state');
  assert.equal(st?.modelState, 'active');
  assert.equal(JSON.parse(st!.model!).behaviors.listen['tcp/8080'], s.clk.now() - LEARN - 1);

  const dev = audits(
    collect(stage, [
      execEvent(s.clk.now(), ['/bin/cat', '/etc/hostname'], { pid: 103, ppid: 100 }),
      tcpEvent(s.clk.now(), 'listen', '0.0.0.0', 9090, { pid: 104 }),
      tcpEvent(s.clk.now(), 'connect', '203.0.113.9', 443, { pid: 104 }),
    ])
  );
  assert.deepEqual(
    dev.map((e) => [e.ruleId, e.attackType, e.severity, e.action, e.mitreTechnique]),
    [
      ['R0001', 'unexpected_process', 'medium', 'alert', 'T1059'],
      ['CF001', 'unexpected_port', 'medium', 'alert', 'T1571'],
      ['R0011', 'unexpected_outbound', 'medium', 'alert', 'T1071'],
    ]
  );
  assert.equal(dev[1].listenPort, 9090);
  assert.equal(dev[2].destAddress, '203.0.113.9');
  assert.equal(dev[0].modelId, IMAGE.imageDigest);
  await stage.stop();
  s.done();
});

test('host processes get a model per host; a model without a digest falls back to the image name', async () => {
  const s = setup();
  const stage = s.make();
  const out = collect(stage, [
    execEvent(s.clk.now(), ['/usr/bin/top'], { scope: { host: 'node-1' } }),
    execEvent(s.clk.now(), ['/bin/ls'], { scope: { containerId: 'd'.repeat(64), imageName: 'busybox:1' } }),
  ]);
  assert.deepEqual(
    out.filter((e) => e.type === 'model.learned').map((e) => e.modelId),
    ['host:node-1', 'busybox:1']
  );
  await stage.stop();
  s.done();
});

test('models persist across restarts; reset and extend work by admin command and by config', async () => {
  const s = setup();
  const first = s.make();
  collect(first, normal(s.clk.now()));
  await first.stop();
  s.clk.advance(LEARN + 1);

  const second = s.make();
  const out = collect(second, normal(s.clk.now()));
  assert.equal(out.filter((e) => e.type === 'model.learned').length, 0, 'nothing relearned after a restart');
  assert.equal(audits(out).length, 0);
  assert.equal(
    audits(collect(second, [execEvent(s.clk.now(), ['/bin/vi'], { pid: 110, ppid: 100 })])).length,
    1
  );

  // Admin command (what `casefile-models extend` writes): the running stage picks it up within a second.
  writeCommand(s.dir, { op: 'extend', model: IMAGE.imageDigest, durationMs: 60_000 });
  const deadline = Date.now() + 5000;
  let learnedVi: unknown[] = [];
  while (Date.now() < deadline && learnedVi.length === 0) {
    await new Promise((r) => setTimeout(r, 100));
    learnedVi = collect(second, [execEvent(s.clk.now(), ['/bin/vi'], { pid: 111, ppid: 100 })]).filter(
      (e) => e.type === 'model.learned'
    );
  }
  assert.equal(learnedVi.length, 1, 'extended model learns again');
  await second.stop();

  // Reset through config at start-up: everything forgotten, learning from scratch.
  const third = new ModelStage(
    { ...s.config, models: { ...s.config.models, reset: '*' } },
    logger,
    createRuntimeActions(),
    { now: s.clk.now }
  );
  const relearned = collect(third, normal(s.clk.now())).filter((e) => e.type === 'model.learned');
  assert.equal(relearned.length, 4);
  await third.stop();
  s.done();
});

test('model.state is re-emitted at the configured interval', async () => {
  const s = setup({ stateIntervalMs: 60_000 });
  const stage = s.make();
  collect(stage, normal(s.clk.now()));
  s.clk.advance(30_000);
  assert.equal(
    collect(stage, normal(s.clk.now())).filter((e) => e.type === 'model.state').length,
    1,
    'learning -> active'
  );
  s.clk.advance(30_000);
  assert.equal(collect(stage, normal(s.clk.now())).filter((e) => e.type === 'model.state').length, 0);
  s.clk.advance(31_000);
  const st = collect(stage, normal(s.clk.now())).filter((e) => e.type === 'model.state');
  assert.equal(st.length, 1);
  assert.equal(st[0].reason, 'interval');
  await stage.stop();
  s.done();
});

test('audit storms are rate-limited per container and type, with a suppressed count', async () => {
  const s = setup({}, 'rateLimit: { burst: 5, every: 10s }');
  const stage = s.make();
  collect(stage, normal(s.clk.now()));
  s.clk.advance(LEARN + 1);
  const storm = Array.from({ length: 20 }, (_, i) =>
    execEvent(s.clk.now(), [`/bin/x${i}`], { pid: 200 + i, ppid: 100 })
  );
  assert.equal(audits(collect(stage, storm)).length, 5);
  // Another container of the same image has its own budget.
  const other = { ...CONTAINER, containerId: 'e'.repeat(64) };
  assert.equal(audits(collect(stage, [execEvent(s.clk.now(), ['/bin/y'], { scope: other })])).length, 1);
  s.clk.advance(10_000);
  const next = audits(collect(stage, [execEvent(s.clk.now(), ['/bin/z'], { pid: 300, ppid: 100 })]));
  assert.equal(next.length, 1);
  assert.equal(next[0].suppressed, 15);
  assert.match(next[0].message, /15 similar suppressed/);
  await stage.stop();
  s.done();
});

test('policy: denied process and port are audited even while learning; allowed ones never are', async () => {
  const s = setup(
    {},
    `scopes:
  - match: { image: "shop/*" }
    deny: { processes: ["*/nc"], ports: [22] }
    allow: { processes: ["/usr/bin/curl"], destinations: ["*:443"] }
`
  );
  const stage = s.make();
  const learning = audits(
    collect(stage, [
      execEvent(s.clk.now(), ['/bin/nc', '-l', '-p', '9'], { pid: 120 }),
      tcpEvent(s.clk.now(), 'listen', '0.0.0.0', 22, { pid: 120 }),
    ])
  );
  assert.deepEqual(
    learning.map((e) => [e.ruleId, e.attackType]),
    [
      ['CF201', 'policy_denied'],
      ['CF202', 'policy_denied'],
    ]
  );
  s.clk.advance(LEARN + 1);
  const active = collect(stage, [
    execEvent(s.clk.now(), ['/usr/bin/curl', 'x'], { pid: 121 }),
    tcpEvent(s.clk.now(), 'connect', '1.2.3.4', 443, { pid: 121 }),
  ]);
  assert.equal(audits(active).length, 0);
  // Outside the scope the lists do not apply.
  const other = { containerId: 'f'.repeat(64), imageName: 'other:1' };
  assert.equal(
    audits(collect(stage, [execEvent(s.clk.now(), ['/bin/nc'], { scope: other })])).length,
    0,
    'learning, not denied'
  );
  await stage.stop();
  s.done();
});

test("a new container's first events wait for its image, then count for the image's model", async () => {
  const s = setup();
  const stage = s.make();
  const bare = { containerId: CONTAINER.containerId, host: 'node-1' }; // the enricher has not learned the image yet
  const early = collect(stage, [execEvent(s.clk.now(), ['/bin/sh', '-c', 'x'], { pid: 130, scope: bare })]);
  assert.deepEqual(
    early.map((e) => e.type),
    ['process.start'],
    'passed through, not yet evaluated'
  );
  const later = collect(stage, [execEvent(s.clk.now(), ['/bin/sleep', '1'], { pid: 131, ppid: 130 })]);
  const learned = later.filter((e) => e.type === 'model.learned');
  assert.deepEqual(
    learned.map((e) => [e.modelId, e.behavior, e.imageName]),
    [
      [IMAGE.imageDigest, '/bin/sh', IMAGE.imageName],
      [IMAGE.imageDigest, '/bin/sleep', IMAGE.imageName],
    ]
  );
  await stage.stop();
  s.done();
});

test("the runtime's own processes (runc init, runc:[N:...] tasks) are neither learned nor audited", async () => {
  const s = setup();
  const stage = s.make();
  collect(stage, normal(s.clk.now()));
  s.clk.advance(LEARN + 1);
  const out = collect(stage, [
    execEvent(s.clk.now(), ['/usr/bin/runc', 'init'], { pid: 140, filename: '/dev/fd/5' }),
    syscallEvent(s.clk.now(), 4, { a: 0x10000000, pid: 141, comm: 'runc:[1:CHILD]' })!,
    execEvent(s.clk.now(), ['/bin/sh', '-c', 'sleep 1'], { pid: 140, ppid: 4_999_999 }),
  ]);
  assert.deepEqual(
    audits(out).map((e) => e.ruleId),
    [],
    'no fileless, unshare or unexpected-process audit'
  );
  // The same unshare from the application is audited.
  const app = audits(
    collect(stage, [syscallEvent(s.clk.now(), 4, { a: 0x10000000, pid: 142, comm: 'app' })!])
  );
  assert.deepEqual(
    app.map((e) => [e.ruleId, e.attackType, e.syscall]),
    [['R1006', 'container_escape', 'unshare']]
  );
  await stage.stop();
  s.done();
});

test('prevent kills the offending (real) process and says so in a runtime.action event', async () => {
  const s = setup({}, 'actions: { crypto_miner: prevent }');
  const stage = s.make();
  const dir = mkdtempSync(join(tmpdir(), 'casefile-miner-'));
  const exe = join(dir, 'xmrig');
  copyFileSync('/bin/sleep', exe);
  const child = spawn(exe, ['30'], { stdio: 'ignore' });
  try {
    await new Promise((r) => child.once('spawn', r));
    const exited = new Promise<string | null>((r) => child.once('exit', (_c, sig) => r(sig)));
    const t0 = Date.now();
    const out = collect(stage, [
      execEvent(s.clk.now(), [exe, '30'], { pid: child.pid, scope: { host: 'node-1' } }),
    ]);
    const audit = audits(out).find((e) => e.attackType === 'crypto_miner')!;
    assert.equal(audit.action, 'prevent');
    const action = out.find((e) => e.type === 'runtime.action')!;
    assert.equal(action.auditId, audit.id);
    assert.equal(action.reason, `killed pid ${child.pid}`);
    assert.equal(await exited, 'SIGKILL');
    assert.ok(Date.now() - t0 < 1000, 'dead within a second');
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    await stage.stop();
    s.done();
  }
});

test('a model written with `exe <- parent` keys is read by executable, the earliest time kept', async () => {
  const s = setup();
  const t0 = s.clk.now();
  mkdirSync(modelsDir(s.dir), { recursive: true });
  saveModel(s.dir, {
    id: IMAGE.imageDigest,
    scope: 'image',
    state: 'active',
    createdMs: t0 - 10 * LEARN,
    learningUntilMs: t0 - 5 * LEARN,
    behaviors: {
      process: {
        '/bin/sleep <- /bin/sh': t0 - 7 * LEARN,
        '/bin/sleep <- ?': t0 - 8 * LEARN,
        '/bin/sh <- ?': t0 - 8 * LEARN,
      },
      listen: {},
      connect: {},
    },
  });
  const stage = s.make();
  const out = collect(stage, [
    execEvent(t0, ['/bin/sleep', '1'], {
      pid: 150,
      scope: { ...CONTAINER, parentExecutable: '/usr/sbin/runc' },
    }),
  ]);
  assert.deepEqual(audits(out), [], 'sleep is known whatever started it');
  const doc = JSON.parse(out.find((e) => e.type === 'model.state')!.model!);
  assert.deepEqual(doc.behaviors.process, { '/bin/sleep': t0 - 8 * LEARN, '/bin/sh': t0 - 8 * LEARN });
  await stage.stop();
  s.done();
});

test('a behaviour counts as learned when it happened, not when it was processed', async () => {
  const s = setup();
  const stage = s.make();
  const start = s.clk.now();
  collect(stage, normal(start));
  s.clk.advance(LEARN + 2000);
  // Queued behind the deadline: one exec from inside the learning period, one from after it.
  const late = collect(stage, [
    execEvent(start + LEARN - 500, ['/bin/date'], { pid: 160, ppid: 100 }),
    execEvent(start + LEARN + 500, ['/bin/vi'], { pid: 161, ppid: 100 }),
  ]);
  assert.deepEqual(
    late.filter((e) => e.type === 'model.learned').map((e) => e.behavior),
    ['/bin/date']
  );
  assert.deepEqual(
    audits(late).map((e) => [e.ruleId, e.executable]),
    [['R0001', '/bin/vi']]
  );
  await stage.stop();
  s.done();
});

test('a learned command run through the runtime exec is not audited; an audit carries its lineage', async () => {
  const s = setup();
  const stage = s.make();
  const learned = collect(stage, [
    execEvent(s.clk.now(), ['/bin/ls', '/var/log'], {
      pid: 170,
      ppid: 100,
      scope: { ...CONTAINER, parentExecutable: '/bin/sh' },
    }),
  ]).filter((e) => e.type === 'model.learned');
  assert.equal(learned[0].parentExecutable, '/bin/sh', 'the parent is context of what was learned');
  s.clk.advance(LEARN + 1);
  const viaExec = { ...CONTAINER, parentExecutable: '/dev/fd/5', processEntry: 'runtime_exec' };
  assert.deepEqual(
    audits(collect(stage, [execEvent(s.clk.now(), ['/bin/ls', '/var/log'], { pid: 171, scope: viaExec })])),
    []
  );
  const chain = ['boot:172:1', 'boot:100:1'];
  const out = audits(
    collect(stage, [
      execEvent(s.clk.now(), ['/bin/awk', 'BEGIN{}'], {
        pid: 173,
        ppid: 172,
        scope: { ...CONTAINER, parentExecutable: '/bin/sh', processAncestry: chain },
      }),
      syscallEvent(s.clk.now(), 1, {
        path: '/root/.profile',
        a: 0o2101,
        pid: 174,
        scope: { ...CONTAINER, processAncestry: chain },
      })!,
    ])
  );
  assert.deepEqual(
    out.map((e) => [e.ruleId, e.mitreTechnique, e.parentExecutable, e.processAncestry]),
    [
      ['R0001', 'T1059', '/bin/sh', chain],
      ['CF114', 'T1546.004', undefined, chain],
    ]
  );
  await stage.stop();
  s.done();
});
