/**
 * docker-compose.yml and the Dockerfiles, with no Docker engine: the compose
 * file through `docker-compose config` (Debian's docker-compose 1.29), the
 * Dockerfiles through dockerfilelint, and what each Casefile container gets —
 * the image's ENV and command plus the service's environment and command —
 * through the real CLIs' --check-config.
 */
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { checkConfig } from './config-check';
import { finalStage, lintDockerfile } from './dockerfile';
import { COLLECTOR_NODE_OPTIONS } from '../../collector/src/config/heap';
import { SERVER_NODE_OPTIONS } from '../../server/src/config/heap';
import { firstContainer, only, renderKustomization } from './manifests';

const ROOT = resolve(import.meta.dirname, '../..');
const TOKEN = 'compose-test-token-0123456789';
const WEBHOOK_TOKEN = 'compose-test-webhook-9876543210';
const TOKENS = { CASEFILE_TOKEN: TOKEN, CASEFILE_WEBHOOK_TOKEN: WEBHOOK_TOKEN };

interface Service {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: (string | Volume)[];
  pid?: string;
  privileged?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  network_mode?: string;
  healthcheck?: { test: string[] };
  ports?: (string | { target: number })[];
}

interface Volume {
  type: string;
  source: string;
  target: string;
  read_only?: boolean;
}

/** docker-compose 1.29 prints short forms (`src:target:mode`); the long form is what the checks read. */
function volumes(s: Service): Volume[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return v;
    const [source, target, mode] = v.split(':');
    return { type: source.startsWith('/') ? 'bind' : 'volume', source, target, read_only: mode === 'ro' };
  });
}

/** Container-side port numbers of `ports` (`[ip:]published:target` or the long form). */
const containerPorts = (s: Service) =>
  (s.ports ?? []).map((p) => (typeof p === 'string' ? Number(p.split(':').pop()) : p.target));

/** `docker-compose -f docker-compose.yml config [...args]`; a missing docker-compose is a failure that says what to install. */
async function compose(args: string[], env: Record<string, string>) {
  const r = await promisify(execFile)('docker-compose', ['-f', 'docker-compose.yml', 'config', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
  }).then(
    (x) => ({ code: 0, stdout: x.stdout, stderr: x.stderr }),
    (e: NodeJS.ErrnoException & { code: number | string; stdout: string; stderr: string }) => {
      if (e.code === 'ENOENT')
        throw new Error(
          'docker-compose is not installed: scripts/setup-machine.sh must install Debian’s docker-compose ' +
            '(apt-get install --no-install-recommends docker-compose)'
        );
      return { code: Number(e.code), stdout: e.stdout, stderr: e.stderr };
    }
  );
  return r;
}

async function services(): Promise<Record<string, Service>> {
  const r = await compose([], TOKENS);
  equal(r.code, 0, r.stderr);
  return (parseYaml(r.stdout) as { services: Record<string, Service> }).services;
}

/** What the container's process sees: the image's ENV, then the service's environment. */
const containerEnv = (dockerfile: string, s: Service) => ({
  ...finalStage(join(ROOT, dockerfile)).env,
  ...s.environment,
});

test('docker-compose config -q accepts the file; without either token it refuses (no default tokens)', async () => {
  const okRun = await compose(['-q'], TOKENS);
  equal(okRun.code, 0, okRun.stderr);
  equal(okRun.stderr, '');
  const noToken = await compose(['-q'], { CASEFILE_WEBHOOK_TOKEN: WEBHOOK_TOKEN });
  ok(noToken.code !== 0);
  match(noToken.stderr, /CASEFILE_TOKEN/);
  const noWebhookToken = await compose(['-q'], { CASEFILE_TOKEN: TOKEN });
  ok(noWebhookToken.code !== 0);
  match(noWebhookToken.stderr, /CASEFILE_WEBHOOK_TOKEN/);
});

test('the Dockerfiles pass dockerfilelint, and the linter does flag a bad one', () => {
  for (const f of ['collector/Dockerfile', 'server/Dockerfile'])
    deepEqual(lintDockerfile(readFileSync(join(ROOT, f), 'utf8')), [], f);
  const bad = lintDockerfile('FROM node\nRUN apt-get install bpftrace\nEXPOSE port\n').map((i) => i.rule);
  deepEqual(bad.sort(), ['apt-get_missing_param', 'apt-get_recommends', 'invalid_port', 'missing_tag']);
});

