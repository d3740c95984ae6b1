/**
 * The server's one config module.
 *
 * Resolution order, highest first: command-line flag (`--max-snapshots=50`),
 * environment (`CASEFILE_SERVER_MAX_SNAPSHOTS=50`), YAML file (`maxSnapshots: 50`,
 * path from `--config` or `CASEFILE_SERVER_CONFIG`), then the default below.
 * A value that does not parse is a startup error naming its source, so a typo
 * never silently falls back to a default.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** A named API token; the name is recorded as "who" when no X-Grafana-User is sent. */
export interface ApiToken {
  name: string;
  token: string;
}

export interface ServerConfig {
  /** Listen address. Default 127.0.0.1 (the Dockerfile sets 0.0.0.0). */
  host: string;
  /** Listen port. Default 8600. */
  port: number;
  /** Directory of the SQLite file (casefile.db). Default ./data. */
  dataDir: string;
  /** PostgreSQL DSN; when set, PostgreSQL replaces SQLite. Default unset. */
  postgresDsn?: string;
  /** Loki base URL. Default http://127.0.0.1:3100. */
  lokiUrl: string;
  /** X-Scope-OrgID sent to Loki. Default unset. */
  lokiTenant?: string;
  /** Basic auth `user:password` for Loki. Default unset. */
  lokiBasicAuth?: string;
  /** Bearer token for Loki. Default unset. */
  lokiBearerToken?: string;
  /** Entries per Loki page (<= Loki's max_entries_limit_per_query). Default 5000. */
  lokiPageSize: number;
  /** OTLP logs endpoint for `snapshot.pinned` events. Default `<lokiUrl>/otlp/v1/logs`; "off" disables. */
  otlpUrl: string;
  /** Snapshots kept; pinning beyond evicts the oldest unlocked. Default 100. */
  maxSnapshots: number;
  /** Largest snapshot in events; a bigger pin is refused with 413. Default 1,000,000. */
  maxSnapshotEvents: number;
  /** API tokens, `name:token` comma-separated in env/flags. Default none (every API call is refused). */
  tokens: ApiToken[];
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimitBytes: number;
  /** Alert webhook: window start before the alert's startsAt, in seconds. Default 900 (15 min). */
  hookBeforeSeconds: number;
  /** Alert webhook: window end after the alert's startsAt, in seconds. Default 300 (5 min). */
  hookAfterSeconds: number;
  /** pino level. Default info. */
  logLevel: string;
}

type Kind = 'string' | 'int' | 'tokens';
const SPEC: Record<keyof ServerConfig, { kind: Kind; def?: unknown }> = {
  host: { kind: 'string', def: '127.0.0.1' },
  port: { kind: 'int', def: 8600 },
  dataDir: { kind: 'string', def: './data' },
  postgresDsn: { kind: 'string' },
  lokiUrl: { kind: 'string', def: 'http://127.0.0.1:3100' },
  lokiTenant: { kind: 'string' },
  lokiBasicAuth: { kind: 'string' },
  lokiBearerToken: { kind: 'string' },
  lokiPageSize: { kind: 'int', def: 5000 },
  otlpUrl: { kind: 'string' },
  maxSnapshots: { kind: 'int', def: 100 },
  maxSnapshotEvents: { kind: 'int', def: 1_000_000 },
  tokens: { kind: 'tokens', def: [] },
  bodyLimitBytes: { kind: 'int', def: 1 << 20 },
  hookBeforeSeconds: { kind: 'int', def: 900 },
  hookAfterSeconds: { kind: 'int', def: 300 },
  logLevel: { kind: 'string', def: 'info' },
};
/** Keys that are secrets: never logged. */
export const SECRET_KEYS: readonly (keyof ServerConfig)[] = [
  'tokens',
  'lokiBasicAuth',
  'lokiBearerToken',
  'postgresDsn',
];

const ENV_PREFIX = 'CASEFILE_SERVER_';
const envName = (k: string) => ENV_PREFIX + k.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
const flagName = (k: string) => k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

export class ConfigError extends Error {}

