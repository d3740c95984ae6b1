/**
 * The stand-in's settings, read from the very file a real Loki is started with
 * (provisioning/loki/loki.yaml), so the config and the stand-in cannot drift.
 * Only the keys the stand-in models are read; README.md lists them.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface StandinConfig {
  listenAddress: string;
  httpPort: number;
  dataDir: string;
  limits: {
    maxLineSize: number;
    maxStructuredMetadataSize: number;
    maxStructuredMetadataEntries: number;
    maxEntriesLimitPerQuery: number;
    rejectOldSamples: boolean;
    rejectOldSamplesMaxAgeNs: bigint;
    creationGracePeriodNs: bigint;
    maxQuerySeries: number;
    maxQueryLengthNs: bigint;
    /** Resource attributes (OTel names) that become stream labels. */
    indexLabels: ReadonlySet<string>;
  };
  /** Out-of-order window: entries older than the stream's newest minus this are refused. */
  outOfOrderWindowNs: bigint;
  ruler: {
    rulesDir: string;
    alertmanagerUrl: string;
    evaluationIntervalNs: bigint;
    resendDelayNs: bigint;
  };
}

/**
 * Loki's default OTLP index labels (docs: send-data/otel, "Format considerations";
 * `default_resource_attributes_as_index_labels` in the distributor config).
 */
export const DEFAULT_INDEX_LABELS = [
  'cloud.availability_zone',
  'cloud.region',
  'container.name',
  'deployment.environment',
  'deployment.environment.name',
  'k8s.cluster.name',
  'k8s.container.name',
  'k8s.cronjob.name',
  'k8s.daemonset.name',
  'k8s.deployment.name',
  'k8s.job.name',
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.replicaset.name',
  'k8s.statefulset.name',
  'service.instance.id',
  'service.name',
  'service.namespace',
];

/**
 * `-config.expand-env=true`: `${VAR}` and `${VAR:-default}` (Loki uses drone/envsubst,
 * which supports the shell default form; Grafana's provisioning does not).
 */
export function expandEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, def?: string) => {
    const v = env[name];
    return v !== undefined && v !== '' ? v : (def ?? '');
  });
}

const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
  d: 86400e9,
  w: 7 * 86400e9,
  y: 365 * 86400e9,
};

/** A Prometheus/Go duration (`168h`, `1m30s`, `500ms`) in nanoseconds; throws on anything else. */
export function parseDurationNs(d: string): bigint {
  const s = String(d).trim();
  if (s === '0') return 0n;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/gy;
  let total = 0n;
  let pos = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += BigInt(Math.round(Number(m[1]) * UNITS[m[2]]));
    pos = re.lastIndex;
  }
  if (pos !== s.length || s.length === 0) throw new Error(`not a duration: ${JSON.stringify(d)}`);
  return total;
}

/** dskit's flagext.ByteSize (c2h5oh/datasize): `256KB` = 262144; KB, MB, GB are powers of 1024. */
export function parseByteSize(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/i.exec(String(v).trim());
  if (!m) throw new Error(`not a byte size: ${JSON.stringify(v)}`);
  const mult: Record<string, number> = {
    b: 1,
    kb: 1024,
    kib: 1024,
    mb: 1 << 20,
    mib: 1 << 20,
    gb: 1 << 30,
    gib: 1 << 30,
  };
  return Number(m[1]) * mult[(m[2] ?? 'b').toLowerCase()];
}

type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Read loki.yaml as `loki -config.file=F -config.expand-env=true` would, for the keys modelled. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): StandinConfig {
  const y = parse(expandEnv(readFileSync(file, 'utf8'), env)) as Yaml;
  if (y.auth_enabled !== false)
    throw new Error('the Loki stand-in models a single tenant ("fake"): set auth_enabled: false');
  const limits: Yaml = y.limits_config ?? {};
  if (limits.allow_structured_metadata === false)
    throw new Error('the Loki stand-in models OTLP ingestion, which needs allow_structured_metadata: true');
  const otlp: Yaml = limits.otlp_config?.resource_attributes ?? {};
  const index = new Set<string>(otlp.ignore_defaults ? [] : DEFAULT_INDEX_LABELS);
  for (const c of (otlp.attributes_config ?? []) as Yaml[]) {
    if (c.action !== 'index_label' || c.regex)
      throw new Error(
        `otlp_config action ${JSON.stringify(c.action)} / regex is not modelled by the Loki stand-in`
      );
    for (const a of c.attributes as string[]) index.add(a);
  }
  const pathPrefix: string = y.common?.path_prefix ?? '/loki';
  const ruler: Yaml = y.ruler ?? {};
  return {
    listenAddress: y.server?.http_listen_address ?? '0.0.0.0',
    httpPort: Number(y.server?.http_listen_port ?? 3100),
    dataDir: pathPrefix,
    limits: {
      // Defaults are Loki's own (docs: configure, limits_config).
      maxLineSize: parseByteSize(limits.max_line_size ?? '256KB'),
      maxStructuredMetadataSize: parseByteSize(limits.max_structured_metadata_size ?? '64KB'),
      maxStructuredMetadataEntries: Number(limits.max_structured_metadata_entries_count ?? 128),
      maxEntriesLimitPerQuery: Number(limits.max_entries_limit_per_query ?? 5000),
      rejectOldSamples: limits.reject_old_samples ?? true,
      rejectOldSamplesMaxAgeNs: parseDurationNs(limits.reject_old_samples_max_age ?? '168h'),
      creationGracePeriodNs: parseDurationNs(limits.creation_grace_period ?? '10m'),
      maxQuerySeries: Number(limits.max_query_series ?? 500),
      maxQueryLengthNs: parseDurationNs(limits.max_query_length ?? '721h'),
      indexLabels: index,
    },
    // docs: configure#accept-out-of-order-writes: oldest accepted = newest line - max_chunk_age / 2.
    outOfOrderWindowNs: parseDurationNs(y.ingester?.max_chunk_age ?? '2h') / 2n,
    ruler: {
      rulesDir: ruler.storage?.local?.directory ?? '/etc/loki/rules',
      alertmanagerUrl: ruler.alertmanager_url ?? '',
      evaluationIntervalNs: parseDurationNs(ruler.evaluation_interval ?? '1m'),
      resendDelayNs: parseDurationNs(ruler.resend_delay ?? '1m'),
    },
  };
}
