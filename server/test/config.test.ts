/** Config resolution: override -> flag -> env -> YAML file -> default, with clear errors. */
import { test } from 'node:test';
import { deepEqual, equal, match, throws } from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, LEGACY_SCOPES, loadConfig, redactedConfig } from '../src/config/config';

const yamlFile = (text: string) => {
  const p = join(mkdtempSync(join(tmpdir(), 'casefile-cfg-')), 'server.yaml');
  writeFileSync(p, text);
  return p;
};

test('defaults', () => {
  const c = loadConfig({ env: {} });
  equal(c.port, 8600);
  equal(c.maxSnapshots, 100);
  equal(c.lokiUrl, 'http://127.0.0.1:3100');
  equal(c.otlpUrl, 'http://127.0.0.1:3100/otlp/v1/logs');
  deepEqual(c.tokens, []);
  equal(c.postgresDsn, undefined);
});

test('flag beats env beats file beats default; explicit overrides beat all', () => {
  const file = yamlFile(
    'maxSnapshots: 10\nport: 9000\nlokiUrl: http://loki:3100\ntokens:\n  - {name: grafana, token: file-token-123}\n'
  );
  const env = {
    CASEFILE_SERVER_CONFIG: file,
    CASEFILE_SERVER_MAX_SNAPSHOTS: '20',
    CASEFILE_SERVER_PORT: '9100',
  };
  const c = loadConfig({ env, argv: ['--max-snapshots=30'] });
  equal(c.maxSnapshots, 30);
  equal(c.port, 9100);
  equal(c.lokiUrl, 'http://loki:3100');
  equal(c.otlpUrl, 'http://loki:3100/otlp/v1/logs');
  deepEqual(c.tokens, [
    { name: 'grafana', token: 'file-token-123', scopes: [...LEGACY_SCOPES], legacy: true },
  ]);
  equal(
    loadConfig({ env, argv: ['--max-snapshots', '31'], overrides: { maxSnapshots: 40 } }).maxSnapshots,
    40
  );
  equal(
    loadConfig({ env: { CASEFILE_SERVER_MAX_SNAPSHOTS: '20' }, argv: ['--config', file] }).maxSnapshots,
    20
  );
});

test('tokens from env: name:scope+scope:secret, and the old name:secret with the legacy scopes; secrets redacted', () => {
  const c = loadConfig({
    env: {
      CASEFILE_SERVER_TOKENS:
        'grafana:abcdefgh1234, ci:zyxwvuts:with-colon, app:read+pin+admin+grafana:s3cret-one, hooks:webhook:w3bhook-secret, bot:read:r:e:a:d:1',
      CASEFILE_SERVER_POSTGRES_DSN: 'postgresql://u:pw@h/db',
    },
  });
  deepEqual(c.tokens, [
    { name: 'grafana', token: 'abcdefgh1234', scopes: [...LEGACY_SCOPES], legacy: true },
    { name: 'ci', token: 'zyxwvuts:with-colon', scopes: [...LEGACY_SCOPES], legacy: true },
    { name: 'app', token: 's3cret-one', scopes: ['read', 'pin', 'admin', 'grafana'], legacy: false },
    { name: 'hooks', token: 'w3bhook-secret', scopes: ['webhook'], legacy: false },
    { name: 'bot', token: 'r:e:a:d:1', scopes: ['read'], legacy: false },
  ]);
  const r = JSON.stringify(redactedConfig(c));
  equal(r.includes('abcdefgh1234') || r.includes('s3cret-one') || r.includes('pw@h'), false);
  match(r, /grafana/);
  match(r, /webhook/);
  const y = loadConfig({
    env: {},
    argv: [
      '--config',
      yamlFile('tokens:\n  - {name: a, token: aaaaaaaa1, scopes: [read]}\n  - {name: b, token: bbbbbbbb1}\n'),
    ],
  });
  deepEqual(
    y.tokens.map((t) => [t.name, t.scopes.join('+')]),
    [
      ['a', 'read'],
      ['b', LEGACY_SCOPES.join('+')],
    ]
  );
});

test('token scopes are checked: unknown scopes, a webhook token with more, the same secret twice', () => {
  throws(
    () =>
      loadConfig({
        env: {},
        argv: ['--config', yamlFile('tokens:\n  - {name: a, token: aaaaaaaa1, scopes: [root]}\n')],
      }),
    /scopes must be some of/
  );
  throws(
    () => loadConfig({ env: { CASEFILE_SERVER_TOKENS: 'h:webhook+read:secret-123' } }),
    /webhook scope alone/
  );
  throws(
    () => loadConfig({ env: { CASEFILE_SERVER_TOKENS: 'a:read:same-secret,b:pin:same-secret' } }),
    /same secret/
  );
});

test('bad values are errors naming their source, never silent defaults', () => {
  throws(
    () => loadConfig({ env: { CASEFILE_SERVER_PORT: '80x' } }),
    (e: Error) => e instanceof ConfigError && /CASEFILE_SERVER_PORT/.test(e.message)
  );
  throws(() => loadConfig({ env: {}, argv: ['--no-such=1'] }), /unknown flag --no-such/);
  throws(
    () => loadConfig({ env: {}, argv: ['--config', yamlFile('maxSnapshot: 3\n')] }),
    /unknown key maxSnapshot/
  );
  throws(() => loadConfig({ env: { CASEFILE_SERVER_TOKENS: 'short:abc' } }), /at least 8/);
  throws(() => loadConfig({ env: { CASEFILE_SERVER_MAX_SNAPSHOTS: '0' } }), /at least 1/);
  throws(() => loadConfig({ env: {}, argv: ['--port'] }), /needs a value/);
});
