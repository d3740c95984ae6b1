/**
 * The redaction corpus (collector/test/fixtures/redact/): command lines with
 * secrets, from each tool's documented usage, plain and under wrappers
 * (sudo, sh -c, bash -lc, env, timeout, nohup, docker exec, kubectl exec), and
 * benign look-alikes. Each goes through the collector's redaction twice: as a
 * process.start event (argv, command line, message) and as text only (a
 * sudo log line: command line and message, no argv). Prints the leak and
 * false-positive rates; fails on any leak or on more than 1 % false positives.
 */
import { equal, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { makeEvent, type CasefileEvent } from '@casefile/schema';
import { Redactor } from '../src/redact';

interface SecretCase {
  tool: string;
  argv: string[];
  secrets: string[];
  source: string;
}
interface BenignCase {
  tool: string;
  argv: string[];
}
const dir = new URL('./fixtures/redact/', import.meta.url);
const SECRETS = JSON.parse(readFileSync(new URL('secret-commands.json', dir), 'utf8')) as SecretCase[];
const BENIGN = JSON.parse(readFileSync(new URL('benign-commands.json', dir), 'utf8')) as BenignCase[];
const redactor = new Redactor();

/** The two shapes a command reaches redaction in. */
function shapes(argv: string[]): Array<[string, CasefileEvent]> {
  const commandLine = argv.join(' ');
  return [
    [
      'argv',
      makeEvent({
        type: 'process.start',
        pid: 4242,
        executable: `/usr/bin/${argv[0]}`,
        args: argv,
        commandLine,
        message: `process started: ${commandLine}`,
      }),
    ],
    [
      'text',
      makeEvent({
        type: 'host.activity',
        activity: 'sudo',
        loginUser: 'alice',
        commandLine,
        message: `sudo: alice as root: ${commandLine}`,
      }),
    ],
  ];
}
const shipped = (e: CasefileEvent) => JSON.stringify([e.message, e.commandLine, e.args]);

test('corpus size: >= 300 secret command lines across >= 40 tools, >= 150 benign', () => {
  const tools = new Set(SECRETS.map((s) => s.tool));
  console.log(`corpus: ${SECRETS.length} secret lines, ${tools.size} tools; ${BENIGN.length} benign lines`);
  ok(SECRETS.length >= 300 && tools.size >= 40 && BENIGN.length >= 150);
  for (const s of SECRETS)
    ok(s.secrets.length > 0 && s.secrets.every((x) => x.length >= 8), JSON.stringify(s.argv));
});

test('corpus: no secret leaks, at most 1 % false positives', () => {
  const leaks: string[] = [];
  let checks = 0;
  for (const c of SECRETS) {
    for (const [shape, e] of shapes(c.argv)) {
      checks++;
      const out = shipped(redactor.event(e).event);
      const leaked = c.secrets.filter((s) => out.includes(s));
      if (leaked.length) leaks.push(`${shape} ${c.tool}: ${out}`);
    }
  }
  const fps: string[] = [];
  let benignChecks = 0;
  for (const c of BENIGN) {
    for (const [shape, e] of shapes(c.argv)) {
      benignChecks++;
      const r = redactor.event(e).event;
      if (r !== e) fps.push(`${shape} ${c.tool}: ${shipped(e)} -> ${shipped(r)}`);
    }
  }
  const leakRate = (100 * leaks.length) / checks;
  const fpRate = (100 * fps.length) / benignChecks;
  console.log(
    `redaction corpus: leak rate ${leakRate.toFixed(2)} % (${leaks.length}/${checks}), false-positive rate ${fpRate.toFixed(2)} % (${fps.length}/${benignChecks})`
  );
  for (const l of leaks) console.log(`  LEAK ${l}`);
  for (const f of fps) console.log(`  FP ${f}`);
  equal(leaks.length, 0, 'secrets reached the output');
  ok(fpRate <= 1, `false-positive rate ${fpRate.toFixed(2)} % > 1 %`);
});
