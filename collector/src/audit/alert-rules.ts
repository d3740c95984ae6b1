/**
 * Alerting on runtime violations, as data: a Loki ruler rule group, the same
 * rules as Grafana-managed alert rules, and Grafana's contact point to the
 * server's auto-pin webhook with the notification policy that routes the
 * rules to it (Grafana's alerting file provisioning, apiVersion 1). The LogQL
 * comes from schema's builders; gen-alert-rules.ts writes the files under
 * provisioning/, and a test fails when the committed files are stale.
 */
import { dashboardCountQuery, type FIELDS } from '@casefile/schema';
import { stringify } from 'yaml';
import { RULE_LIST, type Severity } from './rules';

/** Uid of the Loki datasource the Grafana-managed rules query (provisioned with Grafana). */
export const LOKI_DATASOURCE_UID = 'casefile-loki';
/** The app's timeline page. */
const APP_TIMELINE = '/a/casefile-forensics-app/timeline';
/** The server's auto-pin webhook (server/src/api/hook-routes.ts). */
export const AUTOPIN_PATH = '/api/v1/hooks/grafana';
/** Name of the contact point and its notification template. */
export const AUTOPIN_RECEIVER = 'casefile-autopin';
export const TIMELINE_TEMPLATE = 'casefile.timeline';

interface AlertSpec {
  name: string;
  uid: string;
  title: string;
  expr: string;
  /** The `severity` label; the audit's own is `casefile_audit_severity`, from the query. */
  severity?: Severity;
  summary: string;
  description: string;
}

/**
 * An audit's fields that become the alert's labels: `sum by` keeps them, so each alert is one
 * container's one rule, and the server's webhook scopes its pin by them (host and container id).
 */
const AUDIT_LABELS = [
  'attackType',
  'severity',
  'ruleId',
  'containerId',
  'containerName',
  'imageName',
  'namespace',
  'pod',
  'host',
] as const satisfies readonly (keyof typeof FIELDS)[];

/** Severities the audit catalogue uses, worst first. */
export const SEVERITIES = (['critical', 'high', 'medium', 'low'] as const).filter((s) =>
  RULE_LIST.some((r) => r.severity === s)
);
const titleCase = (s: string) => s[0].toUpperCase() + s.slice(1);

/** Runtime audits of one severity, or of all. */
const audits = (severity?: Severity): AlertSpec => ({
  name: severity ? `CasefileRuntimeAudit${titleCase(severity)}` : 'CasefileRuntimeAudit',
  uid: severity ? `casefile-runtime-audit-${severity}` : 'casefile-runtime-audit',
  title: severity ? `Casefile runtime audit (${severity})` : 'Casefile runtime audit',
  expr: dashboardCountQuery(
    AUDIT_LABELS,
    { types: ['runtime.audit'], ...(severity ? { equals: { severity } } : {}) },
    '1m'
  ),
  severity,
  summary:
    'Runtime audit {{ $labels.casefile_audit_rule_id }} ({{ $labels.casefile_audit_attack_type }}) in {{ $labels.container_name }} on {{ $labels.host_name }}',
  description:
    '{{ $value }} runtime audit(s) of type {{ $labels.casefile_audit_attack_type }}, severity {{ $labels.casefile_audit_severity }}, image {{ $labels.container_image_name }}. Open the container in the Casefile app to see the timeline.',
});

/** Actions a runtime policy took (prevent, block). */
const ACTION: AlertSpec = {
  name: 'CasefileRuntimeActionTaken',
  uid: 'casefile-runtime-action',
  title: 'Casefile runtime action taken',
  expr: dashboardCountQuery(
    ['action', 'ruleId', 'containerId', 'containerName', 'host'],
    { types: ['runtime.action'] },
    '1m'
  ),
  severity: 'critical',
  summary:
    'Casefile took action {{ $labels.casefile_audit_action }} ({{ $labels.casefile_audit_rule_id }}) in {{ $labels.container_name }} on {{ $labels.host_name }}',
  description: 'A runtime policy killed a process (prevent) or stopped a container (block).',
};

/**
 * Grafana-managed: one rule per audit severity (each with its own `severity` label, to route,
 * pause or delay on its own), and one for actions.
 */
export const GRAFANA_ALERTS: readonly AlertSpec[] = [...SEVERITIES.map((s) => audits(s)), ACTION];

/**
 * Loki ruler: one rule for every audit; Alertmanager routes on the query's
 * `casefile_audit_severity` label (a static `severity` would need one rule per severity).
 */
export const LOKI_ALERTS: readonly AlertSpec[] = [audits(), ACTION];

/**
 * The app's timeline scoped to the alert's host and container. Host names and container ids
 * need no URL escaping (RFC 1123 names, hex), so only `{{ $labels.x }}` is used: what both
 * Grafana's and Loki's rule templates support. The time of the alert is not available to rule
 * templates; the notification template {@link TIMELINE_TEMPLATE} adds it from `.StartsAt`.
 */
const SCOPE_QUERY = 'host={{ $labels.host_name }}&containerId={{ $labels.container_id }}';

