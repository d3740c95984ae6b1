/**
 * The provisioned Loki ruler rules fire on a runtime audit: the ruler (the
 * stand-in's, at 1 s evaluation) loads provisioning/loki/rules/fake/, the models
 * stage turns a miner's exec into an audit, OTLP ships it to Loki, and the alert
 * reaches a tiny HTTP server standing in for Alertmanager's v2 API. Against a
 * real Loki (LOKI_URL) its own ruler and Alertmanager are not ours to point, so
 * only Loki's view of the alert (/prometheus/api/v1/alerts) is checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { resourceAttributes, toLogRecord, type CasefileEvent } from '@casefile/schema';
import { startLoki, freePort, type Loki } from '../loki/loki-server';
import { ModelStage, createRuntimeActions } from '../../collector/src/models';
import { CONTAINER, execEvent } from '../../collector/test/models-fixtures';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

test('a runtime audit fires the provisioned Loki ruler alert', { timeout: 120_000 }, async () => {
  const received: AmAlert[] = [];
  const am = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method === 'POST' && req.url?.endsWith('/api/v2/alerts'))
        received.push(...(JSON.parse(body) as AmAlert[]));
      res.writeHead(200).end();
    });
  });
  let loki: Loki | undefined;
  const stateDir = mkdtempSync(join(tmpdir(), 'casefile-ruler-'));
  try {
    const amPort = await freePort();
    await new Promise<void>((r) => am.listen(amPort, '127.0.0.1', r));
    loki = await startLoki({ rulerInterval: '1s', alertmanagerUrl: `http://127.0.0.1:${amPort}` });
    const rules = await (await fetch(`${loki.url}/loki/api/v1/rules`)).text();
    assert.match(rules, /alert: CasefileRuntimeAudit/, 'the provisioned rules file is loaded');

    // The audit, made by the models stage from an exec as the eBPF source reports it.
    const stage = new ModelStage(
      { stateDir, models: { learningPeriodMs: 0 } },
      pino({ level: 'silent' }),
      createRuntimeActions()
    );
    const out: CasefileEvent[] = [];
    stage.process(
      execEvent(Date.now(), ['/usr/local/bin/xmrig', '-o', 'pool:3333'], { scope: CONTAINER }),
      (e) => out.push(e)
    );
    await stage.stop();
    assert.ok(out.some((e) => e.type === 'runtime.audit' && e.attackType === 'crypto_miner'));

    const provider = new LoggerProvider({
      resource: resourceFromAttributes(
        resourceAttributes({ serviceName: 'casefile-collector', host: 'node-1' })
      ),
      processors: [
        new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${loki.url}/otlp/v1/logs` }) }),
      ],
    });
    const logger = provider.getLogger('test');
    for (const e of out) logger.emit(toLogRecord(e));
    await provider.forceFlush();
    await provider.shutdown();

    const lokiUrl = loki.url;
    const firingInLoki = async () => {
      const alerts = (await (await fetch(`${lokiUrl}/prometheus/api/v1/alerts`)).json()) as {
        data: { alerts: { labels: Record<string, string>; state: string }[] };
      };
      return alerts.data.alerts.some(
        (a) => a.labels.alertname === 'CasefileRuntimeAudit' && a.state === 'firing'
      );
    };
    const deadline = Date.now() + 60_000;
    let fired: AmAlert | undefined;
    const done = () => (loki!.standin ? fired !== undefined : false);
    while (!done() && Date.now() < deadline) {
      fired = received.find(
        (a) =>
          a.labels.alertname === 'CasefileRuntimeAudit' &&
          a.labels.casefile_audit_attack_type === 'crypto_miner'
      );
      if (!loki.standin && (await firingInLoki())) break;
      if (!done()) await new Promise((r) => setTimeout(r, 500));
    }
    if (loki.standin) {
      assert.ok(
        fired,
        `alert reached Alertmanager (got ${JSON.stringify(received.map((a) => a.labels.alertname))})`
      );
      assert.equal(fired.labels.casefile_audit_rule_id, 'R1007');
      assert.equal(fired.labels.container_name, 'api');
      assert.equal(fired.labels.host_name, 'node-1');
      assert.match(fired.annotations.summary, /R1007 \(crypto_miner\) in api on node-1/);
    }
    // Loki's own view of the alert agrees.
    assert.ok(await firingInLoki(), 'Loki lists the alert as firing');
  } finally {
    await loki?.stop();
    am.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
