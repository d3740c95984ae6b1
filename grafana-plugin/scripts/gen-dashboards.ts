// Writes the provisioned dashboards (see dashboards.ts). Run: npm -w @casefile/grafana-plugin run gen:dashboards
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS, dashboardText } from './dashboards';

for (const [file, build] of Object.entries(DASHBOARDS)) {
  const out = fileURLToPath(new URL(`../../provisioning/grafana/dashboards/${file}`, import.meta.url));
  writeFileSync(out, dashboardText(build()));
  console.log(`wrote ${out}`);
}
