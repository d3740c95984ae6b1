import { deepStrictEqual, equal, match, ok, throws } from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, parseBytes, parseDuration, parseKeyValues, usage } from '../src/config';

function yamlFile(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'casefile-config-')), 'collector.yaml');
  writeFileSync(f, text);
  return f;
}

test('defaults', () => {
  const { config, warnings } = loadConfig({ argv: [], env: {} });
  deepStrictEqual(warnings, []);
  equal(config.stateDir, '/var/lib/casefile');
  deepStrictEqual(config.sources.enabled, ['ebpf', 'procfs', 'runtime', 'host']);
  equal(config.sources.runtimeSocket, '/var/run/docker.sock');
  equal(config.models.learningPeriodMs, 3_600_000);
  equal(config.redact.enabled, true);
  equal(config.listen, '127.0.0.1:9464');
  equal(config.stdout, false);
  equal(config.otlp.endpoint, 'http://127.0.0.1:3100/otlp/v1/logs');
  equal(config.queue.maxBytes, 256 * 1024 * 1024);
  ok(config.host.name.length > 0);
  equal(config.synthetic, undefined);
});

test('resolution order: flag -> env -> YAML -> default, per setting', () => {
  const file = yamlFile(
    [
      'stateDir: /from/yaml',
      'listen: 0.0.0.0:1',
      'sources:',
      '  enabled: [procfs]',
      '  runtimeSocket: /yaml.sock',
      '  procfsIntervalMs: 2s',
      'models:',
      '  learningPeriodMs: 2h',
      'queue:',
      '  maxBytes: 1MiB',
    ].join('\n')
  );
  const { config } = loadConfig({
    argv: ['--config', file, '--state-dir=/from/flag', '--learning-period', '30m'],
    env: { CASEFILE_STATE_DIR: '/from/env', CASEFILE_LISTEN: '127.0.0.1:2', CASEFILE_SOURCES: 'ebpf,host' },
  });
  equal(config.stateDir, '/from/flag'); // flag beats env and YAML
  equal(config.listen, '127.0.0.1:2'); // env beats YAML
  deepStrictEqual(config.sources.enabled, ['ebpf', 'host']);
  equal(config.sources.runtimeSocket, '/yaml.sock'); // YAML beats default
  equal(config.sources.procfsIntervalMs, 2000);
  equal(config.models.learningPeriodMs, 30 * 60_000); // flag beats YAML
  equal(config.queue.maxBytes, 1024 * 1024);
  equal(config.queue.segmentBytes, 8 * 1024 * 1024); // default
});

test('standard OTEL_* variables: endpoint, headers, resource, service name, timeout', () => {
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://loki:3100/otlp',
    OTEL_EXPORTER_OTLP_HEADERS: 'X-Scope-OrgID=team%20a,Authorization=Bearer abc',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,k8s.cluster.name=c1',
    OTEL_SERVICE_NAME: 'node-agent',
    OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
  };
  const { config } = loadConfig({ env });
  equal(config.otlp.endpoint, 'http://loki:3100/otlp/v1/logs');
  deepStrictEqual(config.otlp.headers, { 'X-Scope-OrgID': 'team a', Authorization: 'Bearer abc' });
  deepStrictEqual(config.otlp.resourceAttributes, {
    'deployment.environment': 'prod',
    'k8s.cluster.name': 'c1',
  });
  equal(config.otlp.serviceName, 'node-agent');
  equal(config.otlp.timeoutMs, 2500);
  // The signal-specific variable is a full URL and wins over the generic one.
  const logs = loadConfig({
    env: { ...env, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'https://gw.example/custom/path' },
  });
  equal(logs.config.otlp.endpoint, 'https://gw.example/custom/path');
  // CASEFILE_* beats OTEL_*, the flag beats both.
  equal(
    loadConfig({ env: { ...env, CASEFILE_OTLP_ENDPOINT: 'http://a:1/otlp/v1/logs' } }).config.otlp.endpoint,
    'http://a:1/otlp/v1/logs'
  );
  equal(
    loadConfig({ argv: ['--otlp-endpoint', 'http://b:2/otlp'], env }).config.otlp.endpoint,
    'http://b:2/otlp/v1/logs'
  );
});

