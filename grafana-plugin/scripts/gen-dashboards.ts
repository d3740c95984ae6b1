// Writes the provisioned dashboards (see dashboards.ts). Run: npm -w @casefile/grafana-plugin run gen:dashboards
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dashboardFile } from './dashboards';

const out = fileURLToPath(
  new URL('../../provisioning/grafana/dashboards/casefile-forensics.json', import.meta.url)
);
writeFileSync(out, dashboardFile());
console.log(`wrote ${out}`);
