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

/**
 * What a token may do. `read`: list, read and export; `pin`: pin, lock and
 * unlock; `admin`: delete; `webhook`: Grafana's alert webhook (and nothing
 * else); `grafana`: the token of Grafana's plugin routes, the only one whose
 * X-Grafana-User and X-Casefile-Max-Snapshots headers are honoured.
 */
export const TOKEN_SCOPES = ['read', 'pin', 'admin', 'webhook', 'grafana'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** Scopes of a token written the old way (`name:secret`, YAML without `scopes`): what Grafana's app needs. */
export const LEGACY_SCOPES: readonly TokenScope[] = ['read', 'pin', 'admin', 'grafana'];

/** A named API token; the name is recorded as "who" when no X-Grafana-User is honoured. */
export interface ApiToken {
  name: string;
  token: string;
  scopes: TokenScope[];
  /** Written without scopes (old format): given LEGACY_SCOPES, with a warning at start. */
  legacy?: boolean;
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
  /**
   * API tokens, comma-separated `name:scope+scope:secret` in env/flags (old `name:secret` still
   * parses, with LEGACY_SCOPES); YAML: list of `{name, token, scopes}`. Default none (every API call is refused).
   */
  tokens: ApiToken[];
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimitBytes: number;
  /** Alert webhook: window start before the alert's startsAt, in seconds. Default 900 (15 min). */
  hookBeforeSeconds: number;
  /** Alert webhook: window end after the alert's startsAt, in seconds. Default 300 (5 min). */
  hookAfterSeconds: number;
  /** Alert webhook: firing alerts pinned per call; the rest are answered 429 (Grafana retries). Default 20. */
  hookMaxAlertsPerCall: number;
  /** Alert webhook: pins per rolling minute, all calls together. Default 30. */
  hookMaxPinsPerMinute: number;
  /** Snapshots kept from alerts (their share of maxSnapshots); an alert pin evicts only other unlocked alert pins. Default 20. */
  maxAlertSnapshots: number;
  /** Longest pin or export window in seconds (Loki's max_query_length is 721 h by default). Default 30 days. */
  maxWindowSeconds: number;
  /** pino level. Default info. */
  logLevel: string;
  /**
   * Ed25519 private key (PKCS#8 PEM) that signs packages and custody entries, given as a secret.
   * Default unset: generated at first start and kept in `<dataDir>/signing-key.pem`.
   */
  signingKey?: string;
  /** This server's name in custody entries and manifests. Default the host name. */
  instanceName?: string;
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
  hookMaxAlertsPerCall: { kind: 'int', def: 20 },
  hookMaxPinsPerMinute: { kind: 'int', def: 30 },
  maxAlertSnapshots: { kind: 'int', def: 20 },
  maxWindowSeconds: { kind: 'int', def: 30 * 86_400 },
  logLevel: { kind: 'string', def: 'info' },
  signingKey: { kind: 'string' },
  instanceName: { kind: 'string' },
};
/** Keys that are secrets: never logged. */
export const SECRET_KEYS: readonly (keyof ServerConfig)[] = [
  'tokens',
  'lokiBasicAuth',
  'lokiBearerToken',
  'signingKey',
  'postgresDsn',
];

const ENV_PREFIX = 'CASEFILE_SERVER_';
const envName = (k: string) => ENV_PREFIX + k.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
const flagName = (k: string) => k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

export class ConfigError extends Error {}

const isScopeList = (s: string) => s.split('+').every((x) => (TOKEN_SCOPES as readonly string[]).includes(x));

/** One env/flag entry: `name:scope+scope:secret`, or the old `name:secret` (the secret may hold colons). */
function parseTokenEntry(s: string, source: string): Partial<ApiToken> {
  const i = s.indexOf(':');
  if (i <= 0)
    throw new ConfigError(
      `${source}: token entries are name:scope+scope:secret, got ${JSON.stringify(s.slice(0, 20))}…`
    );
  const name = s.slice(0, i).trim();
  const rest = s.slice(i + 1).trim();
  const j = rest.indexOf(':');
  if (j > 0 && isScopeList(rest.slice(0, j)))
    return { name, scopes: rest.slice(0, j).split('+') as TokenScope[], token: rest.slice(j + 1) };
  return { name, token: rest };
}

function parseTokens(v: unknown, source: string): ApiToken[] {
  const list: Partial<ApiToken>[] = Array.isArray(v)
    ? v
    : String(v)
        .split(',')
        .filter((s) => s.trim())
        .map((s) => parseTokenEntry(s, source));
  const out: ApiToken[] = [];
  for (const t of list) {
    if (!t || typeof t.name !== 'string' || typeof t.token !== 'string' || !t.name || t.token.length < 8) {
      throw new ConfigError(`${source}: every token needs a name and a token of at least 8 characters`);
    }
    const scopes = t.scopes === undefined ? [...LEGACY_SCOPES] : t.scopes;
    if (!Array.isArray(scopes) || !scopes.length || !isScopeList(scopes.join('+')))
      throw new ConfigError(
        `${source}: token ${t.name}: scopes must be some of ${TOKEN_SCOPES.join(', ')}, got ${JSON.stringify(scopes)}`
      );
    if (scopes.includes('webhook') && scopes.length > 1)
      throw new ConfigError(
        `${source}: token ${t.name}: the webhook token must have the webhook scope alone`
      );
    out.push({ name: t.name, token: t.token, scopes: [...new Set(scopes)], legacy: t.scopes === undefined });
  }
  const secrets = new Set(out.map((t) => t.token));
  if (secrets.size !== out.length) throw new ConfigError(`${source}: two tokens have the same secret`);
  return out;
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
  if (c.maxWindowSeconds < 1) throw new ConfigError('maxWindowSeconds must be at least 1');
  return c;
}

/** The config with secrets replaced, for the startup log. */
export function redactedConfig(c: ServerConfig): Record<string, unknown> {
  const out: Record<string, unknown> = Object.fromEntries(
    Object.entries(c).filter(([, v]) => v !== undefined)
  );
  for (const k of SECRET_KEYS) {
    if (c[k] === undefined) continue;
    out[k] =
      k === 'tokens'
        ? c.tokens.map((t) => ({ name: t.name, scopes: t.scopes, token: '[redacted]' }))
        : '[redacted]';
  }
  return out;
}

/** Environment variable and flag for a key, for docs and errors. */
export const configNames = (k: keyof ServerConfig) => ({ env: envName(k), flag: `--${flagName(k)}` });
