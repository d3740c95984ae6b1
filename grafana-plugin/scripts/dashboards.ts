/**
 * The provisioned dashboards, built from schema's LogQL builders so no query
 * is hand-written: "Casefile forensics" (here), the overview and the
 * investigation dashboard. `gen-dashboards.ts` writes them to
 * provisioning/grafana/dashboards/; a Jest test fails when a copy is stale.
 */
import { countByTypeQuery, eventsQuery } from '@casefile/schema';
import { APP_TIMELINE, barsOverTime, logsPanel, timelinePanel } from './dashboards-panels';
import { investigationDashboard } from './dashboards-investigation';
import { overviewDashboard } from './dashboards-overview';

/** The "Casefile forensics" dashboard JSON (Grafana schemaVersion 41). */
export function casefileDashboard() {
  return {
    uid: 'casefile-forensics',
    title: 'Casefile forensics',
    tags: ['casefile', 'forensics'],
    timezone: 'utc',
    schemaVersion: 41,
    editable: true,
    time: { from: 'now-1h', to: 'now' },
    refresh: '',
    links: [{ title: 'Casefile app', type: 'link', url: APP_TIMELINE, icon: 'apps' }],
    panels: [
      timelinePanel(1, 'Forensic timeline', { x: 0, y: 0, w: 24, h: 16 }, eventsQuery({})),
      barsOverTime(2, 'Events per type', { x: 0, y: 16, w: 12, h: 8 }, countByTypeQuery({}, '1m'), ['type']),
      logsPanel(
        3,
        'Runtime audits',
        { x: 12, y: 16, w: 12, h: 8 },
        eventsQuery({ types: ['runtime.audit', 'runtime.action'] })
      ),
      logsPanel(
        4,
        'Host logins and activity',
        { x: 0, y: 24, w: 24, h: 8 },
        eventsQuery({ types: ['host.login', 'host.activity'] })
      ),
    ],
  };
}

/** Every provisioned dashboard by file name under provisioning/grafana/dashboards/. */
export const DASHBOARDS = {
  'casefile-forensics.json': casefileDashboard,
  'casefile-overview.json': overviewDashboard,
  'casefile-investigation.json': investigationDashboard,
} as const;

/** A dashboard file's text as committed: two-space JSON and a final newline. */
export function dashboardText(d: object): string {
  return JSON.stringify(d, null, 2) + '\n';
}
