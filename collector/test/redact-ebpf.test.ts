/**
 * Redaction end to end on the real kernel: a sample of the corpus is exec'd
 * for real (each program a stand-in binary named like the tool, so argv is
 * exactly the corpus entry), seen by bpftrace through the collector's eBPF
 * source, and the events the collector ships (`--stdout`) are checked: no
 * secret in any shipped line, benign command lines unchanged. A user pattern
 * from the YAML config is applied on the way.
 */
import { equal, ok } from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import type { CasefileEvent } from '@casefile/schema';
import { spawnCollector, until } from './helpers';

interface Case {
  tool: string;
  argv: string[];
  secrets?: string[];
}
const fixtures = new URL('./fixtures/redact/', import.meta.url);
const load = (f: string) => JSON.parse(readFileSync(new URL(f, fixtures), 'utf8')) as Case[];
/** Every 7th secret line and every 6th benign one: all wrappers and most tool families. */
const SECRETS = load('secret-commands.json').filter((_, i) => i % 7 === 0);
const BENIGN = load('benign-commands.json').filter((_, i) => i % 6 === 0);
const USER_SECRET = `acme_${Date.now().toString(36)}x7q`;

/** A stand-in program: lives 400 ms (so /proc can complete argv past the BPF copy) and ignores its arguments. */
function standInBinary(dir: string): string {
  const src = join(dir, 'standin.c');
  writeFileSync(src, '#include <unistd.h>\nint main(void) { usleep(400000); return 0; }\n');
  const bin = join(dir, 'standin');
  execFileSync('cc', ['-O2', '-o', bin, src]);
  return bin;
}

test('real kernel: exec’d command lines are shipped redacted', { timeout: 180_000 }, async () => {
  equal(process.getuid?.(), 0, 'this test loads BPF programs: run it as root');
  ok(existsSync('/usr/bin/bpftrace'), 'bpftrace is needed (scripts/setup-machine.sh installs it)');
  if (!existsSync('/sys/kernel/tracing/events'))
    execFileSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing']);
  const dir = mkdtempSync(join(tmpdir(), 'casefile-redact-ebpf-'));
  const bin = standInBinary(dir);
  const tools = join(dir, 'bin');
  mkdirSync(tools);
  // One directory per exec, so each shipped event is matched to its exec by the program path alone.
  let n = 0;
  const path = (argv0: string) => {
    const d = join(tools, String(n++));
    mkdirSync(d);
    symlinkSync(bin, join(d, basename(argv0)));
    return join(d, basename(argv0));
  };
  const config = join(dir, 'collector.yaml');
  writeFileSync(config, `redact:\n  patterns: ['acme_[a-z0-9]+x7q']\n`);
  const c = spawnCollector([
    '--config',
    config,
    '--stdout',
    '--sources',
    'ebpf',
    '--state-dir',
    join(dir, 'state'),
    '--listen',
    '127.0.0.1:0',
    '--host-name',
    'redact-ebpf',
  ]);
  try {
    await until(
      'the eBPF source to start',
      () => /"active":\["ebpf"\]/.test(c.stderr()) || undefined,
      60_000
    );
    const cases = [
      ...SECRETS,
      ...BENIGN,
      { tool: 'app', argv: ['app', '--id', USER_SECRET], secrets: [USER_SECRET] },
    ].map((k) => ({ ...k, exe: path(k.argv[0]) }));
    await Promise.all(
      cases.map(
        (k) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(k.exe, k.argv.slice(1), { stdio: 'ignore' });
            child.once('error', reject).once('exit', () => resolve());
          })
      )
    );
    const seen = () => {
      const events = c
        .stdout()
        .split('\n')
        .filter((l) => l.includes(tools))
        .map((l) => [l, JSON.parse(l) as CasefileEvent] as const);
      return events;
    };
    const starts = (exe: string) =>
      seen().filter(([, e]) => e.type === 'process.start' && e.args?.[0] === exe);
    const missing = () => cases.filter((k) => starts(k.exe).length === 0);
    await until('a process.start for every exec', () => missing().length === 0 || undefined, 30_000).catch(
      () => undefined
    );
    equal(
      missing().length,
      0,
      `not seen: ${missing()
        .slice(0, 5)
        .map((k) => JSON.stringify(k.argv))
        .join(' ')}; seen e.g. ${seen()
        .slice(0, 3)
        .map(([l]) => l)
        .join('\n')}`
    );
    const lines = seen().map(([l]) => l);
    let leaks = 0;
    for (const k of cases.filter((x) => x.secrets))
      for (const s of k.secrets!) if (lines.some((l) => l.includes(s))) leaks++;
    let unchanged = 0;
    for (const k of cases.filter((x) => !x.secrets))
      if (starts(k.exe).some(([, e]) => JSON.stringify(e.args!.slice(1)) === JSON.stringify(k.argv.slice(1))))
        unchanged++;
    const masked = seen().filter(([l]) => l.includes('[REDACTED]')).length;
    console.log(
      `eBPF: ${SECRETS.length + 1} secret and ${BENIGN.length} benign command lines exec'd; ${lines.length} shipped events of them, ${masked} with a mask; leaked secrets ${leaks}; benign unchanged ${unchanged}/${BENIGN.length}`
    );
    equal(leaks, 0, 'a secret reached the shipped events');
    equal(unchanged, BENIGN.length, 'a benign command line was changed');
    const user = cases[cases.length - 1];
    ok(
      starts(user.exe).some(([, e]) => e.args![2] === '[REDACTED]'),
      'YAML user pattern applied'
    );
  } finally {
    c.child.kill('SIGTERM');
    await c.exited;
  }
});