test('--stdout alone prints only; with an endpoint it prints and exports', () => {
  equal(loadConfig({ argv: ['--stdout'] }).config.otlp.endpoint, undefined);
  equal(
    loadConfig({ argv: ['--stdout', '--otlp-endpoint', 'http://l:3100/otlp'] }).config.otlp.endpoint,
    'http://l:3100/otlp/v1/logs'
  );
  equal(loadConfig({ argv: ['--stdout'], env: { CASEFILE_STDOUT: 'false' } }).config.stdout, true);
  equal(loadConfig({ env: { CASEFILE_STDOUT: 'yes' } }).config.stdout, true);
});

test('--no-redact, --policy, --runtime-socket, --sources none, DOCKER_HOST', () => {
  const { config } = loadConfig({
    argv: [
      '--no-redact',
      '--policy',
      '/p.yaml',
      '--runtime-socket',
      '/run/podman/podman.sock',
      '--sources',
      'none',
    ],
  });
  equal(config.redact.enabled, false);
  equal(config.models.policyFile, '/p.yaml');
  equal(config.sources.runtimeSocket, '/run/podman/podman.sock');
  deepStrictEqual(config.sources.enabled, []);
  equal(
    loadConfig({ env: { DOCKER_HOST: 'unix:///run/user/0/podman.sock' } }).config.sources.runtimeSocket,
    '/run/user/0/podman.sock'
  );
  const tcp = loadConfig({ env: { DOCKER_HOST: 'tcp://10.0.0.1:2375' } });
  equal(tcp.config.sources.runtimeSocket, '/var/run/docker.sock');
  match(tcp.warnings[0], /DOCKER_HOST.*unix/);
});

test('bad flags are errors; bad env and YAML values fall back with a warning', () => {
  throws(() => loadConfig({ argv: ['--nope'] }), ConfigError);
  throws(() => loadConfig({ argv: ['--sources', 'ebpf,kernel'] }), /unknown source kernel/);
  throws(() => loadConfig({ argv: ['--learning-period', 'soon'] }), /not a duration/);
  throws(() => loadConfig({ argv: ['--state-dir'] }), /needs a value/);
  throws(() => loadConfig({ argv: ['--config', '/does/not/exist.yaml'] }), /cannot read config file/);
  const file = yamlFile('models:\n  learningPeriodMs: forever\nbogus: 1\n');
  const { config, warnings } = loadConfig({
    argv: ['--config', file],
    env: { CASEFILE_QUEUE_MAX_BYTES: 'lots' },
  });
  equal(config.models.learningPeriodMs, 3_600_000);
  equal(config.queue.maxBytes, 256 * 1024 * 1024);
  equal(warnings.length, 3, warnings.join('\n'));
});

test('colleague sections: unknown YAML keys under sources/models pass through', () => {
  const file = yamlFile('sources:\n  ebpfLostWarn: 5\nmodels:\n  persist: false\n');
  const { config, warnings } = loadConfig({ argv: ['--config', file] });
  equal((config.sources as unknown as Record<string, unknown>).ebpfLostWarn, 5);
  equal((config.models as unknown as Record<string, unknown>).persist, false);
  deepStrictEqual(warnings, []);
});

test('hidden synthetic generator flags', () => {
  const { config } = loadConfig({
    argv: ['--synthetic-rate', '100', '--synthetic-count', '5', '--synthetic-run', 'r1'],
  });
  deepStrictEqual(config.synthetic, { rate: 100, count: 5, run: 'r1' });
  ok(!usage().includes('synthetic'));
});

test('--help text lists every required flag', () => {
  equal(loadConfig({ argv: ['--help'] }).help, true);
  const u = usage();
  for (const f of [
    '--config',
    '--stdout',
    '--otlp-endpoint',
    '--state-dir',
    '--runtime-socket',
    '--sources',
    '--learning-period',
    '--policy',
    '--listen',
    '--no-redact',
    '--help',
  ]) {
    ok(u.includes(f), f);
  }
});

test('durations, sizes, key-values', () => {
  equal(parseDuration('1h30m'), 5_400_000);
  equal(parseDuration('500ms'), 500);
  equal(parseDuration('7d'), 7 * 86_400_000);
  equal(parseDuration('250'), 250);
  throws(() => parseDuration('1x'));
  throws(() => parseDuration('h'));
  equal(parseBytes('256MiB'), 256 * 1024 ** 2);
  equal(parseBytes('4k'), 4096);
  equal(parseBytes(10), 10);
  throws(() => parseBytes('many'));
  deepStrictEqual(parseKeyValues('a=1, b=x%2Cy'), { a: '1', b: 'x,y' });
  throws(() => parseKeyValues('novalue'));
});
