/**
 * Reading deploy/kubernetes/ as the cluster would: every YAML document,
 * kustomizations rendered, each object checked against the Kubernetes schemas
 * (kubernetes-models, the OpenAPI schemas compiled to validators).
 *
 * The renderer models only the kustomize subset deploy/kubernetes uses —
 * `resources` (files, and directories holding a kustomization.yaml),
 * `namespace`, and `patches` with an inline JSON 6902 patch and a kind/name
 * target — and refuses every other key, so an overlay that grows past it fails
 * here instead of rendering differently from `kubectl kustomize`.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import jsonPatch, { type Operation } from 'fast-json-patch';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Deployment, DaemonSet } from 'kubernetes-models/apps/v1';
import {
  ConfigMap,
  Namespace,
  PersistentVolumeClaim,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-models/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';

/** A Kubernetes object as YAML gives it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** The object classes the manifests use, by `apiVersion/kind`; any other kind is an error. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/Deployment': Deployment,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

/** Kinds without a namespace (kustomize's `namespace` leaves them alone). */
const CLUSTER_SCOPED = new Set(['Namespace']);

/** Every document of a YAML file. Throws on a YAML error. */
export function readObjects(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
    return d.toJS() as K8sObject;
  });
}

/** Validate one object against its Kubernetes schema; throws with the file and the schema's complaint. */
export function validateObject(o: K8sObject, where: string): void {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) throw new Error(`${where}: no schema modelled for ${o.apiVersion} ${o.kind}`);
  try {
    new Model(o as never).validate();
  } catch (err) {
    throw new Error(`${where}: ${o.kind}/${o.metadata?.name}: ${(err as Error).message}`);
  }
}

const KUSTOMIZE_KEYS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'patches']);

/** Render the kustomization in `dir` (the subset named above). */
export function renderKustomization(dir: string): K8sObject[] {
  const k = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
  for (const key of Object.keys(k))
    if (!KUSTOMIZE_KEYS.has(key)) throw new Error(`${dir}: kustomization key ${key} is not modelled`);
  const out: K8sObject[] = [];
  for (const r of (k.resources as string[] | undefined) ?? []) {
    const p = join(dir, r);
    out.push(...(statSync(p).isDirectory() ? renderKustomization(p) : readObjects(p)));
  }
  for (const patch of (k.patches as { target: { kind: string; name: string }; patch: string }[]) ?? []) {
    const targets = out.filter((o) => o.kind === patch.target.kind && o.metadata.name === patch.target.name);
    if (targets.length !== 1)
      throw new Error(
        `${dir}: patch target ${patch.target.kind}/${patch.target.name} matches ${targets.length}`
      );
    const ops = parseYaml(patch.patch) as Operation[];
    const patched = jsonPatch.applyPatch(targets[0], ops, true, false).newDocument;
    out[out.indexOf(targets[0])] = patched;
  }
  if (typeof k.namespace === 'string')
    for (const o of out) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  return out;
}

/** The one object of `kind` (and `name`, when given) in `objects`. */
export function only(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (!name || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0];
}

interface EnvSource {
  configMapRef?: { name: string };
  secretRef?: { name: string };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}
/** A container of a pod template, as far as the tests read it. */
export interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
  envFrom?: EnvSource[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: { capabilities?: { add?: string[]; drop?: string[] }; [k: string]: unknown };
  [k: string]: unknown;
}

/** What the downward API gives the fields the manifests read, on an example node. */
const FIELD_VALUES: Record<string, string> = { 'spec.nodeName': 'node-1' };

/**
 * The environment the kubelet gives `c`: envFrom ConfigMaps and Secrets, then env
 * (later wins, as in Kubernetes). ConfigMaps come from `objects`; Secrets from
 * `secrets` (name -> data), since users create them. A missing reference throws,
 * as the kubelet would refuse to start the container.
 */
export function containerEnv(
  c: Container,
  objects: K8sObject[],
  secrets: Record<string, Record<string, string>>
): Record<string, string> {
  const configMap = (name: string) => only(objects, 'ConfigMap', name).data as Record<string, string>;
  const secret = (name: string) => {
    if (!secrets[name]) throw new Error(`container ${c.name}: Secret ${name} is not given`);
    return secrets[name];
  };
  const env: Record<string, string> = {};
  for (const f of c.envFrom ?? []) {
    if (f.configMapRef) Object.assign(env, configMap(f.configMapRef.name));
    else if (f.secretRef) Object.assign(env, secret(f.secretRef.name));
  }
  for (const e of c.env ?? []) {
    const from = e.valueFrom;
    const v =
      e.value ??
      (from?.fieldRef && FIELD_VALUES[from.fieldRef.fieldPath]) ??
      (from?.secretKeyRef && secret(from.secretKeyRef.name)[from.secretKeyRef.key]) ??
      (from?.configMapKeyRef && configMap(from.configMapKeyRef.name)[from.configMapKeyRef.key]);
    if (v === undefined) throw new Error(`container ${c.name}: env ${e.name} resolves to nothing`);
    env[e.name] = v;
  }
  return env;
}

/** The first container of a workload's pod template. */
export function firstContainer(workload: K8sObject): Container {
  return (workload as unknown as { spec: { template: { spec: { containers: Container[] } } } }).spec.template
    .spec.containers[0];
}
