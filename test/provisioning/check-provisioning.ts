#!/usr/bin/env -S node --import tsx
/**
 * `node --import tsx test/provisioning/check-provisioning.ts`: read provisioning/grafana and
 * provisioning/alerting (rules, contact points, templates, policies) as the Grafana of docker-compose.yml would, print what Grafana would
 * reject or expand to empty, exit 1 if anything. Variables set in this shell reach compose's
 * interpolation as they would with `docker compose up`.
 */
import { loadProvisioning } from './grafana-provisioning';

const p = loadProvisioning({ hostEnv: process.env });
for (const x of p.problems) console.log(`${x.file}${x.where ? ` ${x.where}` : ''}: ${x.message}`);
console.log(
  `${p.datasources.length} data source(s), ${p.apps.length} app(s), ${p.dashboards.length} dashboard(s), ` +
    `${p.alertRules.length} alert rule(s), ${p.notifications.receivers.length} contact point receiver(s): ` +
    `${p.problems.length} problem(s)`
);
process.exit(p.problems.length ? 1 : 0);
