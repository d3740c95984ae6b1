import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { countByFieldsQuery } from '@casefile/schema';
import { alertRuleFiles } from '../src/audit/alert-rules';

const root = resolve(import.meta.dirname, '../..');

test('committed alert rule files are what the generator writes (run collector/src/audit/gen-alert-rules.ts)', () => {
  for (const [rel, text] of Object.entries(alertRuleFiles())) {
    assert.equal(readFileSync(resolve(root, rel), 'utf8'), text, `${rel} is stale`);
  }
});

test("alert LogQL comes from schema's builder, exactly", () => {
  assert.equal(
    countByFieldsQuery(['attackType', 'host'], { types: ['runtime.audit'] }, '1m'),
    'sum by (casefile_audit_attack_type, host_name) (count_over_time({service_namespace="casefile"} | casefile_event_type="runtime.audit" [1m]))'
  );
  const files = alertRuleFiles();
  const ruler = parse(files['provisioning/loki/rules/fake/casefile-runtime.yaml']);
  assert.match(
    ruler.groups[0].rules[0].expr,
    /^sum by \(casefile_audit_attack_type, .*casefile_event_type="runtime\.audit" \[1m\]\)\) > 0$/
  );
  const grafana = parse(files['provisioning/alerting/casefile-runtime.yaml']);
  assert.equal(grafana.apiVersion, 1);
  assert.equal(grafana.groups[0].rules[0].data[0].model.expr + ' > 0', ruler.groups[0].rules[0].expr);
  assert.throws(() => countByFieldsQuery(['attackType'], {}, '1m; drop'), /not a LogQL duration/);
});
