/**
 * The ruler, as Loki's (Prometheus rule manager semantics; docs: alert/_index.md,
 * operations/recording-rules): rule files under `<rules dir>/<tenant>/`, each a
 * namespace of groups; alerting rules evaluated as instant LogQL queries every
 * interval; an alert is pending until `for` has passed, then firing; firing
 * alerts are posted to Alertmanager's v2 API at most every resend delay, and a
 * resolved one once with its end time. Recording rules and templates other than
 * `{{ $labels.x }}` / `{{ $value }}` are not modelled: a file using them stops the start.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseDurationNs, type StandinConfig } from './config';
import { parseQuery, type MetricQuery } from './logql/parse';
import type { QueryApi } from './query-api';

/** With auth_enabled: false, Loki's single tenant is "fake". */
export const TENANT = 'fake';

interface RuleSpec {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Group {
  namespace: string;
  name: string;
  intervalNs: bigint;
  rules: (RuleSpec & { query: MetricQuery; forNs: bigint })[];
  raw: unknown;
  lastEval?: bigint;
}
interface Active {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  activeAt: bigint;
  state: 'pending' | 'firing';
  lastSent?: bigint;
}

const TEMPLATE = /\{\{\s*(\$labels\.([A-Za-z_][A-Za-z0-9_]*)|\$value)\s*\}\}/g;

function expand(tpl: string, labels: Record<string, string>, value: number): string {
  return tpl.replace(TEMPLATE, (_, __, name?: string) => (name ? (labels[name] ?? '') : String(value)));
}

function checkTemplate(tpl: string, where: string): void {
  if (tpl.replace(TEMPLATE, '').includes('{{'))
    throw new Error(
      `${where}: template ${JSON.stringify(tpl)} uses more than {{ $labels.x }} / {{ $value }}, which the Loki stand-in does not model`
    );
}

export class Ruler {
  private groups: Group[] = [];
  private active = new Map<string, Active>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly cfg: StandinConfig,
    private readonly api: QueryApi,
    private readonly log: (msg: string) => void
  ) {
    const dir = join(cfg.ruler.rulesDir, TENANT);
    if (!existsSync(dir)) return;
    for (const file of readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(file)) continue;
      const doc = parse(readFileSync(join(dir, file), 'utf8')) as {
        groups?: { name: string; interval?: string; rules: RuleSpec[] }[];
      };
      for (const g of doc.groups ?? []) {
        const rules = g.rules.map((r) => {
          const where = `${file}: group ${g.name}`;
          if (!r.alert) throw new Error(`${where}: recording rules are not modelled by the Loki stand-in`);
          for (const t of Object.values(r.annotations ?? {})) checkTemplate(t, where);
          const query = parseQuery(r.expr);
          if (query.kind === 'log') throw new Error(`${where}: rule ${r.alert} is not a metric query`);
          return { ...r, query, forNs: r.for ? parseDurationNs(r.for) : 0n };
        });
        this.groups.push({
          namespace: file,
          name: g.name,
          intervalNs: g.interval ? parseDurationNs(g.interval) : cfg.ruler.evaluationIntervalNs,
          rules,
          raw: g,
        });
      }
    }
  }

  start(now: () => bigint): void {
    if (!this.groups.length) return;
    const tickMs = Math.max(100, Math.min(...this.groups.map((g) => Number(g.intervalNs / 1_000_000n))) / 4);
    this.timer = setInterval(() => void this.tick(now()), tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async tick(t: bigint): Promise<void> {
    for (const g of this.groups) {
      if (g.lastEval !== undefined && t - g.lastEval < g.intervalNs) continue;
      g.lastEval = t;
      const toSend: Active[] = [];
      const resolved: Active[] = [];
      for (const [i, r] of g.rules.entries()) {
        // Each rule keeps its own alerts (Prometheus' AlertingRule.active), even where two share a name.
        const prefix = `${g.namespace}/${g.name}/${i}/`;
        const seen = new Set<string>();
        for (const s of this.api.instant(r.query, t)) {
          const labels = { ...s.metric, ...r.labels, alertname: r.alert };
          const key = prefix + JSON.stringify(Object.entries(labels).sort());
          seen.add(key);
          const value = Number(s.value[1]);
          let a = this.active.get(key);
          if (!a)
            this.active.set(key, (a = { labels, annotations: {}, value, activeAt: t, state: 'pending' }));
          a.value = value;
          a.annotations = Object.fromEntries(
            Object.entries(r.annotations ?? {}).map(([k, v]) => [k, expand(v, labels, value)])
          );
          if (a.state === 'pending' && t - a.activeAt >= r.forNs) a.state = 'firing';
          if (
            a.state === 'firing' &&
            (a.lastSent === undefined || t - a.lastSent >= this.cfg.ruler.resendDelayNs)
          ) {
            a.lastSent = t;
            toSend.push(a);
          }
        }
        for (const [key, a] of this.active) {
          if (!key.startsWith(prefix) || seen.has(key)) continue;
          this.active.delete(key);
          if (a.state === 'firing') resolved.push(a);
        }
      }
      await this.notify(toSend, resolved, t);
    }
  }

  private async notify(firing: Active[], resolved: Active[], t: bigint): Promise<void> {
    const url = this.cfg.ruler.alertmanagerUrl;
    if (!url || (!firing.length && !resolved.length)) return;
    const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();
    const body = [
      ...firing.map((a) => ({
        labels: a.labels,
        annotations: a.annotations,
        startsAt: iso(a.activeAt),
        generatorURL: '',
      })),
      ...resolved.map((a) => ({
        labels: a.labels,
        annotations: a.annotations,
        startsAt: iso(a.activeAt),
        endsAt: iso(t),
        generatorURL: '',
      })),
    ];
    try {
      const r = await fetch(`${url.replace(/\/$/, '')}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!r.ok) this.log(`alertmanager answered ${r.status}`);
    } catch (e) {
      this.log(`alertmanager unreachable at ${url}: ${(e as Error).message}`);
    }
  }

  /** GET /loki/api/v1/rules: the rule groups as YAML, by namespace. */
  rulesYaml(): string {
    const byNs: Record<string, unknown[]> = {};
    for (const g of this.groups) (byNs[g.namespace] ??= []).push(g.raw);
    return stringify(byNs);
  }

  /** GET /prometheus/api/v1/alerts */
  alerts() {
    return {
      status: 'success',
      data: {
        alerts: [...this.active.values()].map((a) => ({
          labels: a.labels,
          annotations: a.annotations,
          state: a.state,
          activeAt: new Date(Number(a.activeAt / 1_000_000n)).toISOString(),
          value: String(a.value),
        })),
      },
    };
  }
}
