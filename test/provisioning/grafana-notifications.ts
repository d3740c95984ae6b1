/**
 * The notification side of Grafana's alerting file provisioning, read the way Grafana 13 reads
 * it (pkg/services/provisioning/alerting: contact_point_types.go, notification_policy_types.go,
 * text_templates.go): contact points with their receivers' settings expanded (values.JSONValue),
 * notification templates, and the policy tree. Cross references are checked once every file is
 * read: a receiver a route names must exist, a template a setting uses must be defined.
 */
import type { Problem } from './grafana-provisioning';

/** What reading a value needs: Grafana's expansion, with its problems reported (grafana-provisioning.ts). */
export interface ValueReader {
  file: string;
  str(v: unknown, where: string): string;
  json(v: unknown, where: string): unknown;
  problem(where: string, message: string): void;
}

export interface ProvisionedReceiver {
  contactPoint: string;
  uid: string;
  type: string;
  settings: Record<string, unknown>;
}

export interface Notifications {
  receivers: ProvisionedReceiver[];
  /** Names defined by `{{ define "..." }}` in provisioned templates. */
  templates: string[];
  /** Receivers named by the policy tree, with where. */
  routedTo: { receiver: string; file: string; where: string; matchers: string[][] }[];
  /** Templates used by receiver settings, with where. */
  usedTemplates: { name: string; file: string; where: string }[];
}

/** Grafana's own contact point in a fresh install (the default policy's receiver). */
export const GRAFANA_DEFAULT_RECEIVER = 'grafana-default-email';
const UID = /^[a-zA-Z0-9\-_]{1,40}$/;
const MATCH_OPS = ['=', '!=', '=~', '!~'];

const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v : []);

export function emptyNotifications(): Notifications {
  return { receivers: [], templates: [], routedTo: [], usedTemplates: [] };
}

/** Read one alerting file's `templates`, `contactPoints` and `policies` into `out`. */
export function readNotifications(r: ValueReader, doc: Record<string, unknown>, out: Notifications): void {
  list(doc.templates).forEach((t, i) => {
    const w = `templates[${i}]`;
    if (!r.str(t.name, `${w}.name`)) r.problem(`${w}.name`, 'a template needs a name');
    const text = typeof t.template === 'string' ? t.template : '';
    if (!text) r.problem(`${w}.template`, 'the template is empty');
    for (const [, name] of text.matchAll(/\{\{-?\s*define\s+"([^"]+)"/g)) out.templates.push(name);
  });

  list(doc.contactPoints).forEach((cp, i) => {
    const w = `contactPoints[${i}]`;
    const name = r.str(cp.name, `${w}.name`);
    if (!name) r.problem(`${w}.name`, 'a contact point needs a name');
    list(cp.receivers).forEach((rc, j) => {
      const rw = `${w}.receivers[${j}]`;
      const uid = r.str(rc.uid, `${rw}.uid`);
      const type = r.str(rc.type, `${rw}.type`);
      if (uid && !UID.test(uid)) r.problem(`${rw}.uid`, `uid "${uid}" is not 1-40 of [A-Za-z0-9_-]`);
      if (!type) r.problem(`${rw}.type`, 'a receiver needs a type');
      const settings = (r.json(rc.settings ?? {}, `${rw}.settings`) ?? {}) as Record<string, unknown>;
      if (type === 'webhook') {
        const url = String(settings.url ?? '');
        if (!/^https?:\/\/[^/]+/.test(url))
          r.problem(`${rw}.settings.url`, `"${url}" is not a webhook URL after expansion`);
        if ('authorization_credentials' in settings && !settings.authorization_scheme)
          r.problem(`${rw}.settings.authorization_scheme`, 'credentials without a scheme');
      }
      for (const [k, v] of Object.entries(settings))
        if (typeof v === 'string')
          for (const [, t] of v.matchAll(/\{\{-?\s*template\s+"([^"]+)"/g))
            out.usedTemplates.push({ name: t, file: r.file, where: `${rw}.settings.${k}` });
      out.receivers.push({ contactPoint: name, uid, type, settings });
    });
    if (list(cp.receivers).length === 0)
      r.problem(`${w}.receivers`, `contact point ${name} has no receivers`);
  });

  const route = (p: Record<string, unknown>, w: string) => {
    const receiver = r.str(p.receiver, `${w}.receiver`);
    const matchers = list(p.object_matchers).map((m) => (Array.isArray(m) ? m.map(String) : []));
    matchers.forEach((m, k) => {
      if (m.length !== 3 || !MATCH_OPS.includes(m[1]))
        r.problem(
          `${w}.object_matchers[${k}]`,
          `${JSON.stringify(m)} is not [label, ${MATCH_OPS.join('|')}, value]`
        );
    });
    if (receiver) out.routedTo.push({ receiver, file: r.file, where: `${w}.receiver`, matchers });
    list(p.routes).forEach((c, k) => route(c, `${w}.routes[${k}]`));
  };
  list(doc.policies).forEach((p, i) => {
    if (!p.receiver) r.problem(`policies[${i}].receiver`, 'the root policy needs a receiver');
    route(p, `policies[${i}]`);
  });
}

/** Cross references across every alerting file. */
export function checkNotifications(n: Notifications): Problem[] {
  const problems: Problem[] = [];
  const names = new Set([GRAFANA_DEFAULT_RECEIVER, ...n.receivers.map((r) => r.contactPoint)]);
  for (const r of n.routedTo)
    if (!names.has(r.receiver))
      problems.push({
        file: r.file,
        where: r.where,
        message: `receiver "${r.receiver}" is not a provisioned contact point`,
      });
  for (const t of n.usedTemplates)
    if (!n.templates.includes(t.name))
      problems.push({
        file: t.file,
        where: t.where,
        message: `template "${t.name}" is not defined in a provisioned template`,
      });
  return problems;
}
