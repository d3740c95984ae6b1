/**
 * deploy/kubernetes/: every manifest and each overlay's rendered output
 * against the Kubernetes schemas; the rules the schemas do not hold (the API
 * server's own validation, references between objects); and the command line
 * and environment of the DaemonSet and the Deployment through the real CLIs'
 * --check-config.
 */
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { checkConfig } from './config-check';
import {
  containerEnv,
  firstContainer,
  only,
  readObjects,
  renderKustomization,
  validateObject,
  type K8sObject,
} from './manifests';

const ROOT = resolve(import.meta.dirname, '../..');
const DEPLOY = join(ROOT, 'deploy/kubernetes');
const OVERLAYS = ['sqlite', 'postgresql'];

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return n.endsWith('.yaml') && n !== 'kustomization.yaml' ? [p] : [];
  });
}

/** Secrets as a user creates them (secrets/*.example.yaml), with real values. */
const userSecrets = () => ({
  'casefile-server-tokens': {
    CASEFILE_SERVER_TOKENS: `grafana:read+pin+admin+grafana:${randomBytes(24).toString('hex')},alerts:webhook:${randomBytes(24).toString('hex')}`,
  },
  'casefile-server-postgres': { dsn: 'postgres://casefile:pw@postgres.db.svc:5432/casefile' },
});

test('every manifest file validates against the Kubernetes schemas', () => {
  const files = yamlFiles(DEPLOY);
  ok(files.length >= 10, `${files.length} manifest files`);
  let objects = 0;
  for (const f of files)
    for (const o of readObjects(f)) {
      validateObject(o, relative(ROOT, f));
      objects++;
    }
  ok(objects >= 12, `${objects} objects`);
});

/** The validator's complaint about `o`, or '' when it passes. */
function validationError(o: K8sObject): string {
  try {
    validateObject(o, 'mutated');
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

test('the validator refuses a broken manifest (a capability list as a string, a bad quantity)', () => {
  const daemonSet = () => only(renderKustomization(join(DEPLOY, 'overlays/sqlite')), 'DaemonSet');
  const a = daemonSet();
  equal(validationError(a), '');
  firstContainer(a).securityContext!.capabilities!.add = 'BPF' as never;
  match(validationError(a), /capabilities\/add must be array/);
  const b = daemonSet();
  (firstContainer(b).resources as { limits: { memory: string } }).limits.memory = 'lots';
  match(validationError(b), /limits\/memory must match format "quantity"/);
});

for (const overlay of OVERLAYS) {
  test(`overlay ${overlay}: rendered objects validate, references resolve, namespace set`, () => {
    const objects = renderKustomization(join(DEPLOY, 'overlays', overlay));
    for (const o of objects) validateObject(o, `overlays/${overlay}`);
    const kinds = objects.map((o) => o.kind).sort();
    for (const k of [
      'DaemonSet',
      'Deployment',
      'Service',
      'ConfigMap',
      'NetworkPolicy',
      'ServiceAccount',
      'Namespace',
    ])
      ok(kinds.includes(k), `${overlay} has a ${k}`);
    for (const o of objects)
      if (o.kind !== 'Namespace') equal(o.metadata.namespace, 'casefile', `${o.kind}/${o.metadata.name}`);
    for (const w of objects.filter((o) => o.kind === 'DaemonSet' || o.kind === 'Deployment')) {
      const spec = (w as unknown as { spec: { template: { spec: Record<string, unknown> } } }).spec.template
        .spec;
      only(objects, 'ServiceAccount', spec.serviceAccountName as string);
      const vols = new Set((spec.volumes as { name: string }[]).map((v) => v.name));
      for (const m of firstContainer(w).volumeMounts ?? [])
        ok(vols.has(m.name), `${w.kind} mounts ${m.name}`);
      const labels = (
        w as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } }
      ).spec.template.metadata.labels;
      const np = only(objects, 'NetworkPolicy', w.metadata.name) as unknown as {
        spec: { podSelector: { matchLabels: Record<string, string> } };
      };
      for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels))
        equal(labels[k], v, 'policy selects the pods');
    }
    const svc = only(objects, 'Service') as unknown as {
      spec: { selector: Record<string, string>; ports: { targetPort: string }[] };
    };
    const server = firstContainer(only(objects, 'Deployment'));
    ok(
      server.ports?.some((p) => p.name === svc.spec.ports[0].targetPort),
      'Service targets a named container port'
    );
  });
}

test('the sqlite overlay keeps snapshots on a claim; postgresql reads its DSN from a Secret', () => {
  const sqlite = renderKustomization(join(DEPLOY, 'overlays/sqlite'));
  const vol = (
    only(sqlite, 'Deployment') as unknown as {
      spec: {
        template: { spec: { volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[] } };
      };
    }
  ).spec.template.spec.volumes.find((v) => v.name === 'data');
  equal(vol?.persistentVolumeClaim?.claimName, only(sqlite, 'PersistentVolumeClaim').metadata.name);
  const pg = renderKustomization(join(DEPLOY, 'overlays/postgresql'));
  const env = firstContainer(only(pg, 'Deployment')).env ?? [];
  deepEqual(env.find((e) => e.name === 'CASEFILE_SERVER_POSTGRES_DSN')?.valueFrom?.secretKeyRef, {
    name: 'casefile-server-postgres',
    key: 'dsn',
  });
  equal(
    pg.some((o) => o.kind === 'Secret'),
    false,
    'no Secret is rendered: `kubectl apply -k` never overwrites the user’s'
  );
});

