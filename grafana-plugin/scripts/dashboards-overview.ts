/**
 * "Casefile overview": what happened across every host in the range. Events
 * by type and host, audits by image, attack type and severity, top
 * processes, new listening ports, outbound destinations, and collector
 * health as the collectors' own events show it (events per host and source:
 * a source or a host that goes quiet is a blind spot; the collectors' queue
 * and drop counters are Prometheus metrics on their /metrics, not in Loki).
 */
import { dashboardCountQuery, type DashboardFilter } from '@casefile/schema';
import { APP_TIMELINE, barsOverTime, countBars, countPie, countStat, countTable } from './dashboards-panels';

const AUDITS: DashboardFilter = { types: ['runtime.audit'] };
const over = dashboardCountQuery;

/** The overview dashboard JSON (Grafana schemaVersion 41). */
export function overviewDashboard() {
  return {
    uid: 'casefile-overview',
    title: 'Casefile overview',
    tags: ['casefile', 'forensics'],
    timezone: 'utc',
    schemaVersion: 41,
    editable: true,
    time: { from: 'now-6h', to: 'now' },
    refresh: '',
    links: [
      {
        title: 'Timeline in the Casefile app',
        type: 'link',
        url: `${APP_TIMELINE}?from=\${__from}&to=\${__to}`,
        icon: 'apps',
      },
      {
        title: 'Investigation',
        type: 'dashboards',
        tags: ['investigation'],
        asDropdown: false,
        keepTime: true,
      },
    ],
    panels: [
      barsOverTime(1, 'Events by type', { x: 0, y: 0, w: 12, h: 8 }, over(['type'], {}, '$__auto'), ['type']),
      barsOverTime(2, 'Events by host', { x: 12, y: 0, w: 12, h: 8 }, over(['host'], {}, '$__auto'), [
        'host',
      ]),
      countPie(3, 'Audits by severity', { x: 0, y: 8, w: 6, h: 8 }, over(['severity'], AUDITS, '$__range'), [
        'severity',
      ]),
      countPie(
        4,
        'Audits by attack type',
        { x: 6, y: 8, w: 6, h: 8 },
        over(['attackType'], AUDITS, '$__range'),
        ['attackType']
      ),
      countBars(5, 'Audits by image', { x: 12, y: 8, w: 12, h: 8 }, over(['imageName'], AUDITS, '$__range'), [
        'imageName',
      ]),
      countTable(
        6,
        'Top processes',
        { x: 0, y: 16, w: 8, h: 10 },
        over(['executable'], { types: ['process.start', 'container.exec'] }, '$__range'),
        ['executable'],
        20,
        'Executables started most often in the range (process starts and execs into containers).'
      ),
      countTable(
        7,
        'New listening ports',
        { x: 8, y: 16, w: 8, h: 10 },
        over(
          ['listenPort', 'transport', 'executable', 'containerName', 'host'],
          { types: ['port.listen'] },
          '$__range'
        ),
        ['listenPort', 'transport', 'executable', 'containerName', 'host'],
        50,
        'Listeners opened in the range: port, transport, program, container, host.'
      ),
      countTable(
        8,
        'Outbound destinations',
        { x: 16, y: 16, w: 8, h: 10 },
        over(['destAddress', 'destPort', 'destDomain'], { types: ['network.connect'] }, '$__range'),
        ['destAddress', 'destPort', 'destDomain'],
        50,
        'Where outbound connections went: address, port and the domain when it was resolved.'
      ),
      barsOverTime(
        9,
        'Collector health: events per host and source',
        { x: 0, y: 26, w: 16, h: 8 },
        over(['host', 'source'], {}, '$__auto'),
        ['host', 'source'],
        "Each collector source (ebpf, procfs, runtime, authlog) on each host: a gap is a blind spot. Queue depth and drops are on each collector's /metrics (casefile_*), not in Loki."
      ),
      countStat(
        10,
        'Collector health: events per host in range',
        { x: 16, y: 26, w: 8, h: 8 },
        over(['host'], {}, '$__range'),
        ['host'],
        'A host missing here sent nothing in the range: its collector is down or cannot reach Loki.'
      ),
    ],
  };
}
