/**
 * The provisioned "Casefile forensics" dashboard, built from schema's LogQL
 * builders so no query is hand-written. `gen-dashboards.ts` writes it to
 * provisioning/grafana/dashboards/; a Jest test fails when that copy is stale.
 */
import { EVENT_TYPES, EVENT_TYPE_LABEL, countByTypeQuery, eventsQuery } from '@casefile/schema';
import pluginJson from '../src/panels/forensic-timeline/plugin.json';

const LOKI = { type: 'loki', uid: 'casefile-loki' };

const logQuery = (expr: string) => ({
  refId: 'A',
  datasource: LOKI,
  expr,
  queryType: 'range',
  maxLines: 5000,
});

/** The dashboard JSON (Grafana schemaVersion 41). */
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
    links: [{ title: 'Casefile app', type: 'link', url: '/a/casefile-forensics-app/timeline', icon: 'apps' }],
    panels: [
      {
        id: 1,
        type: pluginJson.id,
        title: 'Forensic timeline',
        gridPos: { x: 0, y: 0, w: 24, h: 16 },
        datasource: LOKI,
        targets: [logQuery(eventsQuery({}))],
      },
      {
        id: 2,
        type: 'timeseries',
        title: 'Events per type',
        gridPos: { x: 0, y: 16, w: 12, h: 8 },
        datasource: LOKI,
        targets: [
          {
            refId: 'A',
            datasource: LOKI,
            expr: countByTypeQuery({}, '1m'),
            queryType: 'range',
            legendFormat: `{{${EVENT_TYPE_LABEL}}}`,
          },
        ],
        fieldConfig: {
          defaults: { custom: { drawStyle: 'bars', stacking: { mode: 'normal' }, fillOpacity: 80 } },
          overrides: Object.entries(EVENT_TYPES).map(([type, t]) => ({
            matcher: { id: 'byName', options: type },
            properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: t.color } }],
          })),
        },
      },
      {
        id: 3,
        type: 'logs',
        title: 'Runtime audits',
        gridPos: { x: 12, y: 16, w: 12, h: 8 },
        datasource: LOKI,
        targets: [logQuery(eventsQuery({ types: ['runtime.audit', 'runtime.action'] }))],
        options: { showTime: true, wrapLogMessage: true, sortOrder: 'Descending' },
      },
      {
        id: 4,
        type: 'logs',
        title: 'Host logins and activity',
        gridPos: { x: 0, y: 24, w: 24, h: 8 },
        datasource: LOKI,
        targets: [logQuery(eventsQuery({ types: ['host.login', 'host.activity'] }))],
        options: { showTime: true, wrapLogMessage: true, sortOrder: 'Descending' },
      },
    ],
  };
}

/** The file's text as committed: two-space JSON and a final newline. */
export function dashboardFile(): string {
  return JSON.stringify(casefileDashboard(), null, 2) + '\n';
}
