/**
 * `npm run test:provisioning`: every LogQL expression the dashboards and alert rules provision
 * (./provisioned-queries.ts) runs against the Loki stand-in (or LOKI_URL) holding a real
 * collector run's events (./real-run.ts), as Grafana or the ruler would send it: dashboard
 * variables filled with the run's host, namespace, pod and container (./grafana-interpolate.ts),
 * panels over the run's range, alert rules as instant queries shortly after an audit. It fails
 * when a query errors or returns nothing, and when the investigation's variables do not narrow.
 */
import { after, before, describe, it } from 'node:test';
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../../collector/test/helpers';
import { freePort, startLoki, type Loki } from '../loki/loki-server';
import { REPO_ROOT } from './compose-grafana';
import { loadProvisioning } from './grafana-provisioning';
import { interpolate } from './grafana-interpolate';
import { provisionedQueries, type ProvisionedQuery } from './provisioned-queries';
import { eventMs, realRun, type RealRun } from './real-run';

const STEP_S = 15;

interface Answer {
  status: number;
  body: {
    status?: string;
    error?: string;
    data?:
      | {
          resultType?: string;
          result?: { stream?: Record<string, string>; values?: unknown[]; value?: unknown }[];
        }
      | string[];
  };
  text: string;
}

async function get(loki: Loki, path: string, params: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${loki.url}${path}?${new URLSearchParams(params)}`);
  const text = await res.text();
  let body: Answer['body'] = {};
  try {
    body = JSON.parse(text);
  } catch {
    /* the text says what went wrong */
  }
  return { status: res.status, body, text };
}

/** Entries of a streams answer, series of a matrix or vector answer, values of label values. */
function size(a: Answer): number {
  const d = a.body.data;
  if (Array.isArray(d)) return d.length;
  return (d?.result ?? []).reduce((n, r) => n + (r.values ? r.values.length : r.value ? 1 : 0), 0);
}

/** Why an answer fails the check, or undefined when it holds data. */
function failureOf(a: Answer): string | undefined {
  if (a.status !== 200 || a.body.status !== 'success') return `${a.status} ${a.text.slice(0, 300)}`;
  if (size(a) === 0) return 'no data';
  return undefined;
}

describe('every provisioned query runs against a real collector run', { timeout: 600_000 }, () => {
  let loki: Loki;
  let run: RealRun;
  const ms = (x: number) => String(BigInt(x) * 1_000_000n);
  const vars = () => ({
    host: run.host,
    namespace: run.namespace,
    pod: run.pod,
    container: run.containerName,
  });

  before(async () => {
    loki = await startLoki();
    run = await realRun(loki);
  });
  after(async () => {
    await loki?.stop();
  });

  /** Run one query as Grafana (or the ruler) would; the answer and the exact query sent. */
  async function runQuery(q: ProvisionedQuery, variables: Record<string, string>, atMs?: number) {
    const start = run.startMs - 60_000;
    const end = run.endMs + 60_000;
    const query = interpolate(q.expr, {
      variables,
      step: `${STEP_S}s`,
      range: `${Math.ceil((end - start) / 1000)}s`,
    });
    if (q.kind === 'label-values')
      return {
        query,
        answer: await get(loki, `/loki/api/v1/label/${q.label}/values`, {
          start: ms(start),
          end: ms(end),
          query,
        }),
      };
    if (q.kind === 'instant')
      return { query, answer: await get(loki, '/loki/api/v1/query', { query, time: ms(atMs ?? end) }) };
    return {
      query,
      answer: await get(loki, '/loki/api/v1/query_range', {
        query,
        start: ms(start),
        end: ms(end),
        step: `${STEP_S}s`,
        limit: String(q.maxLines ?? 100),
        direction: 'backward',
      }),
    };
  }

  it('every dashboard panel and variable query answers with data, with the run as the variables', async () => {
    const queries = provisionedQueries().filter((q) => q.dashboard);
    ok(queries.length >= 20, `found ${queries.length} dashboard queries`);
    const failures: string[] = [];
    for (const q of queries) {
      const { query, answer } = await runQuery(q, vars());
      const failure = failureOf(answer);
      if (failure) failures.push(`${q.where}: ${failure}\n  ${query}`);
      else if (q.kind === 'label-values')
        ok((answer.body.data as string[]).includes(run.host), `${q.where} lists ${run.host}`);
    }
    deepEqual(failures, [], `${failures.length} of ${queries.length} dashboard queries failed`);
  });

  it("the investigation's variables narrow to the run's container, and a value is matched literally", async () => {
    const timeline = provisionedQueries().find(
      (q) => q.dashboard === 'casefile-investigation' && q.where.endsWith('"Forensic timeline"')
    )!;
    const { answer } = await runQuery(timeline, vars());
    const streams = (answer.body.data as { result: { stream: Record<string, string> }[] }).result;
    ok(streams.length > 0);
    for (const s of streams) {
      deepEqual(
        [s.stream.container_name, s.stream.k8s_namespace_name, s.stream.k8s_pod_name, s.stream.host_name],
        [run.containerName, run.namespace, run.pod, run.host]
      );
    }
    // `shop.` unescaped would match the container's `shop-`; escaped it matches nothing.
    const literal = await runQuery(timeline, { ...vars(), container: 'shop.' });
    deepEqual([literal.answer.status, size(literal.answer)], [200, 0], literal.answer.text);
    // Empty text boxes keep every event of the host.
    const all = await runQuery(timeline, { ...vars(), namespace: '', pod: '', container: '' });
    ok(size(all.answer) >= size(answer), 'empty variables keep all');
  });

  it('every alert rule query fires shortly after an audit of the run, as the rule evaluates it', async () => {
    const queries = provisionedQueries().filter((q) => !q.dashboard);
    ok(queries.length >= 4, `found ${queries.length} alert queries`);
    // Evaluated 5 s after each audit or action (the rules look back 1 minute).
    const moments = run.events
      .filter((e) => e.type === 'runtime.audit' || e.type === 'runtime.action')
      .map((e) => eventMs(e) + 5000);
    ok(moments.length > 0, 'the run has audits');
    const failures: string[] = [];
    for (const q of queries) {
      let fired = false;
      let last = '';
      for (const at of moments) {
        const { query, answer } = await runQuery(q, {}, at);
        const failure = failureOf(answer);
        if (!failure) {
          fired = true;
          break;
        }
        last = `${failure === 'no data' ? "no data at any audit's moment" : failure}\n  ${query}`;
        if (failure !== 'no data') break;
      }
      if (!fired) failures.push(`${q.where}: ${last}`);
    }
    deepEqual(failures, [], `${failures.length} of ${queries.length} alert queries failed`);
    // The same evaluation before the run has nothing to fire on: "fires" is the run's doing.
    const before = await runQuery(queries[0], {}, run.startMs - 120_000);
    deepEqual([before.answer.status, size(before.answer)], [200, 0], before.answer.text);
  });

  it("the provisioned contact point reaches the server's webhook with its token, and an alert of the run pins its container", async () => {
    const port = await freePort();
    const [grafanaToken, webhookToken] = ['prov-grafana-token-0123', 'prov-webhook-token-4567'];
    const dataDir = mkdtempSync(join(tmpdir(), 'casefile-provisioning-server-'));
    const server = spawn(process.execPath, [join(REPO_ROOT, 'server/bin/casefile-server.js')], {
      env: {
        ...process.env,
        CASEFILE_SERVER_PORT: String(port),
        CASEFILE_SERVER_DATA_DIR: dataDir,
        CASEFILE_SERVER_LOKI_URL: loki.url,
        // As docs/alerting.md tells compose users: Grafana's token, and the webhook's own.
        CASEFILE_SERVER_TOKENS: `grafana:read+pin+admin+grafana:${grafanaToken},alerts:webhook:${webhookToken}`,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    server.stderr!.on('data', (d) => (stderr += d));
    try {
      const base = `http://127.0.0.1:${port}`;
      await until('the server up', async () => (await fetch(`${base}/healthz`)).ok || undefined, 30_000);
      // The contact point as Grafana expands it, in a Grafana whose environment points at this server.
      const p = loadProvisioning({
        hostEnv: {
          CASEFILE_TOKEN: grafanaToken,
          CASEFILE_WEBHOOK_TOKEN: webhookToken,
          CASEFILE_SERVER_URL: base,
        },
      });
      deepEqual(p.problems, []);
      const hook = p.notifications.receivers.find((r) => r.type === 'webhook')!;
      const route = p.notifications.routedTo.find((r) => r.receiver === hook.contactPoint)!;
      // An alert of the critical rule, with the labels Grafana gives it: the query's, the rule's, its title.
      const rule = provisionedQueries().find((q) =>
        q.where.includes('rule "Casefile runtime audit (critical)"')
      )!;
      const audit = run.events.find((e) => e.type === 'runtime.audit' && e.severity === 'critical')!;
      const { answer } = await runQuery(rule, {}, eventMs(audit) + 5000);
      const series = (answer.body.data as { result: { metric: Record<string, string> }[] }).result;
      ok(series.length > 0, answer.text);
      const labels = {
        ...series[0].metric,
        severity: 'critical',
        casefile: 'runtime',
        alertname: 'Casefile runtime audit (critical)',
        grafana_folder: 'Casefile',
      };
      ok(
        route.matchers.every(([k, op, v]) => op === '=' && labels[k as keyof typeof labels] === v),
        `the policy routes the alert to ${hook.contactPoint}`
      );
      const payload = {
        receiver: hook.contactPoint,
        status: 'firing',
        alerts: [
          {
            status: 'firing',
            labels,
            annotations: {},
            startsAt: new Date(eventMs(audit)).toISOString(),
            fingerprint: 'a1b2c3d4e5f60718',
          },
        ],
      };
      const post = (authorization?: string) =>
        fetch(String(hook.settings.url), {
          method: String(hook.settings.httpMethod),
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          body: JSON.stringify(payload),
        });
      equal((await post()).status, 401, 'no token: refused');
      equal((await post(`Bearer ${grafanaToken}`)).status, 403, "Grafana's app token cannot pin by webhook");
      const res = await post(
        `${hook.settings.authorization_scheme} ${hook.settings.authorization_credentials}`
      );
      const body = (await res.json()) as {
        pinned: { snapshot: { scope: Record<string, string>; eventCount: number } }[];
      };
      equal(res.status, 200, JSON.stringify(body));
      equal(body.pinned.length, 1, JSON.stringify(body));
      const snap = body.pinned[0].snapshot;
      deepEqual(
        [
          snap.scope.host,
          snap.scope.containerId,
          snap.scope.containerName,
          snap.scope.namespace,
          snap.scope.pod,
        ],
        [run.host, run.containerId, run.containerName, run.namespace, run.pod]
      );
      ok(snap.eventCount > 0, "the pin holds the container's events");
    } catch (err) {
      (err as Error).message += `\n--- server stderr ---\n${stderr.slice(-2000)}`;
      throw err;
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => (server.exitCode !== null ? r(undefined) : server.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the LogQL the alerting and provisioning docs show is a provisioned query (so it ran above)', () => {
    const provisioned = new Set(provisionedQueries().map((q) => q.expr));
    for (const page of ['docs/alerting.md', 'docs/provisioning.md'])
      for (const [, block] of readFileSync(join(REPO_ROOT, page), 'utf8').matchAll(
        /```logql\n([\s\S]*?)```/g
      ))
        for (const line of block.trim().split('\n'))
          ok(provisioned.has(line), `${page} shows a query nothing provisions: ${line}`);
  });

  it('a refused query and an empty answer count as failures', async () => {
    const syntax = { ...provisionedQueries()[0], expr: '{service_namespace="casefile"' };
    match(failureOf((await runQuery(syntax, vars())).answer) ?? '', /^400 /);
    const none = {
      ...provisionedQueries()[0],
      expr: '{service_namespace="casefile", host_name="no-such-host"}',
    };
    equal(failureOf((await runQuery(none, vars())).answer), 'no data');
  });
});
