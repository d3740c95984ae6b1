/**
 * Runtime-model benchmark, part of `npm run bench:collector`:
 * - model_eval_ns_per_event: the models stage (model lookup + every detector,
 *   /proc checks included) on a stream of known behaviours against an active
 *   model of 10,000 behaviours; CPU time, median of 5 runs. The stream's events
 *   come from 1,000 processes that are gone (short-lived ones): the process
 *   table reads /proc/<pid>/exe once per process, not per event.
 *   `_without_proc`: the same stream without pids, so no /proc syscall runs (the
 *   model and rules alone).
 * - model_eval_ns_per_live_exec: a known exec of a container process that is
 *   still alive when evaluated, so every /proc check runs (exe change time and
 *   link, LD_PRELOAD in its environment); each exec a new process, as in life.
 * - audit_latency_p99_ms: from an exec (its kernel timestamp) to the audit
 *   line on the real collector's stdout (eBPF source, 1 s learning period);
 *   null when not root or bpftrace is missing.
 *
 *   node --import tsx collector/bench/models.ts
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeEvent, msToNs, nsToMs, type CasefileEvent } from '@casefile/schema';
import pino from 'pino';
import { createRuntimeActions, ModelStage } from '../src/models';

const BEHAVIOURS = 10_000;
const EVENTS = 200_000;

function scope(i: number) {
  return {
    containerId: 'c'.repeat(63) + (i % 8),
    containerName: `web-${i % 8}`,
    imageName: 'shop/web:1',
    imageDigest: 'sha256:' + 'ab'.repeat(32),
    host: 'bench',
  };
}

/**
 * The i-th behaviour of the model as an event: 1/2 execs, 1/4 connects, 1/4
 * listeners. With `withPid`, pids that do not exist (a short-lived process:
 * the /proc checks cost one failed stat); without, no /proc check runs.
 */
function behaviourEvent(i: number, t: number, withPid = true): CasefileEvent {
  const pid = withPid ? 4_000_000 + (i % 1000) : 0; // pid 0: no /proc lookup
  const base = { ...scope(i), timeNs: msToNs(t), pid, processKey: `boot:${4_000_000 + (i % 1000)}:1` };
  switch (i % 4) {
    case 0:
    case 1:
      return makeEvent({
        ...base,
        type: 'process.start',
        message: 'exec',
        executable: `/usr/bin/tool-${i}`,
        args: [`/usr/bin/tool-${i}`, '--flag'],
        commandLine: `/usr/bin/tool-${i} --flag`,
        parentExecutable: '/bin/sh',
      });
    case 2:
      return makeEvent({
        ...base,
        type: 'network.connect',
        message: 'connect',
        destAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        destPort: 443,
      });
    default:
      return makeEvent({
        ...base,
        type: 'port.listen',
        message: 'listen',
        listenPort: 1024 + i,
        transport: 'tcp',
      });
  }
}

/**
 * A models stage on a fresh state dir with a clock the caller moves: `learn`
 * feeds it (at the start time) until its 1 s learning period ends, then the
 * clock moves 2 s on and `measure` times `stream(now)` through the active
 * model. CPU time (user + system) of this process: on a shared, loaded machine
 * wall time mostly measures the wait for a core. Median of 5 runs after a
 * warm-up; throws when a known behaviour raised an audit.
 */
