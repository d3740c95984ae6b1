/**
 * Every LogQL expression Casefile provisions, as Grafana or Loki would run it: each dashboard
 * panel target (range or instant, with its line limit), each dashboard variable's label-values
 * query, each Grafana-managed alert rule query and each Loki ruler rule (instant).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './compose-grafana';

export interface ProvisionedQuery {
  /** Where it is: file and panel, rule or variable. */
  where: string;
  /** The expression as provisioned (Grafana variables not yet filled in). */
  expr: string;
  /** How it is run: a log or metric query over the range, an instant query at its end, or label values. */
  kind: 'range' | 'instant' | 'label-values';
  /** Lines asked for (log queries). */
  maxLines?: number;
  /** The label whose values a variable lists. */
  label?: string;
  /** The dashboard's variable names, to substitute. */
  dashboard?: string;
}

const DASHBOARDS = join(REPO_ROOT, 'provisioning/grafana/dashboards');
const ALERTING = join(REPO_ROOT, 'provisioning/alerting');
const RULER = join(REPO_ROOT, 'provisioning/loki/rules/fake');

interface Target {
  expr?: string;
  queryType?: string;
  instant?: boolean;
  maxLines?: number;
}

/** Every provisioned query; throws on a target that carries no expression (nothing to run). */
export function provisionedQueries(): ProvisionedQuery[] {
  const out: ProvisionedQuery[] = [];
  for (const file of readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const d = JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8'));
    const panels = (d.panels ?? []).flatMap((p: { panels?: unknown[] }) => [p, ...(p.panels ?? [])]);
    for (const p of panels)
      for (const t of (p.targets ?? []) as Target[]) {
        const where = `${file} panel "${p.title}"`;
        if (!t.expr) throw new Error(`${where}: a target without expr`);
        out.push({
          where,
          expr: t.expr,
          kind: t.queryType === 'instant' || t.instant ? 'instant' : 'range',
          maxLines: t.maxLines,
          dashboard: d.uid,
        });
      }
    for (const v of d.templating?.list ?? [])
      if (v.type === 'query')
        out.push({
          where: `${file} variable $${v.name}`,
          expr: v.query.stream ?? '',
          kind: 'label-values',
          label: v.query.label,
          dashboard: d.uid,
        });
  }
  for (const file of readdirSync(ALERTING)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const doc = parse(readFileSync(join(ALERTING, file), 'utf8'));
    for (const g of doc.groups ?? [])
      for (const r of g.rules ?? [])
        for (const q of r.data ?? [])
          if (q.model?.expr)
            out.push({ where: `${file} rule "${r.title}" ${q.refId}`, expr: q.model.expr, kind: 'instant' });
  }
  for (const file of readdirSync(RULER)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const doc = parse(readFileSync(join(RULER, file), 'utf8'));
    for (const g of doc.groups ?? [])
      for (const r of g.rules ?? [])
        out.push({ where: `loki rules ${file} ${r.alert}`, expr: r.expr, kind: 'instant' });
  }
  return out;
}
