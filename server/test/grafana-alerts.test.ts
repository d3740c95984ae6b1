/** The pure webhook mapping, on the payload shape of Grafana's webhook contact point documentation. */
import { test } from 'node:test';
import { deepEqual, equal, throws } from 'node:assert/strict';
import { alertPins, scopeFromLabels, type GrafanaWebhookPayload } from '../src/hooks/grafana-alerts';

const PAYLOAD: GrafanaWebhookPayload & Record<string, unknown> = {
  receiver: 'My Super Webhook',
  status: 'firing',
  orgId: 1,
  alerts: [
    {
      status: 'firing',
      labels: {
        alertname: 'Unexpected process',
        k8s_pod_name: 'payments-api-7d9',
        'k8s.namespace.name': 'payments',
        team: 'blue',
      },
      annotations: { description: 'nc started', summary: 'Unexpected process in payments-api' },
      startsAt: '2021-10-12T09:51:03.157076+02:00',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'https://play.grafana.org/alerting/1afz29v7z/edit',
      fingerprint: 'c6eadffa33fcdf37',
      values: { B: 44.2, C: 1 },
    },
    {
      status: 'resolved',
      labels: { alertname: 'Old', container_name: 'x' },
      annotations: {},
      startsAt: '2021-10-12T09:56:03Z',
      fingerprint: 'bc97ff14869b13e3',
    },
  ],
};

// "Now" for these payloads: a day after their alerts started.
const BOUNDS = {
  nowMs: Date.parse('2021-10-13T10:00:00Z'),
  maxAgeSeconds: 30 * 86_400,
  maxFutureMs: 86_400_000,
};

test('one pin per firing alert, window around startsAt, scope from labels', () => {
  const pins = alertPins(PAYLOAD, 600, 60, BOUNDS);
  equal(pins.length, 1);
  const startsNs = BigInt(Date.parse('2021-10-12T07:51:03.157Z')) * 1_000_000n;
  deepEqual(pins[0], {
    key: 'c6eadffa33fcdf37@2021-10-12T07:51:03.157Z',
    request: {
      title: 'Alert: Unexpected process',
      scope: { pod: 'payments-api-7d9', namespace: 'payments' },
      fromNs: (startsNs - 600_000_000_000n).toString(),
      toNs: (startsNs + 60_000_000_000n).toString(),
      note: 'Unexpected process in payments-api',
    },
  });
});

test('labels in all three spellings map to the scope; others are ignored', () => {
  deepEqual(
    scopeFromLabels({
      host_name: 'n1',
      'container.id': 'abc',
      containerName: 'web',
      container_image_name: 'img:1',
      zone: 'eu',
    }),
    {
      host: 'n1',
      containerId: 'abc',
      containerName: 'web',
      imageName: 'img:1',
    }
  );
});

test('the same alert repeated gives the same key; a new firing (startsAt) gives a new one; no fingerprint hashes labels', () => {
  const a = alertPins(PAYLOAD, 1, 1, BOUNDS)[0].key;
  equal(alertPins(structuredClone(PAYLOAD), 1, 1, BOUNDS)[0].key, a);
  const later = structuredClone(PAYLOAD);
  later.alerts[0].startsAt = '2021-10-12T10:51:03Z';
  equal(alertPins(later, 1, 1, BOUNDS)[0].key === a, false);
  const noFp = {
    alerts: [{ status: 'firing' as const, labels: { b: '2', a: '1' }, startsAt: '2021-10-12T09:56:03Z' }],
  };
  const noFp2 = {
    alerts: [{ status: 'firing' as const, labels: { a: '1', b: '2' }, startsAt: '2021-10-12T09:56:03Z' }],
  };
  equal(alertPins(noFp, 1, 1, BOUNDS)[0].key, alertPins(noFp2, 1, 1, BOUNDS)[0].key);
  throws(
    () => alertPins({ alerts: [{ status: 'firing', labels: {}, startsAt: 'yesterday' }] }, 1, 1, BOUNDS),
    /startsAt/
  );
});

test('startsAt must be RFC 3339 and within what Loki holds: "1", a year-2001 time, the future and before the epoch are refused', () => {
  const one = (startsAt: string) => ({ alerts: [{ status: 'firing' as const, labels: {}, startsAt }] });
  throws(
    () => alertPins(one('1'), 900, 300, BOUNDS),
    /alerts\[0\]\.startsAt: expected an RFC 3339 time, got "1"/
  );
  throws(() => alertPins(one('2001-01-01T00:00:00Z'), 900, 300, BOUNDS), /alerts\[0\]\.startsAt: .* ago/);
  throws(() => alertPins(one('2031-01-01T00:00:00Z'), 900, 300, BOUNDS), /in the future/);
  throws(
    () => alertPins(one('1970-01-01T00:00:01Z'), 900, 300, { ...BOUNDS, nowMs: 5000 }),
    /alerts\[0\]\.startsAt/
  );
  equal(alertPins(one('2021-10-13T09:00:00Z'), 900, 300, BOUNDS).length, 1);
});