test('the images are multi-stage, run the compiled JS (no tsx), check their health; the server is not root', () => {
  for (const [f, bin] of [
    ['collector/Dockerfile', 'collector/bin/casefile-collector.js'],
    ['server/Dockerfile', 'server/bin/casefile-server.js'],
  ]) {
    const s = finalStage(join(ROOT, f));
    ok(s.stages >= 3, `${f}: deps, build and run stages`);
    deepEqual([...s.entrypoint, ...s.cmd], ['node', bin], `${f} starts the bin with node`);
    match(s.text, /COPY --from=build \/app\/\w+\/dist /, `${f} ships the build`);
    ok(!/tsx|\/src\b/.test(s.text), `${f}: no tsx and no sources in the image that runs`);
    match(s.healthcheck ?? '', /\/healthz/);
  }
  equal(finalStage(join(ROOT, 'server/Dockerfile')).user, 'node');
  equal(finalStage(join(ROOT, 'server/Dockerfile')).env.NODE_OPTIONS, SERVER_NODE_OPTIONS, 'the heap budget');
  equal(
    finalStage(join(ROOT, 'collector/Dockerfile')).env.NODE_OPTIONS,
    COLLECTOR_NODE_OPTIONS,
    'the heap budget'
  );
  match(
    readFileSync(join(ROOT, 'collector/Dockerfile'), 'utf8'),
    /apt-get install -y --no-install-recommends bpftrace/
  );
});

test('the collector service: host pid and capabilities (the DaemonSet’s), no privileged mode, read-only host paths', async () => {
  const c = (await services()).collector;
  equal(c.pid, 'host');
  equal(c.privileged, undefined);
  equal(c.network_mode, undefined, 'no host network');
  deepEqual(c.cap_drop, ['ALL']);
  const ds = only(renderKustomization(join(ROOT, 'deploy/kubernetes/overlays/sqlite')), 'DaemonSet');
  deepEqual([...c.cap_add!].sort(), [...firstContainer(ds).securityContext!.capabilities!.add!].sort());
  const writable = new Set(['/var/lib/casefile', '/run/casefile/engine.sock']);
  for (const v of volumes(c))
    if (v.type === 'bind' && !writable.has(v.target)) equal(v.read_only, true, `${v.source} is read-only`);
  ok(
    volumes(c).some((v) => v.source === '/sys/kernel/tracing' && v.target === '/sys/kernel/tracing'),
    'tracefs'
  );
});

test('the collector container’s environment and command pass --check-config and match its mounts', async () => {
  const c = (await services()).collector;
  const r = await checkConfig('collector', c.command ?? [], containerEnv('collector/Dockerfile', c));
  equal(r.stderr, '', 'no value ignored');
  equal(r.code, 0);
  const cfg = r.config as {
    otlp: { endpoint: string };
    stateDir: string;
    listen: string;
    sources: { runtimeSocket: string };
    host: { name: string };
  };
  equal(cfg.otlp.endpoint, 'http://loki:3100/otlp/v1/logs', 'to the loki service');
  const targets = volumes(c).map((v) => v.target);
  ok(targets.includes(cfg.stateDir), 'state on the volume');
  ok(targets.includes(cfg.sources.runtimeSocket), 'runtime socket mounted where the collector looks');
  ok(
    c.healthcheck?.test.join(' ').includes(`127.0.0.1:${cfg.listen.split(':').pop()}/healthz`),
    'health check port'
  );
  equal(cfg.host.name, 'docker-host');
});

test('the server container’s environment and command pass --check-config; data on a volume, the port published', async () => {
  const s = (await services()).server;
  const r = await checkConfig('server', s.command ?? [], containerEnv('server/Dockerfile', s));
  equal(r.stderr, '');
  equal(r.code, 0);
  const cfg = r.config as {
    port: number;
    dataDir: string;
    lokiUrl: string;
    tokens: { name: string; scopes: string[] }[];
  };
  equal(cfg.lokiUrl, 'http://loki:3100');
  ok(volumes(s).some((v) => v.target === cfg.dataDir && v.type === 'volume'));
  ok(containerPorts(s).includes(cfg.port));
  // Grafana's token, and the alert webhook's with the webhook scope alone.
  deepEqual(
    cfg.tokens.map((t) => [t.name, [...t.scopes].sort().join('+')]),
    [
      ['grafana', 'admin+grafana+pin+read'],
      ['alerts', 'webhook'],
    ]
  );
});

test('loki has a health check the collector waits for', async () => {
  const all = await services();
  match(all.loki.healthcheck?.test.join(' ') ?? '', /3100\/ready/);
  const dependsOn = (all.collector as { depends_on?: Record<string, { condition: string }> }).depends_on;
  equal(dependsOn?.loki.condition, 'service_healthy');
});
