import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { dashboardCountQuery } from '@casefile/schema';
import { AUTOPIN_PATH, SEVERITIES, alertRuleFiles } from '../src/audit/alert-rules';
import { RULE_LIST } from '../src/audit/rules';

const root = resolve(import.meta.dirname, '../..');
const files = alertRuleFiles();
const ruler = parse(files['provisioning/loki/rules/fake/casefile-runtime.yaml']);
const grafana = parse(files['provisioning/alerting/casefile-runtime.yaml']);
const autopin = parse(files['provisioning/alerting/casefile-autopin.yaml']);

test('committed alert rule files are what the generator writes (run collector/src/audit/gen-alert-rules.ts)', () => {
  for (const [rel, text] of Object.entries(files))
    assert.equal(readFileSync(resolve(root, rel), 'utf8'), text, `${rel} is stale`);
});

test("alert LogQL comes from schema's builder, exactly", () => {
  assert.equal(
    dashboardCountQuery(
      ['attackType', 'host'],
      { types: ['runtime.audit'], equals: { severity: 'high' } },
      '1m'
    ),
    'sum by (casefile_audit_attack_type, host_name) (count_over_time({service_namespace="casefile"} | casefile_event_type="runtime.audit" | casefile_audit_severity="high" [1m]))'
  );
  assert.match(
    ruler.groups[0].rules[0].expr,
    /^sum by \(casefile_audit_attack_type, .*casefile_event_type="runtime\.audit" \[1m\]\)\) > 0$/
  );
  assert.equal(grafana.apiVersion, 1);
  assert.throws(() => dashboardCountQuery(['attackType'], {}, '1m; drop'), /not a LogQL duration/);
});

test('Grafana-managed rules: one per severity the catalogue uses, labelled with it and with the audit fields', () => {
  const used = new Set(RULE_LIST.map((r) => r.severity));
  assert.deepEqual(
    [...SEVERITIES].sort(),
    [...used].sort(),
    'a severity no rule has would be an alert that never fires'
  );
  const rules = grafana.groups[0].rules as {
    uid: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    data: { model: { expr?: string } }[];
  }[];
  for (const s of SEVERITIES) {
    const r = rules.find((x) => x.uid === `casefile-runtime-audit-${s}`);
    assert.ok(r, `a rule for ${s}`);
    assert.deepEqual(r.labels, { severity: s, casefile: 'runtime' });
    assert.ok(r.data[0].model.expr!.includes(`| casefile_audit_severity="${s}"`));
    for (const l of ['casefile_audit_attack_type', 'container_image_name', 'container_name', 'host_name'])
      assert.ok(r.data[0].model.expr!.includes(l), `${s}: ${l} is a label`);
    assert.equal(
      r.annotations.casefile_timeline,
      '/a/casefile-forensics-app/timeline?host={{ $labels.host_name }}&containerId={{ $labels.container_id }}'
    );
  }
});

test('the contact point posts to the server webhook with a Bearer token from the environment; runtime alerts route to it', () => {
  const [cp] = autopin.contactPoints;
  const [rcv] = cp.receivers;
  assert.equal(rcv.type, 'webhook');
  assert.equal(rcv.settings.url, `\${CASEFILE_SERVER_URL}${AUTOPIN_PATH}`);
  assert.equal(rcv.settings.authorization_scheme, 'Bearer');
  assert.equal(rcv.settings.authorization_credentials, '${CASEFILE_WEBHOOK_TOKEN}');
  assert.match(rcv.settings.message, /\{\{ template "casefile\.timeline" \. \}\}/);
  assert.match(autopin.templates[0].template, /\{\{ define "casefile\.timeline" \}\}/);
  const route = autopin.policies[0].routes[0];
  assert.equal(route.receiver, cp.name);
  assert.deepEqual(route.object_matchers, [['casefile', '=', 'runtime']]);
  assert.equal(route.continue, true);
  // The server's route is the one the contact point calls.
  assert.match(
    readFileSync(resolve(root, 'server/src/api/hook-routes.ts'), 'utf8'),
    new RegExp(`'${AUTOPIN_PATH.replace(/\//g, '\\/')}'`)
  );
});
