/** The builders of provisioned dashboard panels and alert rules (schema/src/logql.ts). */
import { test } from 'node:test';
import { equal, throws } from 'node:assert/strict';
import { dashboardCountQuery, dashboardEventsQuery } from '../src';

const SEL = '{service_namespace="casefile"}';

test('dashboardEventsQuery: the host variable in the selector, the others as substrings, raw strings', () => {
  equal(dashboardEventsQuery(), SEL);
  equal(
    dashboardEventsQuery({
      variables: { host: 'host', namespace: 'ns', pod: 'pod', containerName: 'container' },
      types: ['process.start', 'container.exec'],
      search: 'nc "-l',
    }),
    '{service_namespace="casefile", host_name=~`${host:regex}`} |~ "(?i)nc \\"-l"' +
      ' | container_name=~`.*${container:regex}.*` | k8s_namespace_name=~`.*${ns:regex}.*`' +
      ' | k8s_pod_name=~`.*${pod:regex}.*` | casefile_event_type=~"process\\\\.start|container\\\\.exec"'
  );
});

test('dashboardEventsQuery: exact field values are quoted; variable names are checked', () => {
  equal(
    dashboardEventsQuery({ types: ['runtime.audit'], equals: { severity: 'crit"ical' } }),
    `${SEL} | casefile_event_type="runtime.audit" | casefile_audit_severity="crit\\"ical"`
  );
  throws(() => dashboardEventsQuery({ variables: { pod: 'pod}` | x' } }), /not a dashboard variable name/);
});

test('dashboardCountQuery: by fields or the event type, over a duration or a Grafana range variable', () => {
  equal(
    dashboardCountQuery(['type'], {}, '$__auto'),
    `sum by (casefile_event_type) (count_over_time(${SEL} [$__auto]))`
  );
  equal(
    dashboardCountQuery(['host', 'source'], { variables: { host: 'h' } }, '$__range'),
    'sum by (host_name, casefile_source) (count_over_time({service_namespace="casefile", host_name=~`${h:regex}`} [$__range]))'
  );
  equal(
    dashboardCountQuery(['listenPort'], { types: ['port.listen'] }, '5m'),
    `sum by (server_port) (count_over_time(${SEL} | casefile_event_type="port.listen" [5m]))`
  );
  throws(() => dashboardCountQuery(['host'], {}, '$__rate_interval'), /not a LogQL duration/);
  throws(() => dashboardCountQuery(['host'], {}, '1m]) or vector(1'), /not a LogQL duration/);
});
