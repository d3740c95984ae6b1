/**
 * "Casefile investigation": one host, narrowed by namespace, pod and container,
 * with links into the app's timeline for the same scope and time range.
 *
 * The host picker lists Loki's `host_name` label values (a stream label). Namespace,
 * pod and container are structured metadata, which Loki's label-values API does not
 * list (grafana/grafana#84909), so they are text boxes: a value narrows to the events
 * whose field contains it, empty keeps all. Every value enters LogQL through Grafana's
 * `regex` format inside a raw string (schema's dashboardEventsQuery), so it matches
 * literally whatever it holds.
 */
import {
  dashboardCountQuery,
  dashboardEventsQuery,
  streamSelector,
  type ScopeVariables,
} from '@casefile/schema';
import { APP_TIMELINE, LOKI, barsOverTime, countTable, logsPanel, timelinePanel } from './dashboards-panels';

/** Dashboard variable names, by scope key. */
export const INVESTIGATION_VARIABLES = {
  host: 'host',
  namespace: 'namespace',
  pod: 'pod',
  containerName: 'container',
} as const satisfies ScopeVariables;
const V = INVESTIGATION_VARIABLES;
const HOST_ONLY: ScopeVariables = { host: V.host };

/**
 * The app's timeline for the dashboard's scope and range: `${__from}`/`${__to}` are epoch ms (the
 * app reads digits as ms), each variable percent-encoded; an empty one is ignored by the app.
 */
export const TIMELINE_LINK =
  `${APP_TIMELINE}?from=\${__from}&to=\${__to}&host=\${${V.host}:percentencode}` +
  `&namespace=\${${V.namespace}:percentencode}&pod=\${${V.pod}:percentencode}` +
  `&containerName=\${${V.containerName}:percentencode}`;

const textbox = (name: string, label: string, description: string) => ({
  type: 'textbox',
  name,
  label,
  description,
  query: '',
  current: { text: '', value: '' },
  hide: 0,
});

/** The investigation dashboard JSON (Grafana schemaVersion 41). */
export function investigationDashboard() {
  const scoped = (f: Parameters<typeof dashboardEventsQuery>[0] = {}) =>
    dashboardEventsQuery({ ...f, variables: V });
  const toApp = { title: 'Open in the Casefile timeline', url: TIMELINE_LINK };
  return {
    uid: 'casefile-investigation',
    title: 'Casefile investigation',
    tags: ['casefile', 'forensics', 'investigation'],
    timezone: 'utc',
    schemaVersion: 41,
    editable: true,
    time: { from: 'now-6h', to: 'now' },
    refresh: '',
    templating: {
      list: [
        {
          type: 'query',
          name: V.host,
          label: 'Host',
          datasource: LOKI,
          // Loki's label values of host_name (LokiVariableQueryType.LabelValues = 1).
          query: {
            type: 1,
            label: 'host_name',
            stream: streamSelector(),
            refId: 'LokiVariableQueryEditor-VariableQuery',
          },
          definition: `label_values(${streamSelector()}, host_name)`,
          refresh: 2,
          sort: 1,
          multi: false,
          includeAll: false,
          hide: 0,
        },
        textbox(V.namespace, 'Namespace', 'Kubernetes namespace contains (empty: all)'),
        textbox(V.pod, 'Pod', 'Pod name contains (empty: all)'),
        textbox(V.containerName, 'Container', 'Container name contains (empty: all)'),
      ],
    },
    links: [{ ...toApp, type: 'link', icon: 'apps', tooltip: 'The same scope and range in the app' }],
    panels: [
      {
        ...timelinePanel(1, 'Forensic timeline', { x: 0, y: 0, w: 24, h: 14 }, scoped()),
        links: [toApp],
      },
      barsOverTime(
        2,
        'Events by type',
        { x: 0, y: 14, w: 12, h: 8 },
        dashboardCountQuery(['type'], { variables: V }, '$__auto'),
        ['type']
      ),
      {
        ...logsPanel(
          3,
          'Runtime audits and actions',
          { x: 12, y: 14, w: 12, h: 8 },
          scoped({ types: ['runtime.audit', 'runtime.action'] })
        ),
        links: [toApp],
      },
      logsPanel(
        4,
        'What ran: process starts and execs',
        { x: 0, y: 22, w: 12, h: 10 },
        scoped({ types: ['process.start', 'container.exec'] })
      ),
      logsPanel(
        5,
        'What the runtime model learned',
        { x: 12, y: 22, w: 12, h: 10 },
        scoped({ types: ['model.learned', 'model.state'] }),
        'Behaviour each image learned before it was audited, and when its model became active.'
      ),
      countTable(
        6,
        'Listening ports',
        { x: 0, y: 32, w: 12, h: 8 },
        dashboardCountQuery(
          ['listenPort', 'transport', 'executable', 'containerName'],
          { variables: V, types: ['port.listen'] },
          '$__range'
        ),
        ['listenPort', 'transport', 'executable', 'containerName'],
        50
      ),
      countTable(
        7,
        'Outbound connections',
        { x: 12, y: 32, w: 12, h: 8 },
        dashboardCountQuery(
          ['destAddress', 'destPort', 'executable', 'containerName'],
          { variables: V, types: ['network.connect'] },
          '$__range'
        ),
        ['destAddress', 'destPort', 'executable', 'containerName'],
        50
      ),
      logsPanel(
        8,
        'Host logins and activity (host only)',
        { x: 0, y: 40, w: 24, h: 8 },
        dashboardEventsQuery({ variables: HOST_ONLY, types: ['host.login', 'host.activity'] }),
        'SSH logins, sudo and su on the host: not narrowed by namespace, pod or container.'
      ),
    ],
  };
}
