/**
 * The provisioning check: the repository's provisioning/grafana and provisioning/alerting
 * as the Grafana of docker-compose.yml reads them, and the mistakes the check must catch
 * (v0.1.0's `${VAR:-default}` files among them), on copies of the real files.
 */
import { describe, it } from 'node:test';
import { deepEqual, equal, match, ok, throws } from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeGrafana, composeInterpolate, REPO_ROOT } from './compose-grafana';
import { expandValue } from './grafana-expand';
import { loadProvisioning, type Problem } from './grafana-provisioning';

/** A copy of everything the check reads, to break on purpose. */
function copyRepo(): string {
  const root = mkdtempSync(join(tmpdir(), 'casefile-provisioning-'));
  for (const p of [
    'docker-compose.yml',
    'provisioning/grafana',
    'provisioning/alerting',
    'grafana-plugin/src/plugin.json',
  ])
    cpSync(join(REPO_ROOT, p), join(root, p), { recursive: true });
  cpSync(
    join(REPO_ROOT, 'grafana-plugin/src/panels/forensic-timeline/plugin.json'),
    join(root, 'grafana-plugin/src/panels/forensic-timeline/plugin.json')
  );
  return root;
}

function edit(root: string, file: string, from: string | RegExp, to: string) {
  const p = join(root, file);
  const before = readFileSync(p, 'utf8');
  const after = before.replace(from, to);
  ok(after !== before, `${file}: nothing replaced for ${from}`);
  writeFileSync(p, after);
}

const messages = (ps: Problem[]) => ps.map((p) => `${p.file} ${p.where}: ${p.message}`).join('\n');

