/**
 * Write the alert rule files (Loki ruler + Grafana-managed) under provisioning/.
 *   npx tsx collector/src/audit/gen-alert-rules.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { alertRuleFiles } from './alert-rules';

const root = resolve(import.meta.dirname, '../../..');
for (const [rel, text] of Object.entries(alertRuleFiles())) {
  mkdirSync(dirname(resolve(root, rel)), { recursive: true });
  writeFileSync(resolve(root, rel), text);
  console.log(`wrote ${rel}`);
}