function timeActiveModel(
  prefix: string,
  learn: (nowMs: number) => CasefileEvent[],
  stream: (nowMs: number) => CasefileEvent[]
): { nsPerEvent: number; stage: ModelStage } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let t = Date.now();
  const stage = new ModelStage(
    { stateDir: dir, models: { learningPeriodMs: 1000 } },
    pino({ level: 'silent' }),
    createRuntimeActions(),
    { now: () => t }
  );
  try {
    for (const e of learn(t)) stage.process(e, () => {});
    t += 2000; // active from here
    const events = stream(t);
    let audits = 0;
    const count = (e: CasefileEvent) => void (e.type === 'runtime.audit' && audits++);
    const runs: number[] = [];
    for (let r = 0; r < 6; r++) {
      const c0 = process.cpuUsage();
      for (const e of events) stage.process(e, count);
      const c = process.cpuUsage(c0);
      runs.push(((c.user + c.system) * 1000) / events.length);
    }
    if (audits !== 0) throw new Error(`known behaviours raised ${audits} audits`);
    runs.shift(); // warm-up
    return { nsPerEvent: median(runs), stage };
  } finally {
    void stage.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function modelEvalNsPerEvent(withPid = true): number {
  return timeActiveModel(
    'casefile-bench-models-',
    (t) => Array.from({ length: BEHAVIOURS }, (_, i) => behaviourEvent(i, t)),
    (t) => Array.from({ length: EVENTS }, (_, k) => behaviourEvent((k * 7919) % BEHAVIOURS, t, withPid))
  ).nsPerEvent;
}

export async function modelEvalNsPerLiveExec(n = 5_000): Promise<number> {
  const kids = Array.from({ length: 20 }, () => spawn('/bin/sleep', ['60'], { stdio: 'ignore' }));
  try {
    await Promise.all(kids.map((k) => new Promise((r) => k.once('spawn', r))));
    await new Promise((r) => setTimeout(r, 200)); // the exec of /bin/sleep itself
    const exec = (k: number, pid: number, t: number) =>
      makeEvent({
        ...scope(0),
        type: 'process.start',
        message: 'exec',
        timeNs: msToNs(t),
        pid,
        processKey: `boot:${pid}:${k}`,
        processName: 'sleep',
        executable: '/bin/sleep',
        args: ['/bin/sleep', '60'],
        commandLine: '/bin/sleep 60',
        parentExecutable: '/bin/sh',
      });
    const { nsPerEvent, stage } = timeActiveModel(
      'casefile-bench-live-',
      (t) => [exec(-1, kids[0].pid!, t)],
      (t) => Array.from({ length: n }, (_, k) => exec(k, kids[k % kids.length].pid!, t))
    );
    const live = stage.stats().processes.procReadsLive;
    if (live < 6 * n) throw new Error(`only ${live} of ${6 * n} execs found their process alive`);
    return nsPerEvent;
  } finally {
    for (const k of kids) k.kill('SIGKILL');
  }
}

export async function auditLatencyP99Ms(n = 100): Promise<number | null> {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/bpftrace')) return null;
  const dir = mkdtempSync(join(tmpdir(), 'casefile-bench-latency-'));
  writeFileSync(join(dir, 'policy.yaml'), 'rateLimit: { burst: 100000, every: 1s }\n');
  const bin = resolve(import.meta.dirname, '../bin/casefile-collector.js');
  const child = spawn(
    process.execPath,
    [
      bin,
      '--stdout',
      '--sources',
      'ebpf',
      '--state-dir',
      join(dir, 'state'),
      '--learning-period',
      '1s',
      '--policy',
      join(dir, 'policy.yaml'),
      '--listen',
      '127.0.0.1:0',
      '--host-name',
      'bench-latency',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  );
  const execMs = new Map<string, number>(); // executable -> its exec's kernel time (ms)
  const seen = new Map<string, number>(); // executable -> exec-to-audit-on-stdout latency (ms)
  let ready = false;
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    const now = Date.now();
    for (const l of lines) {
      if (l.includes('"process.start"')) ready = true;
      if (!l.includes('casefile-probe-')) continue;
      const e = JSON.parse(l) as CasefileEvent;
      if (e.type === 'process.start' && e.executable) execMs.set(e.executable, nsToMs(e.timeNs));
      const at = e.executable ? execMs.get(e.executable) : undefined;
      if (e.type === 'runtime.audit' && e.ruleId === 'R0001' && at !== undefined && !seen.has(e.executable!))
        seen.set(e.executable!, now - at);
    }
  });
  try {
    const until = async (f: () => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (!f() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return f();
    };
    // bpftrace attached once execs show up; then let the host model's learning period pass.
    const warm = setInterval(() => spawn('/bin/true'), 200);
    const ok = await until(() => ready, 60_000);
    clearInterval(warm);
    if (!ok) throw new Error('collector produced no exec events');
    await new Promise((r) => setTimeout(r, 2500));
    for (let i = 0; i < n; i++) {
      const exe = join(dir, `casefile-probe-${i}`);
      copyFileSync('/bin/true', exe);
      spawn(exe, [], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => seen.size >= n, 30_000);
    const lat = [...seen.values()].sort((a, b) => a - b);
    if (lat.length < n) throw new Error(`only ${lat.length}/${n} audits seen`);
    return lat[Math.min(lat.length - 1, Math.ceil(lat.length * 0.99) - 1)];
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The models part of the collector benchmark. */
export async function run(): Promise<{
  model_eval_ns_per_event: number;
  model_eval_ns_per_event_without_proc: number;
  model_eval_ns_per_live_exec: number;
  audit_latency_p99_ms: number | null;
}> {
  return {
    model_eval_ns_per_event: Math.round(modelEvalNsPerEvent(true)),
    model_eval_ns_per_event_without_proc: Math.round(modelEvalNsPerEvent(false)),
    model_eval_ns_per_live_exec: Math.round(await modelEvalNsPerLiveExec()),
    audit_latency_p99_ms: await auditLatencyP99Ms(),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await run()));
