/**
 * The redaction stage's cheap checks and its budget: the one-pass trigger
 * finds exactly what the literal alternation it replaced finds, the budget is
 * a count of work (the same event gets the same verdict every time, however
 * busy the machine), and a message quoting a field inside other text
 * (container.exec: `… (by <operator command line>)`) is masked like the field.
 */
import { equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { makeEvent } from '@casefile/schema';
import { MASK, Redactor } from '../src/redact';
import { buildTrigger } from '../src/redact/command';
import { TOKEN_PREFIXES } from '../src/redact/tokens';
import { hostileCases } from './fixtures/redact/hostile';

const STEMS = [
  'pass',
  'secret',
  'token',
  'key',
  'credential',
  'cookie',
  'sig',
  'auth',
  'pw',
  'jwt',
  'creds',
  'identified',
];
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('trigger: same verdict as the literal alternation, on random text and on every pattern in any case', () => {
  const t = buildTrigger(['vaultcode', 'ключ']);
  const folded = [...STEMS, 'vaultcode', 'ключ'];
  const reference = (s: string) =>
    new RegExp(folded.map(esc).join('|'), 'iu').test(s) ||
    new RegExp(['@', 'BEGIN ', ...TOKEN_PREFIXES].map(esc).join('|')).test(s);
  // Random strings over an alphabet dense in the patterns' characters, so hits and near misses are common.
  const alphabet = 'pPaAsSkKeEyYtToOnNcCrRdDiIgGwWjJhHuUlLbBxX_-.@ 0123456789ключКЛЮЧ';
  let seed = 12;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  let hits = 0;
  for (let n = 0; n < 5000; n++) {
    let s = '';
    for (let k = Math.floor(rand() * 24); k > 0; k--) s += alphabet[Math.floor(rand() * alphabet.length)];
    const want = reference(s);
    if (want) hits++;
    equal(t.test(s), want, JSON.stringify(s));
  }
  ok(hits > 500 && hits < 4500, `${hits} hits: the sample should exercise both answers`);
  for (const p of [...folded, ...TOKEN_PREFIXES, '@', 'BEGIN ']) {
    for (const v of [p, p.toUpperCase(), `x ${p} y`, `${p.slice(0, -1)} ${p.slice(-1)}`])
      equal(t.test(v), reference(v), JSON.stringify(v));
  }
});

test('budget: a count of work, so the same hostile event gets the same result on every run', () => {
  const r = new Redactor();
  const byName = new Map(hostileCases().map((c) => [c.name, c.event]));
  for (const name of [
    'a= text',
    'pipe sh argv',
    'json-key many-args',
    'env-assign sudo argv',
    'x-token curl argv',
  ]) {
    const e = byName.get(name)!;
    const first = JSON.stringify(r.event(e));
    // Burn CPU between runs: a clock-based cut would land elsewhere on a busier or cooler core.
    for (let i = 0; i < 5; i++) {
      let x = 0;
      for (let k = 0; k < 2e6 * i; k++) x += k;
      ok(x >= 0);
      equal(JSON.stringify(r.event(e)), first, name);
    }
  }
});

test('container.exec: the message quoting the operator command line is masked like the field', () => {
  const op = 'kubectl exec -it web -- sh -c "mysql -uroot -phunter2 -e select"';
  const cmd = 'mysql -uroot -phunter2 -e select';
  const e = makeEvent({
    type: 'container.exec',
    containerId: 'a'.repeat(64),
    pid: 5,
    executable: '/usr/bin/mysql',
    commandLine: cmd,
    operatorCommandLine: op,
    message: `exec into container aaaaaaaaaaaa: ${cmd} (by ${op})`,
  });
  const out = new Redactor().event(e).event;
  ok(!JSON.stringify(out).includes('hunter2'), JSON.stringify(out));
  equal(out.operatorCommandLine, `kubectl exec -it web -- sh -c "mysql -uroot -p${MASK} -e select"`);
  equal(
    out.message,
    `exec into container aaaaaaaaaaaa: mysql -uroot -p${MASK} -e select (by ${out.operatorCommandLine})`
  );
});