const labels = (a: AlertSpec) => ({ ...(a.severity ? { severity: a.severity } : {}), casefile: 'runtime' });
const annotations = (a: AlertSpec) => ({
  summary: a.summary,
  description: a.description,
  casefile_timeline: `${APP_TIMELINE}?${SCOPE_QUERY}`,
});

/** The Loki ruler rules file (Prometheus rule-group format). */
export function lokiRulerRules(): object {
  return {
    groups: [
      {
        name: 'casefile-runtime',
        rules: LOKI_ALERTS.map((a) => ({
          alert: a.name,
          expr: `${a.expr} > 0`,
          for: '0m',
          labels: labels(a),
          annotations: annotations(a),
        })),
      },
    ],
  };
}

/** The Grafana-managed alert rules file (Grafana alerting file provisioning, apiVersion 1). */
export function grafanaAlertRules(): object {
  return {
    apiVersion: 1,
    groups: [
      {
        orgId: 1,
        name: 'casefile-runtime',
        folder: 'Casefile',
        interval: '1m',
        rules: GRAFANA_ALERTS.map((a) => ({
          uid: a.uid,
          title: a.title,
          condition: 'C',
          data: [
            {
              refId: 'A',
              queryType: 'instant',
              relativeTimeRange: { from: 300, to: 0 },
              datasourceUid: LOKI_DATASOURCE_UID,
              model: { refId: 'A', expr: a.expr, queryType: 'instant', editorMode: 'code' },
            },
            {
              refId: 'B',
              datasourceUid: '__expr__',
              model: {
                refId: 'B',
                type: 'reduce',
                expression: 'A',
                reducer: 'last',
                settings: { mode: 'dropNN' },
              },
            },
            {
              refId: 'C',
              datasourceUid: '__expr__',
              model: {
                refId: 'C',
                type: 'threshold',
                expression: 'B',
                conditions: [{ evaluator: { type: 'gt', params: [0] } }],
              },
            },
          ],
          noDataState: 'OK',
          execErrState: 'Error',
          for: '0s',
          labels: labels(a),
          annotations: annotations(a),
          isPaused: false,
        })),
      },
    ],
  };
}

/**
 * The alert's moment in the app: `[startsAt - 15 min, startsAt + 5 min)` (the window the server's
 * webhook pins) as epoch ms, after the rule's scope annotation. Notification template data
 * (Grafana's ExtendedData): `.ExternalURL` ends in a slash; `.StartsAt` is a Go time.Time.
 */
const TIMELINE_TEMPLATE_TEXT = [
  `{{ define "${TIMELINE_TEMPLATE}" }}{{ range .Alerts.Firing }}`,
  '{{ .Labels.alertname }}: {{ $.ExternalURL }}{{ reReplaceAll "^/" "" .Annotations.casefile_timeline }}',
  '&from={{ (.StartsAt.Add -900000000000).UnixMilli }}&to={{ (.StartsAt.Add 300000000000).UnixMilli }}',
  '{{ "\\n" }}{{ end }}{{ end }}',
].join('');

/**
 * Grafana's contact point to the server's auto-pin webhook, its notification template and the
 * notification policy: runtime alerts (`casefile=runtime`) go to the webhook and on to the root's
 * receiver (Grafana's default email contact point unless you change it). The URL and the token are
 * Grafana's environment (docker-compose.yml sets both); the token needs the `webhook` scope alone.
 */
export function grafanaContactPoints(): object {
  return {
    apiVersion: 1,
    templates: [{ orgId: 1, name: 'casefile', template: TIMELINE_TEMPLATE_TEXT }],
    contactPoints: [
      {
        orgId: 1,
        name: AUTOPIN_RECEIVER,
        receivers: [
          {
            uid: AUTOPIN_RECEIVER,
            type: 'webhook',
            disableResolveMessage: true,
            settings: {
              url: `\${CASEFILE_SERVER_URL}${AUTOPIN_PATH}`,
              httpMethod: 'POST',
              authorization_scheme: 'Bearer',
              authorization_credentials: '${CASEFILE_WEBHOOK_TOKEN}',
              title: '{{ .CommonLabels.alertname }}',
              message: `{{ template "${TIMELINE_TEMPLATE}" . }}`,
            },
          },
        ],
      },
    ],
    policies: [
      {
        orgId: 1,
        receiver: 'grafana-default-email',
        group_by: ['grafana_folder', 'alertname'],
        routes: [
          {
            receiver: AUTOPIN_RECEIVER,
            object_matchers: [['casefile', '=', 'runtime']],
            // Pin every alert at once, and still notify the root's receiver.
            group_by: ['...'],
            group_wait: '0s',
            continue: true,
          },
        ],
      },
    ],
  };
}

const HEADER =
  "# Generated by collector/src/audit/gen-alert-rules.ts from schema's LogQL builders; do not edit.\n";

/** Repo-relative path -> file text. */
export function alertRuleFiles(): Record<string, string> {
  const yaml = (o: object) => HEADER + stringify(o, { lineWidth: 0 });
  return {
    'provisioning/loki/rules/fake/casefile-runtime.yaml': yaml(lokiRulerRules()),
    'provisioning/alerting/casefile-runtime.yaml': yaml(grafanaAlertRules()),
    'provisioning/alerting/casefile-autopin.yaml': yaml(grafanaContactPoints()),
  };
}