test('the collector DaemonSet: every node, host pid, exact capabilities, read-only host paths, bounded memory', () => {
  const ds = only(renderKustomization(join(DEPLOY, 'overlays/sqlite')), 'DaemonSet') as K8sObject & {
    spec: {
      template: {
        spec: Record<string, unknown> & { volumes: { name: string; hostPath?: { path: string } }[] };
      };
    };
  };
  const pod = ds.spec.template.spec;
  equal(pod.hostPID, true);
  equal(pod.hostNetwork, undefined, 'no host network');
  deepEqual(pod.tolerations, [{ operator: 'Exists' }], 'tolerates every taint');
  const c = firstContainer(ds);
  const sc = c.securityContext!;
  equal(sc.privileged, false);
  deepEqual(sc.capabilities!.drop, ['ALL']);
  deepEqual([...sc.capabilities!.add!].sort(), [
    'BPF',
    'DAC_READ_SEARCH',
    'IPC_LOCK',
    'KILL',
    'PERFMON',
    'SYS_ADMIN',
    'SYS_PTRACE',
    'SYS_RESOURCE',
  ]);
  // The API server refuses allowPrivilegeEscalation: false with SYS_ADMIN (validation.go); the schema does not say so.
  ok(!(sc.allowPrivilegeEscalation === false && sc.capabilities!.add!.includes('SYS_ADMIN')));
  const writable = new Set(['state', 'tmp', 'containerd']);
  for (const m of c.volumeMounts ?? []) {
    const hostPath = pod.volumes.find((v) => v.name === m.name)?.hostPath;
    if (hostPath && !writable.has(m.name)) equal(m.readOnly, true, `${hostPath.path} is mounted read-only`);
  }
  const res = c.resources as { requests: { memory: string }; limits: { memory: string } };
  ok(res.requests.memory && res.limits.memory, 'memory request and limit');
  const grace = pod.terminationGracePeriodSeconds as number;
  const env = containerEnv(c, renderKustomization(join(DEPLOY, 'overlays/sqlite')), {});
  ok(
    grace * 1000 > Number(env.CASEFILE_SHUTDOWN_TIMEOUT.replace(/s$/, '')) * 1000 + 5000,
    'drain ends before SIGKILL'
  );
});

test('DaemonSet command line and environment pass the collector’s --check-config', async () => {
  const objects = renderKustomization(join(DEPLOY, 'overlays/sqlite'));
  const ds = only(objects, 'DaemonSet');
  const c = firstContainer(ds);
  const env = containerEnv(c, objects, {});
  const r = await checkConfig('collector', c.args ?? [], env);
  equal(r.stderr, '', 'no value ignored');
  equal(r.code, 0);
  const cfg = r.config as {
    host: { name: string };
    stateDir: string;
    listen: string;
    otlp: { endpoint: string };
    sources: { enabled: string[] };
    shutdownTimeoutMs: number;
  };
  equal(cfg.host.name, 'node-1', 'host_name is the node name');
  equal(cfg.otlp.endpoint, `${env.CASEFILE_OTLP_ENDPOINT}/v1/logs`);
  equal(cfg.stateDir, c.volumeMounts!.find((m) => m.name === 'state')!.mountPath, 'state on the host path');
  equal(cfg.listen.split(':').pop(), String(c.ports![0].containerPort), 'listens on the declared port');
  deepEqual(cfg.sources.enabled, ['ebpf', 'procfs', 'runtime', 'host']);
  equal(cfg.shutdownTimeoutMs, 10_000);
});

for (const overlay of OVERLAYS) {
  test(`overlay ${overlay}: Deployment command line and environment pass the server’s --check-config`, async () => {
    const objects = renderKustomization(join(DEPLOY, 'overlays', overlay));
    const c = firstContainer(only(objects, 'Deployment'));
    const r = await checkConfig('server', c.args ?? [], containerEnv(c, objects, userSecrets()));
    equal(r.stderr, '');
    equal(r.code, 0);
    const cfg = r.config as {
      port: number;
      host: string;
      dataDir: string;
      tokens: { scopes: string[] }[];
      postgresDsn?: string;
    };
    equal(cfg.port, c.ports![0].containerPort);
    equal(cfg.host, '0.0.0.0');
    equal(cfg.dataDir, c.volumeMounts!.find((m) => m.name === 'data')!.mountPath);
    deepEqual(
      cfg.tokens.map((t) => t.scopes),
      [['read', 'pin', 'admin', 'grafana'], ['webhook']]
    );
    equal(cfg.postgresDsn, overlay === 'postgresql' ? '[redacted]' : undefined);
  });
}

test('the shipped token Secret example is no default token: the server refuses it', async () => {
  const objects = renderKustomization(join(DEPLOY, 'overlays/sqlite'));
  const c = firstContainer(only(objects, 'Deployment'));
  const example = readObjects(join(DEPLOY, 'secrets/server-tokens.example.yaml'))[0] as K8sObject & {
    stringData: Record<string, string>;
  };
  const r = await checkConfig(
    'server',
    c.args ?? [],
    containerEnv(c, objects, { [example.metadata.name]: example.stringData })
  );
  equal(r.code, 2);
  match(r.stderr, /every token needs a name and a token of at least 8 characters/);
});