function parseTokens(v: unknown, source: string): ApiToken[] {
  const list = Array.isArray(v)
    ? v
    : String(v)
        .split(',')
        .filter((s) => s.trim())
        .map((s) => {
          const i = s.indexOf(':');
          if (i <= 0)
            throw new ConfigError(
              `${source}: token entries are name:token, got ${JSON.stringify(s.slice(0, 20))}…`
            );
          return { name: s.slice(0, i).trim(), token: s.slice(i + 1).trim() };
        });
  for (const t of list) {
    if (!t || typeof t.name !== 'string' || typeof t.token !== 'string' || !t.name || t.token.length < 8) {
      throw new ConfigError(`${source}: every token needs a name and a token of at least 8 characters`);
    }
  }
  return list as ApiToken[];
}

function coerce(key: keyof ServerConfig, v: unknown, source: string): unknown {
  const { kind } = SPEC[key];
  if (kind === 'tokens') return parseTokens(v, source);
  if (kind === 'int') {
    const n = typeof v === 'number' ? v : /^\d+$/.test(String(v).trim()) ? Number(String(v).trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < 0)
      throw new ConfigError(`${source}: ${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return n;
  }
  if (typeof v !== 'string' && typeof v !== 'number')
    throw new ConfigError(`${source}: ${key} must be a string`);
  return String(v);
}

/** Parse `--key=value` / `--key value` flags (kebab-case keys); `--config` names the YAML file. */
function parseFlags(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length) out[a.slice(2)] = argv[++i];
    else throw new ConfigError(`flag ${a} needs a value`);
  }
  return out;
}

/**
 * Resolve the configuration: flags -> env -> YAML file -> defaults.
 * `overrides` are explicit values (tests, embedding) and win over everything.
 */
export function loadConfig(
  opts: { argv?: readonly string[]; env?: NodeJS.ProcessEnv; overrides?: Partial<ServerConfig> } = {}
): ServerConfig {
  const env = opts.env ?? process.env;
  const flags = parseFlags(opts.argv ?? []);
  const file = flags.config ?? env[ENV_PREFIX + 'CONFIG'];
  delete flags.config;
  let yaml: Record<string, unknown> = {};
  if (file) {
    try {
      yaml = (parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>) ?? {};
    } catch (err) {
      throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
    }
  }
  const keys = Object.keys(SPEC) as (keyof ServerConfig)[];
  const known = new Set(keys.map(flagName));
  for (const f of Object.keys(flags)) if (!known.has(f)) throw new ConfigError(`unknown flag --${f}`);
  for (const y of Object.keys(yaml))
    if (!(y in SPEC)) throw new ConfigError(`config file ${file}: unknown key ${y}`);
  const cfg: Record<string, unknown> = {};
  for (const k of keys) {
    const fromOverride = opts.overrides?.[k];
    if (fromOverride !== undefined) cfg[k] = fromOverride;
    else if (flags[flagName(k)] !== undefined)
      cfg[k] = coerce(k, flags[flagName(k)], `flag --${flagName(k)}`);
    else if (env[envName(k)] !== undefined && env[envName(k)] !== '')
      cfg[k] = coerce(k, env[envName(k)], `env ${envName(k)}`);
    else if (yaml[k] !== undefined && yaml[k] !== null) cfg[k] = coerce(k, yaml[k], `config file ${file}`);
    else cfg[k] = SPEC[k].def;
  }
  const c = cfg as unknown as ServerConfig;
  c.otlpUrl ??= `${c.lokiUrl.replace(/\/$/, '')}/otlp/v1/logs`;
  if (c.maxSnapshots < 1) throw new ConfigError('maxSnapshots must be at least 1');
  if (c.lokiPageSize < 1) throw new ConfigError('lokiPageSize must be at least 1');
  return c;
}

/** The config with secrets replaced, for the startup log. */
export function redactedConfig(c: ServerConfig): Record<string, unknown> {
  const out: Record<string, unknown> = Object.fromEntries(
    Object.entries(c).filter(([, v]) => v !== undefined)
  );
  for (const k of SECRET_KEYS) {
    if (c[k] === undefined) continue;
    out[k] = k === 'tokens' ? c.tokens.map((t) => ({ name: t.name, token: '[redacted]' })) : '[redacted]';
  }
  return out;
}

/** Environment variable and flag for a key, for docs and errors. */
export const configNames = (k: keyof ServerConfig) => ({ env: envName(k), flag: `--${flagName(k)}` });