describe('Grafana provisioning as Grafana 13 loads it', () => {
  it('the repository provisions Loki, the app, the dashboards, the alert rules and the contact point with nothing empty', () => {
    const p = loadProvisioning();
    equal(p.problems.length, 0, messages(p.problems));
    deepEqual(
      p.datasources.map((d) => [d.uid, d.type, d.url]),
      [['casefile-loki', 'loki', 'http://loki:3100']]
    );
    equal(p.apps[0].jsonData.serverUrl, 'http://server:8600');
    equal(p.apps[0].jsonData.lokiUid, 'casefile-loki');
    ok(p.apps[0].secureJsonData.serverToken.length > 0, 'the token is set');
    deepEqual(
      p.dashboards.map((d) => d.uid),
      ['casefile-forensics', 'casefile-investigation', 'casefile-overview']
    );
    deepEqual(p.alertRules.map((r) => r.uid).sort(), [
      'casefile-runtime-action',
      'casefile-runtime-audit-critical',
      'casefile-runtime-audit-high',
      'casefile-runtime-audit-medium',
    ]);
    // The auto-pin contact point as Grafana expands it: the server's webhook, the token from the environment.
    const [hook] = p.notifications.receivers;
    deepEqual(
      [hook.contactPoint, hook.type, hook.settings.url, hook.settings.authorization_credentials],
      ['casefile-autopin', 'webhook', 'http://server:8600/api/v1/hooks/grafana', 'set-by-the-user-too']
    );
    ok(p.notifications.routedTo.some((r) => r.receiver === 'casefile-autopin'));
    deepEqual(p.notifications.templates, ['casefile.timeline']);
  });

  it('catches a broken contact point: unset token, unknown receiver, undefined template', () => {
    const root = copyRepo();
    try {
      const f = 'provisioning/alerting/casefile-autopin.yaml';
      // A compose that lets the webhook token be empty (ours refuses to start without it).
      edit(
        root,
        'docker-compose.yml',
        /\$\{CASEFILE_WEBHOOK_TOKEN:\?[^}]*\}/g,
        '${CASEFILE_WEBHOOK_TOKEN:-}'
      );
      edit(root, f, '- receiver: casefile-autopin', '- receiver: casefile-autopinn');
      edit(root, f, 'template "casefile.timeline"', 'template "casefile.timelin"');
      edit(root, f, 'url: ${CASEFILE_SERVER_URL}', 'url: ${CASEFILE_SERVER_URI}');
      const text = messages(
        loadProvisioning({ root, hostEnv: { CASEFILE_TOKEN: 'set-by-the-user' } }).problems
      );
      for (const want of [
        /authorization_credentials: \$\{CASEFILE_WEBHOOK_TOKEN\}: CASEFILE_WEBHOOK_TOKEN is not set/,
        /receiver "casefile-autopinn" is not a provisioned contact point/,
        /template "casefile\.timelin" is not defined/,
        /settings\.url: "\/api\/v1\/hooks\/grafana" is not a webhook URL after expansion/,
      ])
        match(text, want);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("v0.1.0's ${VAR:-default} files expand the Loki URL and the server URL to empty", () => {
    const root = copyRepo();
    try {
      cpSync(
        join(import.meta.dirname, 'fixtures/loki.v0.1.0.yaml'),
        join(root, 'provisioning/grafana/datasources/loki.yaml')
      );
      cpSync(
        join(import.meta.dirname, 'fixtures/casefile-app.v0.1.0.yaml'),
        join(root, 'provisioning/grafana/plugins/casefile-app.yaml')
      );
      const p = loadProvisioning({ root });
      equal(p.datasources[0].url, '');
      equal(p.apps[0].jsonData.serverUrl, '');
      const text = messages(p.problems);
      match(
        text,
        /datasources\[0\]\.url: \$\{CASEFILE_LOKI_URL:-http:\/\/loki:3100\}: Grafana reads "CASEFILE_LOKI_URL:-http:\/\/loki:3100" as the variable name/
      );
      match(text, /apps\[0\]\.jsonData\.serverUrl: "" is not a server URL/);
      match(text, /jsonData\.serverUrl: empty after expansion; routes .* would send ""/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('catches broken references, unsigned ids, bad values and missing fields', () => {
    const root = copyRepo();
    try {
      edit(
        root,
        'provisioning/grafana/plugins/casefile-app.yaml',
        'lokiUid: casefile-loki',
        'lokiUid: other-loki'
      );
      edit(
        root,
        'provisioning/grafana/dashboards/casefile-forensics.json',
        '"uid": "casefile-loki"',
        '"uid": "gone"'
      );
      edit(root, 'provisioning/alerting/casefile-runtime.yaml', 'condition: C', 'condition: Z');
      edit(
        root,
        'provisioning/grafana/dashboards/casefile-investigation.json',
        /"name": "host",\n(\s*)"label": "Host",\n(\s*)"datasource": \{\n(\s*)"type": "loki",\n(\s*)"uid": "casefile-loki"/,
        '"name": "host",\n$1"label": "Host",\n$2"datasource": {\n$3"type": "loki",\n$4"uid": "no-loki"'
      );
      edit(
        root,
        'provisioning/alerting/casefile-runtime.yaml',
        'isPaused: false',
        'isPaused: false\n        dashboardUid: no-such-dashboard'
      );
      edit(
        root,
        'provisioning/alerting/casefile-runtime.yaml',
        'datasourceUid: casefile-loki',
        'datasourceUid: nope'
      );
      edit(root, 'provisioning/alerting/casefile-runtime.yaml', 'interval: 1m', 'interval: ${RULE_INTERVAL}');
      edit(root, 'provisioning/grafana/datasources/loki.yaml', 'isDefault: true', 'isDefault: ${DEFAULT}');
      edit(root, 'docker-compose.yml', ',casefile-forensictimeline-panel', '');
      edit(
        root,
        'provisioning/grafana/dashboards/casefile.yaml',
        'path: /etc/grafana/provisioning/dashboards',
        'path: /var/lib/dashboards'
      );
      const text = messages(loadProvisioning({ root }).problems);
      for (const want of [
        /jsonData\.lokiUid: "other-loki" is not the uid of a provisioned Loki data source/,
        /options\.path: \/var\/lib\/dashboards is not a folder mounted into the Grafana container/,
        /condition: condition "Z" is not a refId of this rule/,
        /dashboardUid: "no-such-dashboard" is not a provisioned dashboard uid/,
        /datasourceUid: "nope" is not a provisioned data source uid/,
        /interval: \$\{RULE_INTERVAL\}: RULE_INTERVAL is not set in Grafana's environment/,
        /interval: interval "" is not a duration/,
        /isDefault: "" is not a boolean; Grafana fails to parse the file/,
        /casefile-forensictimeline-panel is not listed; Grafana will not load it/,
      ])
        match(text, want);

      // The dashboard folder is fine again; its data source reference is not.
      edit(
        root,
        'provisioning/grafana/dashboards/casefile.yaml',
        'path: /var/lib/dashboards',
        'path: /etc/grafana/provisioning/dashboards'
      );
      const again = messages(loadProvisioning({ root }).problems);
      match(again, /datasource: data source uid "gone" is not provisioned/);
      match(again, /templating\.list\[0\] \$host\.datasource: data source uid "no-loki" is not provisioned/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a second default data source and a missing name are rejected', () => {
    const root = copyRepo();
    try {
      const extra = '\n  - uid: second\n    type: loki\n    url: http://b:3100\n    isDefault: true\n';
      writeFileSync(
        join(root, 'provisioning/grafana/datasources/loki.yaml'),
        readFileSync(join(root, 'provisioning/grafana/datasources/loki.yaml'), 'utf8') + extra
      );
      const text = messages(loadProvisioning({ root }).problems);
      match(text, /2 default data sources in org 1/);
      match(text, /datasources\[1\]\.name: a data source needs a name/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("Grafana's value expansion (values.go, expanders.go, os.ExpandEnv)", () => {
  const env = { A: 'a', URL: 'http://x:1', EMPTY: '' };
  const v = (s: string) => expandValue(s, env).value;
  const kinds = (s: string) => expandValue(s, env).problems.map((p) => p.kind);

  it('expands $X, ${X} and $__env{X}; $$ is a literal dollar', () => {
    equal(v('$A/${A}/$__env{A}'), 'a/a/a');
    equal(v('$$A and $${A}'), '$A and ${A}');
    equal(v('${URL}/api'), 'http://x:1/api');
    equal(v('cost: 5$'), 'cost: 5$');
    deepEqual(kinds('$A ${URL}'), []);
  });

  it('has no shell defaults: ${X:-d} and ${X-d} are variable names, so empty', () => {
    equal(v('${URL:-http://loki:3100}'), '');
    equal(v('${A-d}'), '');
    deepEqual(kinds('${URL:-http://loki:3100}'), ['bad-name']);
  });

  it('reports unset and empty variables, bad syntax and unknown expanders', () => {
    equal(v('x${NOPE}y'), 'xy');
    deepEqual(kinds('$NOPE'), ['unset']);
    deepEqual(kinds('${EMPTY}'), ['unset']);
    equal(v('a${}b'), 'ab');
    deepEqual(kinds('a${}b'), ['bad-syntax']);
    ok(kinds('$__vault{kv:x}').includes('unknown-expander'));
  });

  it('$__file{} reads a file trimmed and fails on a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'casefile-expand-'));
    try {
      writeFileSync(join(dir, 'token'), '  s3cret\n');
      equal(v(`Bearer $__file{${join(dir, 'token')}}`), 'Bearer s3cret');
      deepEqual(kinds(`$__file{${join(dir, 'missing')}}`), ['missing-file']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("docker-compose.yml's Grafana", () => {
  it('sets the variables provisioning uses, allows both unsigned ids and mounts every folder', () => {
    const g = composeGrafana({ CASEFILE_TOKEN: 't0k', CASEFILE_WEBHOOK_TOKEN: 'w3bh00k' });
    equal(g.env.CASEFILE_WEBHOOK_TOKEN, 'w3bh00k');
    throws(
      () => composeGrafana({ CASEFILE_TOKEN: 't0k' }),
      /CASEFILE_WEBHOOK_TOKEN is required/,
      'no default webhook token'
    );
    equal(g.env.CASEFILE_LOKI_URL, 'http://loki:3100');
    equal(g.env.CASEFILE_SERVER_URL, 'http://server:8600');
    equal(g.env.CASEFILE_TOKEN, 't0k');
    deepEqual(g.allowUnsigned.sort(), ['casefile-forensics-app', 'casefile-forensictimeline-panel']);
    // No default token: without CASEFILE_TOKEN compose refuses, as it does for the server.
    throws(() => composeGrafana({ CASEFILE_WEBHOOK_TOKEN: 'w3bh00k' }), /CASEFILE_TOKEN is required/);
  });

  it("compose's own interpolation supports defaults (Grafana's does not)", () => {
    equal(composeInterpolate('${X:-d}', {}), 'd');
    equal(composeInterpolate('${X:-d}', { X: '' }), 'd');
    equal(composeInterpolate('${X-d}', { X: '' }), '');
    equal(composeInterpolate('$$X ${X}', { X: '1' }), '$X 1');
  });
});
