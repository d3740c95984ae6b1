import { readFileSync } from 'fs';
import { join } from 'path';
import { parseState } from '../src/pages/Timeline/urlState';
import { DASHBOARDS, casefileDashboard, dashboardText } from './dashboards';
import { INVESTIGATION_VARIABLES, TIMELINE_LINK, investigationDashboard } from './dashboards-investigation';
import { overviewDashboard } from './dashboards-overview';

const GRAFANA_13_PANELS = ['timeseries', 'table', 'stat', 'barchart', 'piechart', 'logs'];
const panelsOf = (d: { panels: Array<{ type: string; title: string; targets: Array<{ expr: string }> }> }) =>
  d.panels;

describe('provisioned dashboards', () => {
  it.each(Object.entries(DASHBOARDS))(
    '%s is up to date with the schema builders (run gen:dashboards)',
    (file, build) => {
      const committed = readFileSync(join(__dirname, '../../provisioning/grafana/dashboards', file), 'utf8');
      expect(committed).toBe(dashboardText(build()));
    }
  );

  it('uses only panels Grafana 13 ships and the nested Forensic timeline panel, all on the Casefile Loki', () => {
    for (const build of Object.values(DASHBOARDS))
      for (const p of panelsOf(build())) {
        expect([...GRAFANA_13_PANELS, 'casefile-forensictimeline-panel']).toContain(p.type);
        expect(p.targets.length).toBeGreaterThan(0);
        for (const t of p.targets)
          expect(t).toMatchObject({ datasource: { type: 'loki', uid: 'casefile-loki' } });
      }
  });

  it('keeps the forensics dashboard on the timeline panel', () => {
    const d = casefileDashboard();
    expect(d.panels[0]).toMatchObject({
      type: 'casefile-forensictimeline-panel',
      targets: [{ expr: '{service_namespace="casefile"}' }],
    });
    expect(d.panels[2].targets[0].expr).toBe(
      '{service_namespace="casefile"} | casefile_event_type=~"runtime\\\\.audit|runtime\\\\.action"'
    );
  });

  it('has the overview panels the issue names', () => {
    expect(panelsOf(overviewDashboard()).map((p) => p.title)).toEqual([
      'Events by type',
      'Events by host',
      'Audits by severity',
      'Audits by attack type',
      'Audits by image',
      'Top processes',
      'New listening ports',
      'Outbound destinations',
      'Collector health: events per host and source',
      'Collector health: events per host in range',
    ]);
    expect(panelsOf(overviewDashboard())[4].targets[0].expr).toBe(
      'sum by (container_image_name) (count_over_time({service_namespace="casefile"} | casefile_event_type="runtime.audit" [$__range]))'
    );
  });

  it('scopes the investigation by its variables, each through the regex format in a raw string', () => {
    const d = investigationDashboard();
    expect(d.templating.list.map((v) => [v.name, v.type])).toEqual([
      ['host', 'query'],
      ['namespace', 'textbox'],
      ['pod', 'textbox'],
      ['container', 'textbox'],
    ]);
    expect(d.templating.list[0]).toMatchObject({ query: { type: 1, label: 'host_name' } });
    expect(d.panels[0].targets[0].expr).toBe(
      '{service_namespace="casefile", host_name=~`${host:regex}`} | container_name=~`.*${container:regex}.*` | k8s_namespace_name=~`.*${namespace:regex}.*` | k8s_pod_name=~`.*${pod:regex}.*`'
    );
  });

  it("links into the app's timeline with the scope and range the app reads", () => {
    const url = TIMELINE_LINK.replace('${__from}', '1796120000000')
      .replace('${__to}', '1796123600000')
      .replace('${host:percentencode}', encodeURIComponent('node 1'))
      .replace('${namespace:percentencode}', 'shop')
      .replace('${pod:percentencode}', '')
      .replace('${container:percentencode}', encodeURIComponent('web&x'));
    expect(url.startsWith('/a/casefile-forensics-app/timeline?')).toBe(true);
    const s = parseState(url.slice(url.indexOf('?')));
    expect(s.scope).toEqual({ host: 'node 1', namespace: 'shop', containerName: 'web&x' });
    expect([s.from, s.to, s.explicitRange]).toEqual(['1796120000000', '1796123600000', true]);
    // every variable reaches the link
    for (const v of Object.values(INVESTIGATION_VARIABLES))
      expect(TIMELINE_LINK).toContain(`\${${v}:percentencode}`);
  });
});
