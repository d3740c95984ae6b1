/**
 * The collector's one config module. Every setting is a row of {@link OPTIONS}
 * and resolves in ONE order, first hit wins:
 *
 *   1. command-line flag          (--state-dir /var/lib/casefile)
 *   2. environment                (CASEFILE_STATE_DIR; for OTLP settings the
 *                                  standard OTEL_* variables come right after
 *                                  the CASEFILE_* one)
 *   3. YAML file                  (--config FILE or CASEFILE_CONFIG; keys are
 *                                  the dotted paths below, e.g. `queue: {maxBytes: 512MiB}`)
 *   4. default
 *
 * A bad flag is an error (the user is typing it now); a bad environment or
 * YAML value is skipped with a warning and the next layer is used, so a stale
 * config file cannot keep the agent down.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import type { SourceName } from '../pipeline/types';
import { parseBytes, parseDuration } from './duration';
import { compileUserPattern, type RedactConfig } from '../redact/user-rules';

export { parseBytes, parseDuration };

/** Every real event source; `--sources` picks among them. */
export const SOURCE_NAMES: readonly SourceName[] = ['ebpf', 'procfs', 'runtime', 'host'];

export interface CollectorConfig {
  /** This node: `name` is the `host_name` stream label; `id` comes from /etc/machine-id when readable. */
  host: { name: string; id?: string };
  /** Queue segments, runtime models and other state live here. Default /var/lib/casefile. */
  stateDir: string;
  sources: {
    /** Sources to start. Default all of {@link SOURCE_NAMES}. */
    enabled: SourceName[];
    /** Docker-compatible Engine API socket (Docker or Podman). Default /var/run/docker.sock. */
    runtimeSocket: string;
    /** A CRI socket to try besides /run/containerd/containerd.sock and /var/run/crio/crio.sock. */
    criSocket?: string;
    /** procfs poll interval. Default 1000 ms. */
    procfsIntervalMs: number;
    /** Auth log to follow for SSH, sudo, su and PAM, or `journald`; unset = auth.log/secure if present, else journald, else wait for the file. */
    authLog?: string;
    /** The bpftrace binary. Default `bpftrace` (from PATH). */
    bpftrace: string;
  };
  models: {
    /** How long a new runtime model learns before it is active. Default 1 h. */
    learningPeriodMs: number;
    /** Policy file (YAML) for alert / prevent / block per scope. */
    policyFile?: string;
    /** model.state is re-emitted at least this often per model. Default 10 min. */
    stateIntervalMs: number;
    /** Model ids to reset at start-up, comma-separated (`*` = all). */
    reset?: string;
    /** Model ids to learn again for a learning period at start-up, comma-separated (`*` = all). */
    extend?: string;
  };
  /** Redaction (src/redact/): see {@link RedactConfig} for the user rules. */
  redact: RedactConfig;
  queue: {
    /** Bound on the on-disk queue; when full the oldest segment is dropped (and counted). Default 256 MiB. */
    maxBytes: number;
    /** Size at which a segment file is closed and a new one started. Default 8 MiB. */
    segmentBytes: number;
    /** Appended events are written to the segment file at least this often. Default 20 ms. */
    flushIntervalMs: number;
    /** fdatasync of the open segment at most this often; 0 = every group commit. Default 0 (see README "Durable queue"). */
    fsyncIntervalMs: number;
    /** Records per OTLP request. Default 2048. */
    batchRecords: number;
    /** Bytes (of queued JSON) per OTLP request. Default 4 MiB. */
    batchBytes: number;
  };
  otlp: {
    /** OTLP/HTTP logs URL; unset = no export (only with --stdout). Default http://127.0.0.1:3100/otlp/v1/logs. */
    endpoint?: string;
    /** Extra request headers (auth, X-Scope-OrgID). */
    headers: Record<string, string>;
    /** Per-request timeout. Default 10000 ms. */
    timeoutMs: number;
    /** `service.name` of the resource. Default casefile-collector. */
    serviceName: string;
    /** Extra resource attributes (OTEL_RESOURCE_ATTRIBUTES); Casefile's own (namespace, host) win. */
    resourceAttributes: Record<string, string>;
    /** Request body compression. Default none. */
    compression: 'gzip' | 'none';
    /** OTLP/HTTP encoding (OTEL_EXPORTER_OTLP_LOGS_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL). Default http/json. */
    protocol: 'http/json' | 'http/protobuf';
  };
  /** Print every event as one JSON line on stdout. Default false. */
  stdout: boolean;
  /** host:port for /metrics and /healthz; port 0 picks a free one. Default 127.0.0.1:9464. */
  listen: string;
  /** pino level. Default info. */
  logLevel: string;
  /** Time a graceful shutdown spends draining the queue before leaving the rest on disk. Default 5000 ms. */
  shutdownTimeoutMs: number;
  /**
   * A generator of synthetic process.start events for tests and the benchmark
   * (hidden flags --synthetic-rate/--synthetic-count/--synthetic-run). Unset normally.
   */
  synthetic?: { rate: number; count: number; run: string };
}

