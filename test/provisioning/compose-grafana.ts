/**
 * The Grafana that docker-compose.yml runs, as the provisioning check and the plugin's
 * browser tests need it: its environment (after Compose's own interpolation, which does
 * support `${VAR:-default}`), its volume mounts (container path -> repository path) and
 * the grafana.ini settings it sets through `GF_<SECTION>_<KEY>` variables.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface ComposeGrafana {
  image: string;
  /** Grafana's process environment. */
  env: Record<string, string>;
  /** Container path -> absolute host path, longest container path first. */
  mounts: { container: string; host: string }[];
  /** `[plugins] allow_loading_unsigned_plugins`, split. */
  allowUnsigned: string[];
  /** `[dataproxy] send_user_header`. */
  sendUserHeader: boolean;
}

/**
 * Compose's interpolation of one value: `$$`, `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
 * `${VAR:?msg}` (an error when unset). `hostEnv` is the shell Compose runs in.
 */
export function composeInterpolate(value: string, hostEnv: Record<string, string | undefined>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, braced?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
      if (all === '$$') return '$';
      const name = braced ?? bare!;
      const v = hostEnv[name];
      const missing = v === undefined || (colon === ':' && v === '');
      if (op === '-') return missing ? arg! : v!;
      if (op === '?' && missing) throw new Error(`docker-compose.yml: ${name} is required: ${arg}`);
      return v ?? '';
    }
  );
}

/** The `grafana` service of docker-compose.yml, interpolated with `hostEnv` (default: none set). */
export function composeGrafana(
  hostEnv: Record<string, string | undefined> = {},
  root = REPO_ROOT
): ComposeGrafana {
  const file = join(root, 'docker-compose.yml');
  const doc = parse(readFileSync(file, 'utf8'));
  const svc = doc?.services?.grafana;
  if (!svc) throw new Error(`${file}: no services.grafana`);
  const env: Record<string, string> = {};
  const rawEnv = svc.environment ?? {};
  const entries: [string, unknown][] = Array.isArray(rawEnv)
    ? rawEnv.map((e: string) => {
        const i = e.indexOf('=');
        return i === -1 ? [e, hostEnv[e] ?? ''] : [e.slice(0, i), e.slice(i + 1)];
      })
    : Object.entries(rawEnv);
  for (const [k, v] of entries) env[k] = composeInterpolate(String(v ?? ''), hostEnv);
  const mounts = (svc.volumes ?? [])
    .map((v: string) => composeInterpolate(v, hostEnv).split(':'))
    .filter((p: string[]) => p.length >= 2 && (p[0].startsWith('.') || isAbsolute(p[0])))
    .map((p: string[]) => ({ container: p[1].replace(/\/+$/, ''), host: resolve(root, p[0]) }))
    .sort((a: { container: string }, b: { container: string }) => b.container.length - a.container.length);
  const ini = (section: string, key: string) => env[`GF_${section}_${key}`.toUpperCase()];
  return {
    image: String(svc.image ?? ''),
    env,
    mounts,
    allowUnsigned: (ini('plugins', 'allow_loading_unsigned_plugins') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    sendUserHeader: /^(true|1)$/i.test(ini('dataproxy', 'send_user_header') ?? ''),
  };
}

/** The host path a container path is mounted from, or undefined when nothing mounts it. */
export function hostPathOf(g: ComposeGrafana, containerPath: string): string | undefined {
  const p = containerPath.replace(/\/+$/, '');
  for (const m of g.mounts) {
    if (p === m.container) return m.host;
    if (p.startsWith(m.container + '/')) return join(m.host, p.slice(m.container.length + 1));
  }
  return undefined;
}
