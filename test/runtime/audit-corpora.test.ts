/**
 * The benign and the attack corpus (audit-corpus.ts) against real containers,
 * real eBPF and the collector as users run it: routine work yields no audit at
 * all, each attack is caught with its rule and ATT&CK technique, every audit
 * leads back to the exec that started it, and the lineage facts (container
 * init, runtime exec, who exec'd) are in Loki.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { podmanUnavailableReason } from '../containers/podman';
import { describe, runCorpora, startHarness, step, type CorpusResult, type Harness } from './audit-corpus';

const skip =
  process.getuid?.() !== 0
    ? 'needs root (eBPF and Podman)'
    : !existsSync('/usr/bin/bpftrace')
      ? 'bpftrace is not installed'
      : (podmanUnavailableReason() ?? undefined);

const LEARNING_MS = 60_000;
let h: Harness | undefined;
let result: CorpusResult | undefined;
let failure: Error | undefined;

before(
  async () => {
    if (skip) return;
    try {
      h = await startHarness(`${LEARNING_MS / 1000}s`);
      result = await runCorpora(h, LEARNING_MS);
    } catch (err) {
      failure = err as Error;
      failure.message += `\n--- collector stderr (tail) ---\n${h?.col.stderr().slice(-3000)}`;
    }
  },
  { timeout: 540_000 }
);

after(async () => {
  await h?.stop();
});

const ran = (): CorpusResult => {
  if (failure) throw failure;
  return result!;
};

test(
  'benign corpus: routine work through exec, restarts, a second container, rotation, loops, a burst across learning: 0 audits',
  { skip },
  () => {
    const r = ran();
    const starts = r.events.filter(
      (e) => e.type === 'process.start' && e.containerName?.startsWith('cf-svc')
    );
    assert.ok(starts.length >= 100, `the benign work was seen (${starts.length} process starts)`);
    assert.deepEqual(describe(r.benignAudits), '', 'no audit on benign work');
  }
);

test(
  "lineage: each container's init and each runtime exec are marked, and an exec says who asked for it",
  { skip },
  () => {
    const { containerExecs, runtimeExecStarts, initStarts } = ran().lineage;
    // 2 containers, the first restarted twice: 4 inits, each the service's shell.
    assert.ok(initStarts.length >= 4, `container inits: ${initStarts.map((e) => e.commandLine).join(' | ')}`);
    assert.deepEqual(
      initStarts.filter((e) => e.executable !== '/bin/sh' || e.processAncestry).map((e) => e.commandLine),
      [],
      'each init is the service shell, the end of its chain'
    );
    // Every routine exec (7 per round, 4 rounds, plus the health checks in between) is a container.exec.
    assert.ok(containerExecs.length >= 28, `${containerExecs.length} container.exec events`);
    // The redact stage masks a long command line whole when its per-event budget runs out (a loaded machine).
    const masked = (s: string | undefined) => s === '[REDACTED: redaction budget exceeded]';
    for (const x of containerExecs) {
      // runc's argv names `exec` after ~600 bytes of options: when runc is gone before /proc could complete its
      // cut argv, the runtime command is conmon's (`--exec-attach`).
      if (!masked(x.parentCommandLine))
        assert.match(
          x.parentCommandLine ?? '',
          /^\S*\b(runc|conmon)\b/,
          `the runtime command: ${x.parentCommandLine}`
        );
      if (!masked(x.operatorCommandLine))
        assert.match(
          x.operatorCommandLine ?? '',
          /\bpodman\b.*\bexec\b/,
          `who exec'd: ${x.operatorCommandLine}`
        );
      assert.ok(x.containerName?.startsWith('cf-svc'), 'scoped to the container');
    }
    const told = containerExecs.filter((x) => /\bpodman\b.*\bexec\b/.test(x.operatorCommandLine ?? ''));
    assert.ok(
      told.length >= containerExecs.length / 2,
      `${told.length}/${containerExecs.length} name who exec'd`
    );
    // An exec in place (`sh -c 'exec hostname'`) is a second start of the same entry process, not a second exec into the container.
    assert.deepEqual(
      containerExecs.map((x) => x.processKey).sort(),
      [...new Set(runtimeExecStarts.map((e) => e.processKey))].sort(),
      'one container.exec per process the runtime exec started'
    );
    // `sh -c '/bin/true & /bin/date'`: date replaces the shell in place, true is its forked child even when
    // the kernel reparents it to the container's init before it execs.
    const ev = ran().events;
    const shells = runtimeExecStarts.filter((e) => e.commandLine === '/bin/sh -c /bin/true & /bin/date');
    assert.ok(shells.length >= 4, 'the fork-and-exec-in-place shell ran in each round');
    for (const sh of shells) {
      const t = ev.find(
        (e) =>
          e.type === 'process.start' && e.executable === '/bin/true' && e.parentProcessKey === sh.processKey
      );
      assert.ok(t, `/bin/true of ${sh.processKey} names the shell as its parent`);
      assert.deepEqual(t.processAncestry, [sh.processKey], 'its chain ends at the exec');
      assert.equal(t.parentExecutable, '/bin/sh');
    }
  }
);

test(
  'attack corpus: each technique caught with its rule and ATT&CK id; every audit leads back to its exec',
  { skip },
  () => {
    const r = ran();
    const missed = r.attacks.filter((a) => !a.caught);
    assert.deepEqual(
      missed.map(
        (a) =>
          `${a.name}: want ${a.ruleId} ${a.mitre}, got ${a.rules.join(',') || 'nothing'}; its events: ${a.trace}`
      ),
      [],
      'every attack caught'
    );
    assert.deepEqual(describe(r.storyless), '', 'every attack audit carries its chain up to the exec');
  }
);
