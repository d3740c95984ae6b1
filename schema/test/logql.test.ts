import { test } from 'node:test';
import { equal, throws } from 'node:assert/strict';
import {
  checkDuration,
  countByTypeQuery,
  distinctValuesQuery,
  escapeRegex,
  eventByIdQuery,
  eventsQuery,
  quote,
  stepFor,
  streamSelector,
} from '../src';

const SEL = '{service_namespace="casefile"}';

test('quote escapes what would end or bend a LogQL string', () => {
  const cases: Array<[string, string]> = [
    ['plain', '"plain"'],
    ['a"b', '"a\\"b"'],
    ['back\\slash', '"back\\\\slash"'],
    ['`tick`', '"`tick`"'],
    ['new\nline\r\t', '"new\\nline\\r\\t"'],
    ['\u0000nul\u001b[31m\u007f', '"\\x00nul\\x1b[31m\\x7f"'],
    ['日本語 🧪', '"日本語 🧪"'],
    ['"} |= "x" or {job=~".+"}', '"\\"} |= \\"x\\" or {job=~\\".+\\"}"'],
    ['\ud800lone', '"\\ufffdlone"'],
  ];
  for (const [input, want] of cases) equal(quote(input), want, JSON.stringify(input));
});

test('escapeRegex makes RE2 metacharacters literal', () => {
  equal(escapeRegex('a.b*c+d?(e)|[f]{g}^h$\\i'), 'a\\.b\\*c\\+d\\?\\(e\\)\\|\\[f\\]\\{g\\}\\^h\\$\\\\i');
  equal(escapeRegex('no-meta_here 123'), 'no-meta_here 123');
});

test('eventsQuery: selector, search, scope and type filters as exact strings', () => {
  const cases: Array<[Parameters<typeof eventsQuery>[0], string]> = [
    [{}, SEL],
    [{ scope: { host: 'node-1' } }, '{service_namespace="casefile", host_name="node-1"}'],
    [{ scope: { host: 'n"}' } }, '{service_namespace="casefile", host_name="n\\"}"}'],
    [{ types: ['process.start'] }, `${SEL} | casefile_event_type="process.start"`],
    [
      { types: ['process.start', 'port.listen'] },
      `${SEL} | casefile_event_type=~"process\\\\.start|port\\\\.listen"`,
    ],
    [{ types: [] }, `${SEL} | casefile_event_type=""`],
    [{ search: 'nc -l' }, `${SEL} |~ "(?i)nc -l"`],
    [{ search: 'a.b"c\\' }, `${SEL} |~ "(?i)a\\\\.b\\"c\\\\\\\\"`],
    [
      { scope: { containerName: 'web', pod: 'p-1', containerId: 'abc' }, search: 'x' },
      `${SEL} |~ "(?i)x" | container_id="abc" | container_name="web" | k8s_pod_name="p-1"`,
    ],
  ];
  for (const [f, want] of cases) equal(eventsQuery(f), want, JSON.stringify(f));
});

test('all types selected adds no type filter', async () => {
  const { EVENT_TYPE_NAMES } = await import('../src');
  equal(eventsQuery({ types: EVENT_TYPE_NAMES }), SEL);
});

test('metric and lookup queries', () => {
  equal(countByTypeQuery({}, '1m'), `sum by (casefile_event_type) (count_over_time(${SEL} [1m]))`);
  equal(
    distinctValuesQuery('containerName', { scope: { host: 'h' } }, '6h'),
    'count by (container_name) (count_over_time({service_namespace="casefile", host_name="h"} [6h]))'
  );
  equal(eventByIdQuery('id"1'), `${SEL} | casefile_event_id="id\\"1"`);
});

test('durations are validated, never interpolated raw', () => {
  equal(checkDuration('1h30m'), '1h30m');
  throws(() => countByTypeQuery({}, '1m])) or vector(1'), /not a LogQL duration/);
  throws(() => checkDuration(''), /not a LogQL duration/);
});

test('stepFor picks a readable step for about 120 buckets', () => {
  equal(streamSelector(), SEL);
  equal(stepFor(60 * 60 * 1000), '30s');
  equal(stepFor(24 * 60 * 60 * 1000), '15m');
  equal(stepFor(1000), '1s');
  equal(stepFor(365 * 24 * 3600 * 1000), '4d');
});
