import { test } from 'node:test';
import { deepStrictEqual, equal, throws } from 'node:assert/strict';
import {
  DecodeError,
  FIELDS,
  FIELD_NAMES,
  compareEvents,
  decodeStreams,
  eventFromLabels,
  lokiName,
  toLogRecord,
  type CasefileEvent,
  type FieldSpec,
} from '../src';

const ev: CasefileEvent = {
  id: 'id-1',
  type: 'process.start',
  timeNs: '1700000000000000001',
  message: 'sh',
  pid: 7,
  executable: '/bin/sh',
  args: ['sh', '-c', 'a"b'],
  containerName: 'web',
};

// Loki's own mapping: attribute name -> label name, every value a string.
function asLokiLabels(e: CasefileEvent): Record<string, string> {
  const attrs = toLogRecord(e).attributes;
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [lokiName(k), String(v)]));
}

test('every field has a distinct Loki label name', () => {
  const names = FIELD_NAMES.map((f) => lokiName((FIELDS[f] as FieldSpec).attr));
  equal(new Set(names).size, names.length);
});

test('toLogRecord -> Loki labels -> eventFromLabels is the identity', () => {
  deepStrictEqual(eventFromLabels(asLokiLabels(ev), ev.timeNs, ev.message), ev);
  deepStrictEqual(toLogRecord(ev).timestamp, [1700000000, 1]);
});

test('decodeStreams merges categorize-labels metadata, sorts by time then id, and reports non-events', () => {
  const b = { ...ev, id: 'id-0' };
  const later = { ...ev, id: 'id-2', timeNs: '1700000000000000002' };
  const res = decodeStreams([
    {
      stream: { host_name: 'h1', service_namespace: 'casefile' },
      values: [[later.timeNs, 'sh', { structuredMetadata: asLokiLabels(later) }]],
    },
    { stream: { ...asLokiLabels(ev), host_name: 'h1' }, values: [[ev.timeNs, 'sh']] },
    {
      stream: { host_name: 'h1' },
      values: [
        [b.timeNs, 'sh', { structuredMetadata: asLokiLabels(b) }],
        ['9', 'stray line'],
      ],
    },
  ]);
  deepStrictEqual(
    res.events.map((e) => e.id),
    ['id-0', 'id-1', 'id-2']
  );
  equal(res.events[0].host, 'h1');
  equal(res.errors.length, 1);
  equal(res.errors[0] instanceof DecodeError, true);
});

test('unknown type is a DecodeError, not a crash', () => {
  throws(
    () => eventFromLabels({ casefile_event_id: 'x', casefile_event_type: 'bogus' }, '1', ''),
    DecodeError
  );
});

test('compareEvents orders decimal ns strings numerically', () => {
  const a = { ...ev, timeNs: '999' };
  const b = { ...ev, timeNs: '1000' };
  equal(compareEvents(a, b) < 0, true);
});