type Kind =
  | 'string'
  | 'bool'
  | 'int'
  | 'duration'
  | 'bytes'
  | 'sources'
  | 'map'
  | 'url'
  | 'compression'
  | 'protocol'
  | 'list'
  | 'patterns';

interface Option {
  /** Dotted path in {@link CollectorConfig} and in the YAML file. */
  path: string;
  kind: Kind;
  /** Long flag without dashes; bool flags take no value. */
  flag?: string;
  /** For bool options: a flag that sets false (e.g. no-redact). */
  negFlag?: string;
  /** Environment variables, first set wins. */
  env?: string[];
  /** Flag's value name in --help. */
  arg?: string;
  doc: string;
  default?: () => unknown;
  /** Not shown in --help (test and benchmark hooks). */
  hidden?: boolean;
}

const OTLP_LOGS_PATH = '/v1/logs';

/** The settings table: --help, the env names and the YAML keys are all generated from it. */
export const OPTIONS: readonly Option[] = [
  {
    path: 'config',
    kind: 'string',
    flag: 'config',
    env: ['CASEFILE_CONFIG'],
    arg: 'FILE',
    doc: 'YAML config file',
  },
  {
    path: 'stdout',
    kind: 'bool',
    flag: 'stdout',
    env: ['CASEFILE_STDOUT'],
    doc: 'print events as JSON lines on stdout (instead of exporting, unless an OTLP endpoint is also set)',
    default: () => false,
  },
  {
    path: 'otlp.endpoint',
    kind: 'url',
    flag: 'otlp-endpoint',
    env: ['CASEFILE_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    arg: 'URL',
    doc: `OTLP/HTTP endpoint; ${OTLP_LOGS_PATH} is appended unless present (Loki: http://HOST:3100/otlp). Default http://127.0.0.1:3100/otlp${OTLP_LOGS_PATH}`,
  },
  {
    path: 'stateDir',
    kind: 'string',
    flag: 'state-dir',
    env: ['CASEFILE_STATE_DIR'],
    arg: 'DIR',
    doc: 'state directory (durable queue, runtime models)',
    default: () => '/var/lib/casefile',
  },
  {
    path: 'sources.runtimeSocket',
    kind: 'string',
    flag: 'runtime-socket',
    env: ['CASEFILE_RUNTIME_SOCKET', 'DOCKER_HOST'],
    arg: 'PATH',
    doc: 'Docker/Podman Engine API unix socket',
    default: () => '/var/run/docker.sock',
  },
  {
    path: 'sources.criSocket',
    kind: 'string',
    flag: 'cri-socket',
    env: ['CASEFILE_CRI_SOCKET'],
    arg: 'PATH',
    doc: 'CRI v1 unix socket (containerd, CRI-O), tried before /run/containerd/containerd.sock and /var/run/crio/crio.sock',
  },
  {
    path: 'sources.enabled',
    kind: 'sources',
    flag: 'sources',
    env: ['CASEFILE_SOURCES'],
    arg: 'LIST',
    doc: `comma-separated sources to run (${SOURCE_NAMES.join(',')}; "none" for none)`,
    default: () => [...SOURCE_NAMES],
  },
  {
    path: 'sources.procfsIntervalMs',
    kind: 'duration',
    flag: 'procfs-interval',
    env: ['CASEFILE_PROCFS_INTERVAL'],
    arg: 'DURATION',
    doc: 'procfs poll interval',
    default: () => 1000,
  },
  {
    path: 'sources.authLog',
    kind: 'string',
    flag: 'auth-log',
    env: ['CASEFILE_AUTH_LOG'],
    arg: 'FILE',
    doc: 'auth log for SSH/sudo/su/PAM, or "journald" (default: auth.log or secure if present, else journald, else wait for the file)',
  },
  {
    path: 'sources.bpftrace',
    kind: 'string',
    flag: 'bpftrace',
    env: ['CASEFILE_BPFTRACE'],
    arg: 'PATH',
    doc: 'bpftrace binary',
    default: () => 'bpftrace',
  },
  {
    path: 'models.learningPeriodMs',
    kind: 'duration',
    flag: 'learning-period',
    env: ['CASEFILE_LEARNING_PERIOD'],
    arg: 'DURATION',
    doc: 'runtime model learning period (e.g. 30m, 1h, 7d)',
    default: () => 3_600_000,
  },
  {
    path: 'models.policyFile',
    kind: 'string',
    flag: 'policy',
    env: ['CASEFILE_POLICY'],
    arg: 'FILE',
    doc: 'runtime policy file (YAML)',
  },
  {
    path: 'models.stateIntervalMs',
    kind: 'duration',
    env: ['CASEFILE_MODEL_STATE_INTERVAL'],
    doc: 'model.state re-emitted at least this often',
    default: () => 600_000,
  },
  {
    path: 'models.reset',
    kind: 'string',
    env: ['CASEFILE_MODEL_RESET'],
    doc: 'model ids to reset at start-up (comma-separated, * = all)',
  },
  {
    path: 'models.extend',
    kind: 'string',
    env: ['CASEFILE_MODEL_EXTEND'],
    doc: 'model ids to learn again at start-up (comma-separated, * = all)',
  },
  {
    path: 'listen',
    kind: 'string',
    flag: 'listen',
    env: ['CASEFILE_LISTEN'],
    arg: 'ADDR',
    doc: 'address for /metrics and /healthz',
    default: () => '127.0.0.1:9464',
  },
  {
    path: 'redact.enabled',
    kind: 'bool',
    negFlag: 'no-redact',
    env: ['CASEFILE_REDACT'],
    doc: 'do not mask secrets in command lines (on by default)',
    default: () => true,
  },
  {
    path: 'redact.budgetMs',
    kind: 'duration',
    env: ['CASEFILE_REDACT_BUDGET'],
    doc: 'redaction time per event; past it the rest is masked whole (default 0.4ms)',
  },
  {
    path: 'redact.names',
    kind: 'list',
    doc: 'YAML: extra secret names (NAME=value, "name": value, --name value)',
  },
  {
    path: 'redact.flags',
    kind: 'list',
    doc: 'YAML: extra secret flags, exact (the value after them is masked)',
  },
  {
    path: 'redact.patterns',
    kind: 'patterns',
    doc: 'YAML: RE2 patterns; matches are masked (group 1 if any)',
  },
  {
    path: 'redact.allow',
    kind: 'patterns',
    doc: 'YAML: RE2 patterns; a candidate or its name matching one is kept',
  },
  {
    path: 'logLevel',
    kind: 'string',
    flag: 'log-level',
    env: ['CASEFILE_LOG_LEVEL'],
    arg: 'LEVEL',
    doc: 'log level (trace..fatal)',
    default: () => 'info',
  },
  {
    path: 'host.name',
    kind: 'string',
    flag: 'host-name',
    env: ['CASEFILE_HOST_NAME'],
    arg: 'NAME',
    doc: 'node name (the host_name label)',
    default: () => hostname(),
  },
  {
    path: 'host.id',
    kind: 'string',
    env: ['CASEFILE_HOST_ID'],
    doc: 'stable host id',
    default: readMachineId,
  },
  {
    path: 'queue.maxBytes',
    kind: 'bytes',
    flag: 'queue-max-bytes',
    env: ['CASEFILE_QUEUE_MAX_BYTES'],
    arg: 'SIZE',
    doc: 'on-disk queue bound; oldest dropped when full',
    default: () => 256 * 1024 ** 2,
  },
  {
    path: 'queue.segmentBytes',
    kind: 'bytes',
    env: ['CASEFILE_QUEUE_SEGMENT_BYTES'],
    doc: 'queue segment file size',
    default: () => 8 * 1024 ** 2,
  },
  {
    path: 'queue.flushIntervalMs',
    kind: 'duration',
    env: ['CASEFILE_QUEUE_FLUSH_INTERVAL'],
    doc: 'queue group commit interval',
    default: () => 20,
  },
  {
    path: 'queue.fsyncIntervalMs',
    kind: 'duration',
    env: ['CASEFILE_QUEUE_FSYNC_INTERVAL'],
    doc: 'queue fdatasync interval (0 = every group commit)',
    default: () => 0,
  },
  {
    path: 'queue.batchRecords',
    kind: 'int',
    env: ['CASEFILE_QUEUE_BATCH_RECORDS'],
    doc: 'records per OTLP request',
    default: () => 2048,
  },
  {
    path: 'queue.batchBytes',
    kind: 'bytes',
    env: ['CASEFILE_QUEUE_BATCH_BYTES'],
    doc: 'bytes per OTLP request',
    default: () => 4 * 1024 ** 2,
  },
  {
    path: 'otlp.headers',
    kind: 'map',
    env: ['CASEFILE_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_LOGS_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS'],
    doc: 'OTLP headers k=v,k2=v2',
    default: () => ({}),
  },
  {
    path: 'otlp.timeoutMs',
    kind: 'duration',
    env: ['CASEFILE_OTLP_TIMEOUT', 'OTEL_EXPORTER_OTLP_LOGS_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT'],
    doc: 'OTLP request timeout (ms)',
    default: () => 10_000,
  },
  {
    path: 'otlp.compression',
    kind: 'compression',
    env: [
      'CASEFILE_OTLP_COMPRESSION',
      'OTEL_EXPORTER_OTLP_LOGS_COMPRESSION',
      'OTEL_EXPORTER_OTLP_COMPRESSION',
    ],
    doc: 'gzip or none',
    default: () => 'none',
  },
  {
    path: 'otlp.protocol',
    kind: 'protocol',
    flag: 'otlp-protocol',
    env: ['CASEFILE_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'],
    arg: 'PROTO',
    doc: 'OTLP/HTTP encoding: http/json or http/protobuf',
    default: () => 'http/json',
  },
  {
    path: 'otlp.serviceName',
    kind: 'string',
    env: ['CASEFILE_SERVICE_NAME', 'OTEL_SERVICE_NAME'],
    doc: 'service.name',
    default: () => 'casefile-collector',
  },
  {
    path: 'otlp.resourceAttributes',
    kind: 'map',
    env: ['CASEFILE_RESOURCE_ATTRIBUTES', 'OTEL_RESOURCE_ATTRIBUTES'],
    doc: 'extra resource attributes k=v,...',
    default: () => ({}),
  },
  {
    path: 'shutdownTimeoutMs',
    kind: 'duration',
    env: ['CASEFILE_SHUTDOWN_TIMEOUT'],
    doc: 'drain time on SIGTERM',
    default: () => 5000,
  },
  {
    path: 'synthetic.rate',
    kind: 'int',
    flag: 'synthetic-rate',
    hidden: true,
    doc: 'synthetic events per second (0 = as fast as possible)',
  },
  {
    path: 'synthetic.count',
    kind: 'int',
    flag: 'synthetic-count',
    hidden: true,
    doc: 'synthetic events in total',
  },
  {
    path: 'synthetic.run',
    kind: 'string',
    flag: 'synthetic-run',
    hidden: true,
    doc: 'synthetic run id (event ids are <run>-<seq>)',
  },
];

function readMachineId(): string | undefined {
  try {
    return readFileSync('/etc/machine-id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Raised for unusable command lines; the CLI prints it with the usage and exits 2. */
export class ConfigError extends Error {
  name = 'ConfigError';
}

/** `k=v,k2=v2` with percent-encoded values (the OTEL_*_HEADERS / OTEL_RESOURCE_ATTRIBUTES format). */
export function parseKeyValues(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(',')) {
    if (!part.trim()) continue;
    const i = part.indexOf('=');
    if (i <= 0) throw new Error(`expected key=value, got ${JSON.stringify(part)}`);
    out[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

/** Coerce a raw value (string from flag/env, anything from YAML) to the option's kind; throws when unusable. */
function coerce(o: Option, v: unknown, from: string): unknown {
  switch (o.kind) {
    case 'string':
      if (typeof v !== 'string' && typeof v !== 'number') throw new Error('expected a string');
      if (o.path === 'sources.runtimeSocket' && from === 'DOCKER_HOST') {
        if (!String(v).startsWith('unix://')) throw new Error('only unix:// sockets are supported');
        return String(v).slice('unix://'.length);
      }
      return String(v);
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (/^(1|true|yes|on)$/i.test(String(v))) return true;
      if (/^(0|false|no|off)$/i.test(String(v))) return false;
      throw new Error('expected true or false');
    case 'int': {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error('expected a non-negative integer');
      return n;
    }
    case 'duration':
      return parseDuration(v as string | number);
    case 'bytes':
      return parseBytes(v as string | number);
    case 'sources': {
      const list = Array.isArray(v) ? v.map(String) : String(v).split(',');
      const names = list.map((s) => s.trim()).filter((s) => s && s !== 'none');
      const bad = names.filter((s) => !SOURCE_NAMES.includes(s as SourceName));
      if (bad.length) throw new Error(`unknown source ${bad.join(',')} (known: ${SOURCE_NAMES.join(',')})`);
      return [...new Set(names)];
    }
    case 'map':
      if (v && typeof v === 'object' && !Array.isArray(v))
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
      return parseKeyValues(String(v));
    case 'url': {
      const u = new URL(String(v));
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('expected an http(s) URL');
      // The signal-specific variable is a full URL by the OTel spec; the others are a base.
      if (from === 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT' || u.pathname.endsWith(OTLP_LOGS_PATH))
        return u.toString();
      u.pathname = u.pathname.replace(/\/$/, '') + OTLP_LOGS_PATH;
      return u.toString();
    }
    case 'compression':
      if (v !== 'gzip' && v !== 'none') throw new Error('expected gzip or none');
      return v;
    case 'protocol':
      // grpc is the third OTLP protocol; Loki takes OTLP over HTTP only.
      if (v !== 'http/json' && v !== 'http/protobuf') throw new Error('expected http/json or http/protobuf');
      return v;
    case 'list':
    case 'patterns': {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !x))
        throw new Error('expected a list of non-empty strings');
      if (o.kind === 'patterns') for (const p of v) compileUserPattern(p);
      return v;
    }
  }
}

function getPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const k of path.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, v: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
  cur[keys[keys.length - 1]] = v;
}

/** Flags as given: `--name value`, `--name=value`, bare boolean flags. Throws ConfigError on unknown ones. */
function parseFlags(argv: readonly string[]): {
  values: Map<Option, string | boolean>;
  help: boolean;
  checkConfig: boolean;
} {
  const values = new Map<Option, string | boolean>();
  let help = false;
  let checkConfig = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (a === '--check-config') {
      checkConfig = true;
      continue;
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(a);
    if (!m) throw new ConfigError(`unexpected argument ${JSON.stringify(a)}`);
    const [, name, inline] = m;
    const neg = OPTIONS.find((o) => o.negFlag === name);
    if (neg) {
      values.set(neg, false);
      continue;
    }
    const o = OPTIONS.find((x) => x.flag === name);
    if (!o) throw new ConfigError(`unknown flag --${name}`);
    if (o.kind === 'bool') values.set(o, inline ?? true);
    else {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new ConfigError(`--${name} needs a value (${o.arg ?? 'VALUE'})`);
      values.set(o, v);
    }
  }
  return { values, help, checkConfig };
}

export interface LoadedConfig {
  config: CollectorConfig;
  /** Env/YAML values that were skipped, for the caller to log. */
  warnings: string[];
  /** --help was given. */
  help: boolean;
  /** --check-config was given: resolve, report and exit without starting. */
  checkConfig: boolean;
}

/**
 * Resolve the config: flag -> env (CASEFILE_*, then OTEL_*) -> YAML -> default.
 *
 * @example loadConfig({ argv: ['--stdout'], env: {} }).config.otlp.endpoint // => undefined (stdout only)
 */
export function loadConfig({
  argv = [],
  env = {},
}: { argv?: readonly string[]; env?: Record<string, string | undefined> } = {}): LoadedConfig {
  const warnings: string[] = [];
  const { values: flags, help, checkConfig } = parseFlags(argv);
  const configOpt = OPTIONS[0];
  const file = (flags.get(configOpt) as string | undefined) ?? env.CASEFILE_CONFIG;
  let yaml: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    const doc = parseYaml(text) ?? {};
    if (typeof doc !== 'object' || Array.isArray(doc))
      throw new ConfigError(`config file ${file}: expected a mapping at the top`);
    yaml = doc as Record<string, unknown>;
  }
  const out: Record<string, unknown> = {};
  const set = new Set<string>();
  for (const o of OPTIONS.slice(1)) {
    let value: unknown;
    let found = false;
    if (flags.has(o)) {
      try {
        value = coerce(o, flags.get(o), 'flag');
      } catch (err) {
        throw new ConfigError(`--${o.flag ?? o.negFlag}: ${(err as Error).message}`);
      }
      found = true;
    }
    for (const name of found ? [] : (o.env ?? [])) {
      const raw = env[name];
      if (raw === undefined || raw === '') continue;
      try {
        value = coerce(o, raw, name);
        found = true;
        break;
      } catch (err) {
        warnings.push(`ignoring ${name}=${JSON.stringify(raw)}: ${(err as Error).message}`);
      }
    }
    const fromYaml = getPath(yaml, o.path);
    if (!found && fromYaml !== undefined && fromYaml !== null) {
      try {
        value = coerce(o, fromYaml, 'yaml');
        found = true;
      } catch (err) {
        warnings.push(`ignoring ${o.path} in ${file}: ${(err as Error).message}`);
      }
    }
    if (!found && o.default) value = o.default();
    if (value !== undefined) {
      setPath(out, o.path, value);
      if (found) set.add(o.path);
    }
  }
  // Keys colleagues' sections add in YAML before they get a row here are passed through as they are.
  for (const section of ['sources', 'models'] as const) {
    const y = yaml[section];
    if (y && typeof y === 'object') {
      for (const [k, v] of Object.entries(y)) {
        const target = out[section] as Record<string, unknown>;
        if (!OPTIONS.some((o) => o.path === `${section}.${k}`)) target[k] ??= v;
      }
    }
  }
  for (const k of Object.keys(yaml)) {
    if (!OPTIONS.some((o) => o.path === k || o.path.startsWith(k + '.')))
      warnings.push(`unknown key ${k} in ${file}`);
  }
  // Stdout alone means "no Loki": only export when an endpoint was given somewhere.
  if (!set.has('otlp.endpoint') && !out.stdout)
    setPath(out, 'otlp.endpoint', `http://127.0.0.1:3100/otlp${OTLP_LOGS_PATH}`);
  const syn = out.synthetic as Partial<NonNullable<CollectorConfig['synthetic']>> | undefined;
  if (syn)
    out.synthetic = {
      rate: syn.rate ?? 0,
      count: syn.count ?? 1000,
      run: syn.run ?? `syn${Date.now().toString(36)}`,
    };
  return { config: out as unknown as CollectorConfig, warnings, help, checkConfig };
}

/** The --help text, generated from {@link OPTIONS}. */
export function usage(): string {
  const lines = [
    'Usage: casefile-collector [flags]',
    '',
    'Casefile node agent: process, port, container and host events to Loki over OTLP.',
    'Each setting resolves flag -> environment -> YAML (--config) -> default.',
    '',
    'Flags:',
  ];
  for (const o of OPTIONS) {
    if (o.hidden || !(o.flag || o.negFlag)) continue;
    const f = o.negFlag
      ? `--${o.negFlag}`
      : `--${o.flag}${o.kind === 'bool' ? '' : ' ' + (o.arg ?? 'VALUE')}`;
    lines.push(`  ${f.padEnd(28)} ${o.doc}${o.env ? ` [${o.env.join(', ')}]` : ''}`);
  }
  lines.push(
    '  --check-config               resolve the config, print it as JSON and exit (1 if a value was ignored)',
    '  --help                       this text',
    '',
    'Environment and YAML only:'
  );
  for (const o of OPTIONS) {
    if (o.hidden || o.flag || o.negFlag) continue;
    lines.push(`  ${o.path.padEnd(28)} ${o.doc}${o.env ? ` [${o.env.join(', ')}]` : ''}`);
  }
  return lines.join('\n') + '\n';
}
