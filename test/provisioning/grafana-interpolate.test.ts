/** Grafana's interpolation as the provisioned-query check reproduces it (./grafana-interpolate.ts). */
import { describe, it } from 'node:test';
import { equal, throws } from 'node:assert/strict';
import RE2 from 're2';
import { grafanaEscapeRegex, interpolate } from './grafana-interpolate';

const ctx = {
  variables: { host: 'node-1.example', pod: 'web-7d9c8(x)', empty: '' },
  step: '15s',
  range: '3600s',
};

describe("Grafana's interpolation of dashboard queries", () => {
  it('regex-escapes with the regex format, keeps raw values, fills the range variables', () => {
    equal(interpolate('{h=~`${host:regex}`}', ctx), '{h=~`node-1\\.example`}');
    equal(interpolate('| p=~`.*${pod:regex}.*` [$__auto]', ctx), '| p=~`.*web-7d9c8\\(x\\).*` [15s]');
    equal(
      interpolate('$host ${host} ${host:raw} [$__range] [$__interval]', ctx),
      'node-1.example node-1.example node-1.example [3600s] [15s]'
    );
    equal(interpolate('| c=~`.*${empty:regex}.*`', ctx), '| c=~`.*.*`');
  });

  it('a regex-escaped value matches itself literally in RE2, whatever it holds', () => {
    for (const v of ['a.b', 'x(1)|y', '[z]{2}^$', 'back\\slash', 'sl/ash', 'pl+us*?'])
      equal(new RE2(`^(?:${grafanaEscapeRegex(v)})$`).test(v), true, v);
    equal(new RE2(`^(?:${grafanaEscapeRegex('a.b')})$`).test('axb'), false);
  });

  it('refuses what it does not model', () => {
    throws(() => interpolate('${nope:regex}', ctx), /no variable nope/);
    throws(() => interpolate('${host:json}', ctx), /format json is not modelled/);
    throws(() => interpolate('[${__range:raw}]', ctx), /format on __range/);
  });
});
