/**
 * docs/logql-cookbook.md, executed: every recipe's query is taken from the
 * markdown (so page and test cannot drift) and run against Loki (the stand-in,
 * or LOKI_URL) seeded with one realistic incident (scenario.ts). A recipe
 * fails when Loki refuses it, when it finds nothing, or when it finds other
 * than the incident holds for it.
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { msToNs } from '@casefile/schema';
import { startLoki, type Loki } from '../loki/loki-server';
import { seedEvents } from '../loki/seed';
import { EXAMPLE, incident } from './scenario';

const COOKBOOK = resolve(import.meta.dirname, '../../docs/logql-cookbook.md');

interface Recipe {
  n: number;
  title: string;
  query: string;
}

/** Every `### N. title` heading with the first ```logql block under it. */
function recipes(markdown: string): Recipe[] {
  return [...markdown.matchAll(/^### (\d+)\. (.+)\n[\s\S]*?^```logql\n([\s\S]*?)\n```/gm)].map((m) => ({
    n: Number(m[1]),
    title: m[2].trim(),
    query: m[3].trim(),
  }));
}

/**
 * What each recipe must find in the incident: entries (log queries) or series
 * (metric queries). A recipe added to the page without a line here fails.
 */
const EXPECTED: Record<number, { entries: number } | { series: number }> = {
  1: { entries: 2 }, // nginx, curl
  2: { entries: 1 },
  3: { entries: 4 }, // curl, the connect, the shadow read, nc's listener
  4: { entries: 2 }, // 80 and 31337
  5: { entries: 1 },
  6: { entries: 14 }, // everything of the web container
  7: { entries: 2 },
  8: { entries: 1 },
  9: { entries: 2 },
  10: { series: 2 }, // reverse_shell and sensitive_file on node-1
  11: { entries: 1 },
  12: { entries: 1 },
  13: { entries: 1 },
  14: { series: 2 }, // the attacker and the cart's database
  15: { entries: 1 },
  16: { entries: 1 },
  17: { entries: 1 },
  18: { entries: 1 },
  19: { entries: 1 },
  20: { series: 1 },
};

let loki: Loki;
let startNs: string;
let endNs: string;

before(async () => {
  loki = await startLoki();
  const now = Date.now();
  startNs = msToNs(now - 2 * 3_600_000);
  endNs = msToNs(now + 60_000);
  const events = incident(now);
  const fromServer = events.filter((e) => e.type === 'snapshot.pinned');
  await seedEvents(
    loki.url,
    EXAMPLE.host,
    events.filter((e) => !fromServer.includes(e)),
    { serviceName: 'casefile-collector' }
  );
  await seedEvents(loki.url, 'casefile-server-0', fromServer, { serviceName: 'casefile-server' });
});

after(async () => {
  await loki?.stop();
});

interface QueryAnswer {
  status: string;
  data: { resultType: string; result: { stream?: unknown; values: [string, string][]; metric?: unknown }[] };
}

async function run(query: string): Promise<QueryAnswer['data']> {
  const u = new URL(`${loki.url}/loki/api/v1/query_range`);
  u.search = new URLSearchParams({
    query,
    start: startNs,
    end: endNs,
    limit: '1000',
    step: '60s',
  }).toString();
  const r = await fetch(u);
  const body = await r.text();
  equal(r.status, 200, `Loki refused the recipe: ${body}`);
  return (JSON.parse(body) as QueryAnswer).data;
}

const all = recipes(readFileSync(COOKBOOK, 'utf8'));

test('the cookbook has at least ten recipes, numbered in order, each with an expectation', () => {
  ok(all.length >= 10, `${all.length} recipes`);
  deepEqual(
    all.map((r) => r.n),
    all.map((_, i) => i + 1)
  );
  deepEqual(
    all.map((r) => r.n),
    Object.keys(EXPECTED).map(Number)
  );
});

for (const r of all) {
  test(`recipe ${r.n}: ${r.title}`, async () => {
    const data = await run(r.query);
    const want = EXPECTED[r.n];
    ok(want, `recipe ${r.n} has no expectation in this test`);
    if ('entries' in want) {
      equal(data.resultType, 'streams');
      const entries = data.result.flatMap((s) => s.values);
      ok(entries.length > 0, 'finds something');
      equal(entries.length, want.entries, entries.map((e) => e[1]).join('\n'));
    } else {
      equal(data.resultType, 'matrix');
      ok(data.result.length > 0, 'finds something');
      equal(data.result.length, want.series, JSON.stringify(data.result.map((s) => s.metric)));
      for (const s of data.result)
        ok(
          s.values.some(([, v]) => Number(v) > 0),
          'a series with counts'
        );
    }
  });
}
