/**
 * Redaction beyond the corpus: user rules and allow-lists from the YAML
 * config (RE2), the per-event budget, every field that can carry a command
 * line, and time on hostile input at the value cap.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeEvent, type CasefileEvent } from '@casefile/schema';
import { loadConfig } from '../src/config';
import { MASK, MASK_BUDGET, Redactor, createRedactStage, redactArgs, redactText } from '../src/redact';
import { hostileCases } from './fixtures/redact/hostile';

const R = MASK;

function configFrom(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-redact-'));
  const file = join(dir, 'collector.yaml');
  writeFileSync(file, yaml);
  return loadConfig({ argv: ['--config', file, '--stdout'], env: {} });
}

test('YAML user rules: names, flags, RE2 patterns and allow-list patterns', () => {
  const { config, warnings } = configFrom(`
redact:
  budgetMs: 2ms
  names: [SESSIONID]
  flags: [--vault-secret, -X]
  patterns: ['acme_[a-z0-9]{12}', 'pin=([0-9]{4})']
  allow: ['^changeme$', '^TOKEN_LIMIT$']
`);
  deepStrictEqual(warnings, []);
  equal(config.redact.budgetMs, 2);
  const stage = createRedactStage(config.redact);
  const out: CasefileEvent[] = [];
  const run = (args: string[]) => {
    stage.process(
      makeEvent({
        type: 'process.start',
        pid: 1,
        executable: '/bin/x',
        message: 'x',
        args,
        commandLine: args.join(' '),
      }),
      (e) => out.push(e)
    );
    return out[out.length - 1].args;
  };
  deepStrictEqual(run(['app', 'SESSIONID=abc123']), ['app', `SESSIONID=${R}`]);
  deepStrictEqual(run(['app', '--vault-secret', 's3', '-X', 'y']), ['app', '--vault-secret', R, '-X', R]);
  deepStrictEqual(run(['app', 'id acme_abcdef123456 x']), ['app', `id ${R} x`]);
  deepStrictEqual(run(['app', 'pin=1234']), ['app', `pin=${R}`]);
  deepStrictEqual(
    run(['app', '--password', 'changeme']),
    ['app', '--password', 'changeme'],
    'allow-listed value'
  );
  deepStrictEqual(run(['app', 'TOKEN_LIMIT=9']), ['app', 'TOKEN_LIMIT=9'], 'allow-listed name');
  deepStrictEqual(run(['app', '--password', 'other']), ['app', '--password', R]);
  equal(stage.redacted, 5);
});

test('YAML: a pattern RE2 cannot compile is skipped with a warning, not fatal', () => {
  const { config, warnings } = configFrom(`
redact:
  patterns: ['(a)\\1']
  names: NOT_A_LIST
`);
  equal(config.redact.patterns, undefined);
  equal(config.redact.names, undefined);
  ok(
    warnings.some((w) => w.includes('redact.patterns') && w.includes('RE2')),
    warnings.join('\n')
  );
  ok(
    warnings.some((w) => w.includes('redact.names')),
    warnings.join('\n')
  );
});

test('budget: past it every remaining argument is masked whole and the event counted', () => {
  const stage = createRedactStage({ budgetMs: 0 });
  const long = 'x'.repeat(5000);
  const args = ['app', long, '--password', 'hunter2', 'AKIAIOSFODNN7EXAMPLE', 'tail'];
  const e = makeEvent({
    type: 'process.start',
    pid: 1,
    executable: '/bin/app',
    message: 'x',
    args,
    commandLine: args.join(' '),
  });
  let got!: CasefileEvent;
  stage.process(e, (x) => (got = x));
  equal(stage.overBudget, 1);
  ok(!JSON.stringify(got).includes('hunter2') && !JSON.stringify(got).includes('AKIA'));
  equal(got.args![got.args!.length - 1], MASK_BUDGET);
  // A small event never reads the clock: it is redacted normally even with no budget at all.
  const small = makeEvent({
    type: 'process.start',
    pid: 1,
    executable: '/bin/x',
    message: 'x',
    args: ['x', '--token', 't0k'],
  });
  stage.process(small, (x) => (got = x));
  deepStrictEqual(got.args, ['x', '--token', R]);
  equal(stage.overBudget, 1);
});

test('every field that can carry a command line is redacted; raw bytes of a redacted field are dropped', () => {
  const r = new Redactor();
  const e = makeEvent({
    type: 'runtime.audit',
    attackType: 'unexpected_process',
    severity: 'high',
    ruleId: 'R0001',
    action: 'alert',
    message: 'Unexpected process: mysql -uroot -phunter2 in web',
    commandLine: 'mysql -uroot -phunter2 \\xff',
    reason: 'parent ran sh -c "curl -u admin:hunter2 http://x"',
    rawBase64: JSON.stringify({
      commandLine: Buffer.from('mysql -uroot -phunter2 \xff', 'latin1').toString('base64'),
    }),
  });
  (e as unknown as Record<string, string>).parentCommandLine = 'bash -c "PGPASSWORD=hunter2 psql"';
  const out = r.event(e).event;
  ok(!JSON.stringify(out).includes('hunter2'), JSON.stringify(out));
  equal(out.rawBase64, undefined);
  equal(out.message, `Unexpected process: mysql -uroot -p${R} in web`);
  equal((out as unknown as Record<string, string>).parentCommandLine, `bash -c "PGPASSWORD=${R} psql"`);
  const login = makeEvent({
    type: 'host.activity',
    activity: 'sudo',
    loginUser: 'alice',
    commandLine: '/usr/bin/docker login -u ci -p s3cr3tpw registry',
    message: 'sudo: alice as root: /usr/bin/docker login -u ci -p s3cr3tpw registry',
  });
  equal(r.event(login).event.commandLine, `/usr/bin/docker login -u ci -p ${R} registry`);
});

test('argv and text agree on shell scripts, wrappers and pipelines', () => {
  deepStrictEqual(redactArgs(['sudo', '-u', 'app', 'env', 'A=1', 'mysql', '-pX1y2z3']), [
    'sudo',
    '-u',
    'app',
    'env',
    'A=1',
    'mysql',
    `-p${R}`,
  ]);
  deepStrictEqual(
    redactArgs(['bash', '-lc', "echo 'p4ss w0rd' | docker login -u ci --password-stdin r.io"]),
    ['bash', '-lc', `echo ${R} | docker login -u ci --password-stdin r.io`]
  );
  equal(
    redactText("sh -c curl -u admin:hunter2 'https://x/?a=1'"),
    `sh -c curl -u admin:${R} 'https://x/?a=1'`
  );
  equal(
    redactText('x PWD=/home/alice TOKENIZERS_PARALLELISM=false'),
    'x PWD=/home/alice TOKENIZERS_PARALLELISM=false'
  );
});

test('hostile input at the value cap: linear time, never a stall', () => {
  const r = new Redactor({ budgetMs: 1e9 }); // no budget: measure the scanners themselves
  const cases = hostileCases();
  for (const c of cases) r.event(c.event); // warm up
  let worst = 0;
  let worstName = '';
  for (const c of cases) {
    let ms = Infinity; // CPU time, best of 3: neither other tenants nor a GC pause are the scanner's cost
    for (let i = 0; i < 3; i++) {
      const u = process.cpuUsage();
      r.event(c.event);
      const d = process.cpuUsage(u);
      ms = Math.min(ms, (d.user + d.system) / 1000);
    }
    if (ms > worst) [worst, worstName] = [ms, c.name];
  }
  console.log(
    `hostile set: ${cases.length} events, worst without budget ${worst.toFixed(2)} ms CPU (${worstName})`
  );
  // The old backtracking rules took 175 s on one such event; a linear pass over ~36 KiB is milliseconds.
  ok(worst < 100, `${worstName} took ${worst.toFixed(1)} ms`);
  // Linear: 8x the input costs about 8x (quadratic would be 64x). CPU time, best of 7: other tenants do not count.
  const unit = 'a=b:c "password": -p x://y@';
  const time = (n: number) => {
    const args = ['sh', '-c', unit.repeat(n)];
    let best = Infinity;
    for (let i = 0; i < 7; i++) {
      const u = process.cpuUsage();
      r.args(args);
      const d = process.cpuUsage(u);
      best = Math.min(best, d.user + d.system);
    }
    return best;
  };
  time(100);
  const ratio = time(1200) / time(150);
  console.log(`hostile scaling: 8x input -> ${ratio.toFixed(1)}x CPU time`);
  ok(ratio < 24, `superlinear: 8x input took ${ratio.toFixed(1)}x`);
  // With the default budget no event takes much more than the budget.
  const budgeted = new Redactor();
  let worstBudgeted = 0;
  for (const c of cases) {
    let ms = Infinity;
    for (let i = 0; i < 3; i++) {
      const u = process.cpuUsage();
      budgeted.event(c.event);
      const d = process.cpuUsage(u);
      ms = Math.min(ms, (d.user + d.system) / 1000);
    }
    worstBudgeted = Math.max(worstBudgeted, ms);
  }
  console.log(`hostile set: worst with the default budget ${worstBudgeted.toFixed(2)} ms CPU`);
  ok(worstBudgeted < 20);
});
