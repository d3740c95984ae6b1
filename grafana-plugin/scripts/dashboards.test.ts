import { readFileSync } from 'fs';
import { join } from 'path';
import { casefileDashboard, dashboardFile } from './dashboards';

describe('provisioned dashboard', () => {
  it('is up to date with the schema builders (run gen:dashboards)', () => {
    const committed = readFileSync(
      join(__dirname, '../../provisioning/grafana/dashboards/casefile-forensics.json'),
      'utf8'
    );
    expect(committed).toBe(dashboardFile());
  });

  it('uses the nested Forensic timeline panel on the Casefile Loki', () => {
    const d = casefileDashboard();
    expect(d.panels[0]).toMatchObject({
      type: 'casefile-forensictimeline-panel',
      targets: [{ expr: '{service_namespace="casefile"}' }],
    });
    expect(d.panels[2].targets[0].expr).toBe(
      '{service_namespace="casefile"} | casefile_event_type=~"runtime\\\\.audit|runtime\\\\.action"'
    );
  });
});
