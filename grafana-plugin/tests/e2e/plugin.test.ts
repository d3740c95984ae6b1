/**
 * Browser tests of the BUILT plugin (dist/module.js) in Debian's headless Chromium.
 *
 * What is real: the Casefile server (server/bin, own process), the plugin's webpack output,
 * Chromium, and the events: seeded ones sent through the OpenTelemetry JS exporter (every type,
 * hostile strings), and a real collector run (helpers/real-attack.ts: real eBPF and Podman, a
 * container that learns its model, then a miner, a listener on 4444, outbound connects and a
 * reverse shell), which the responder's tests read. Loki is the stand-in (test/loki) or LOKI_URL.
 * What stands in for Grafana: tests/host — a page that provides Grafana's shared modules
 * (SystemJS `package:` registrations), runtime services and app root/config/panel rendering,
 * and a Node server that answers Grafana's API (plugin settings, the Loki data source proxy
 * and /api/ds/query, the app plugin proxy with plugin.json routes and role checks).
 *
 * Screenshots of every page: test-artifacts/screenshots/ (the real run's, at a responder's screen
 * size, as dark-*.png and light-*.png).
 */
import { after, before, describe, it } from 'node:test';
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  CSV_COLUMNS,
  EVENT_TYPE_NAMES,
  csvHeader,
  eventsQuery,
  type CasefileEvent,
  type EventType,
} from '@casefile/schema';
import { testIds } from '../../timeline-ui/src/testIds';
import { launchChromium } from '../helpers/browser';
import { parseCsv } from '../helpers/csv';
import { screenshot, until, watchErrors } from '../helpers/page';
import { ATTACK_HOST, attackEvents } from '../helpers/attack';
import { runRealAttack, type RealAttack } from '../helpers/real-attack';
import { buildEvent, sendEvents, waitForCount, HOSTILE } from '../helpers/seed';
import { ARTIFACTS, startStack, type Stack } from '../helpers/stack';
import { readEvents } from '../../../test/loki/read';

const HOST = 'e2e-node';
/** The screen a responder reads on; the screenshots of the real run are taken at it. */
const RESPONDER_SCREEN = { width: 1600, height: 1000 };
const NEEDLE = 'needle-4711';
/** Events per type: every type present, audits and process starts carry hostile strings. */
const COUNTS: Record<EventType, number> = Object.fromEntries(
  EVENT_TYPE_NAMES.map((t, i) => [t, t === 'runtime.audit' ? 6 : t === 'process.start' ? 5 : 2 + (i % 3)])
) as Record<EventType, number>;

let stack: Stack;
let browser: Browser;
let seeded: CasefileEvent[] = [];
let pageErrors: string[] = [];

const id = (s: string) => `[data-testid="${s}"]`;
const idStarts = (prefix: string) => `[data-testid^="${prefix}"]`;

async function open(path: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
  pageErrors = watchErrors(page);
  await page.goto(`${stack.host.url}${path}`);
  return page;
}

/** Total event count the grid announces (aria-rowcount of its role=grid viewport). */
async function gridCount(page: Page): Promise<number> {
  return Number(
    await page
      .locator(`${id(testIds.view.grid)} [role=grid]`)
      .first()
      .getAttribute('aria-rowcount', { timeout: 2000 })
  );
}

async function waitGridCount(page: Page, n: number, what: string) {
  await until(`${what}: grid shows ${n} events`, async () => (await gridCount(page)) === n, 45_000).catch(
    async (e) => {
      await screenshot(page, `FAILED-${what.replace(/\W+/g, '-')}`);
      throw new Error(`${(e as Error).message} (grid has ${await gridCount(page).catch(() => '?')})`);
    }
  );
}

async function download(page: Page, testId: string): Promise<string> {
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 60_000 }),
    page.locator(id(testId)).first().click(),
  ]);
  const failure = await dl.failure();
  ok(!failure, `download failed: ${failure}`);
  const path = join(ARTIFACTS, 'downloads', dl.suggestedFilename() || 'download');
  await dl.saveAs(path);
  return readFileSync(path, 'utf8');
}

function expectedCsvIds(csv: string): string[] {
  const rows = parseCsv(csv);
  // The server's exports are schema's columns plus its own last one for entries that are not events.
  equal(rows[0].join(',') + '\r\n', csvHeader().replace(/\r\n$/, ',casefile.unreadable\r\n'), 'CSV header');
  const idCol = CSV_COLUMNS.findIndex((c) => c.header === 'casefile.event.id');
  ok(idCol >= 0, 'CSV has an event id column');
  return rows.slice(1).map((r) => r[idCol]);
}

describe('Casefile app plugin in a Grafana host page', { timeout: 12 * 60_000 }, () => {
  before(async () => {
    stack = await startStack();
    browser = await launchChromium();
    const now = Date.now();
    const specs = EVENT_TYPE_NAMES.flatMap((type) =>
      Array.from({ length: COUNTS[type] }, (_, k) => ({
        type,
        // The model's state change is its latest event, so the model reads "active".
        atMs:
          type === 'model.state'
            ? now - 3 * 60_000 + k
            : now - 40 * 60_000 + Math.floor(Math.random() * 36 * 60_000),
        host: HOST,
        hostile: type === 'runtime.audit' || type === 'process.start' || type === 'host.activity',
        message: type === 'process.start' && k === 0 ? `${NEEDLE} opened a shell` : undefined,
        extra: type === 'model.learned' ? { behavior: `/usr/bin/behaviour-${k}` } : undefined,
      }))
    );
    seeded = specs.map((s, i) => buildEvent(s, i));
    await sendEvents(stack.loki.url, seeded);
    await waitForCount(stack.loki.url, HOST, seeded.length, now - 3_600_000, now + 60_000);
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('timeline: counts per type, toggles, search (escaped in Loki), details', async () => {
    const page = await open(`/a/${stack.host.pluginId}/timeline`);
    await page.locator(id(testIds.timeline.page)).waitFor({ timeout: 60_000 });
    await waitGridCount(page, seeded.length, 'timeline loaded');
    for (const t of EVENT_TYPE_NAMES) {
      const count = await page.locator(id(testIds.view.toggleCount(t))).textContent({ timeout: 30_000 });
      equal(Number(count?.replace(/,/g, '')), COUNTS[t], `toggle count of ${t}`);
    }
    await screenshot(page, '01-timeline');

    // Toggle a type off: its rows leave the grid; on again: they return.
    const toggle = page.locator(id(testIds.view.toggle('process.start')));
    await toggle.click();
    await waitGridCount(page, seeded.length - COUNTS['process.start'], 'process.start hidden');
    equal(await toggle.getAttribute('aria-pressed'), 'false');
    equal(await page.locator(`${id(testIds.view.gridRow)}[data-event-type="process.start"]`).count(), 0);
    await screenshot(page, '02-timeline-toggled');
    await toggle.click();
    await waitGridCount(page, seeded.length, 'process.start shown again');

    // Search runs in Loki: a plain word, then a string full of LogQL and regex syntax.
    const search = page
      .locator(id(testIds.timeline.search))
      .locator('input')
      .or(page.locator(`input${id(testIds.timeline.search)}`));
    await search.first().fill(NEEDLE);
    await search.first().press('Enter');
    await waitGridCount(page, 1, 'search needle');
    match((await page.locator(id(testIds.view.gridRow)).first().textContent()) ?? '', new RegExp(NEEDLE));
    await screenshot(page, '03-timeline-search');
    const hostileNeedle = HOSTILE[2]; // '"} |= "x" or {job=~".+"}'
    const withHostile = seeded.filter((e) => e.message.toLowerCase().includes(hostileNeedle.toLowerCase()));
    ok(withHostile.length > 0, 'some messages carry the hostile string');
    await search.first().fill(hostileNeedle);
    await search.first().press('Enter');
    await waitGridCount(page, withHostile.length, 'hostile search');
    equal(await page.locator(id(testIds.view.error)).count(), 0, 'no error for a hostile search');
    await search.first().fill('');
    await search.first().press('Enter');
    await waitGridCount(page, seeded.length, 'search cleared');

    // Open an audit: every detail is shown, hostile markup stays text.
    await page
      .locator(`${id(testIds.view.gridRow)}[data-event-type="runtime.audit"]`)
      .first()
      .click();
    const details = page.locator(id(testIds.view.details));
    await details.waitFor({ timeout: 30_000 });
    const shownId = await page
      .locator(`${id(testIds.view.gridRow)}[aria-selected="true"]`)
      .getAttribute('data-event-id');
    const ev = seeded.find((e) => e.id === shownId)!;
    ok(ev, 'the selected row is a seeded event');
    for (const f of [
      'attackType',
      'commandLine',
      'pid',
      'ppid',
      'user',
      'imageName',
      'containerName',
      'host',
      'pod',
    ] as const) {
      const text = await page.locator(id(testIds.view.detailsField(f))).textContent({ timeout: 10_000 });
      ok(text?.includes(String(ev[f]).split('\n')[0]), `details show ${f}=${ev[f]}: got ${text}`);
    }
    equal(await page.evaluate(() => (window as any).__xss), undefined, 'hostile markup was not executed');
    // Long values (the 64-character container id, ns timestamps) wrap inside the drawer.
    const spill = await details.evaluate((el) => {
      const right = el.getBoundingClientRect().right;
      return [...el.querySelectorAll('th, td')].filter((c) => c.getBoundingClientRect().right > right + 1)
        .length;
    });
    equal(spill, 0, 'no detail cell reaches past the drawer');
    await screenshot(page, '04-event-details');
    deepEqual(pageErrors, []);
    await page.close();
  });

  it('pin snapshot: Editor pins; a Viewer gets a clear 403 in words', async () => {
    // A Viewer sees the button disabled.
    stack.host.setRole('Viewer');
    let page = await open(`/a/${stack.host.pluginId}/timeline`);
    await waitGridCount(page, seeded.length, 'viewer timeline');
    ok(await page.locator(id(testIds.timeline.pin)).isDisabled(), 'Pin is disabled for a Viewer');
    await page.close();

    // Loaded as Editor, then demoted in Grafana: the proxy refuses (403) and the page says so.
    stack.host.setRole('Editor');
    page = await open(`/a/${stack.host.pluginId}/timeline`);
    await waitGridCount(page, seeded.length, 'editor timeline');
    stack.host.setRole('Viewer');
    await page.locator(id(testIds.timeline.pin)).click();
    await page.locator(id(testIds.timeline.pinTitle)).fill('viewer attempt');
    await page.locator(id(testIds.timeline.pinConfirm)).click();
    const alert = page.getByText('Pinning failed');
    await alert.waitFor({ timeout: 30_000 });
    match((await page.locator('[role=alert], [data-testid*="Alert"]').allTextContents()).join(' '), /403/);
    await screenshot(page, '05-pin-denied-viewer');
    ok(
      stack.host.requests.some(
        (r) => r.method === 'POST' && /\/api\/v1\/(snapshots|pin-jobs)/.test(r.path) && r.status === 403
      )
    );

    stack.host.setRole('Editor');
    await page.locator(id(testIds.timeline.pinTitle)).fill('e2e incident');
    await page.locator(id(testIds.timeline.pinConfirm)).click();
    await page.getByText(`Pinned ${seeded.length} events`).waitFor({ timeout: 60_000 });
    // docker-compose's Grafana sets send_user_header, so the server learns who pinned.
    equal(stack.host.lastProxiedHeaders()['x-grafana-user'], 'editor');
    await screenshot(page, '06-pinned');
    await page.close();
  });

  it('snapshots: list, open the pinned timeline, export its CSV', async () => {
    stack.host.setRole('Viewer');
    const page = await open(`/a/${stack.host.pluginId}/snapshots`);
    const row = page.locator(id(testIds.snapshots.row)).filter({ hasText: 'e2e incident' });
    await row.waitFor({ timeout: 30_000 });
    await screenshot(page, '07-snapshots');
    const csv = await download(page, testIds.snapshots.exportCsv);
    deepEqual(
      expectedCsvIds(csv).sort(),
      seeded.map((e) => e.id).sort(),
      'snapshot CSV has exactly the pinned events'
    );
    ok(!/\n=HYPERLINK|,=HYPERLINK|,"=HYPERLINK/.test(csv), 'formula cells are neutralised');
    ok(csv.includes(`'=HYPERLINK`), 'the hostile formula is present, neutralised');
    await row.locator(id(testIds.snapshots.open)).click();
    await page.locator(id(testIds.snapshots.detail)).waitFor({ timeout: 30_000 });
    await waitGridCount(page, seeded.length, 'snapshot timeline');
    await screenshot(page, '08-snapshot-detail');
    deepEqual(pageErrors, []);
    await page.close();
  });

  it('timeline export CSV follows the toggles', async () => {
    stack.host.setRole('Viewer');
    // Scoped to the seeded host: the server has since logged its own snapshot.pinned event.
    const page = await open(
      `/a/${stack.host.pluginId}/timeline?host=${HOST}&hide=process.start,runtime.audit`
    );
    await waitGridCount(
      page,
      seeded.length - COUNTS['process.start'] - COUNTS['runtime.audit'],
      'timeline with hidden types'
    );
    const csv = await download(page, testIds.timeline.exportCsv);
    const want = seeded
      .filter((e) => e.type !== 'process.start' && e.type !== 'runtime.audit')
      .map((e) => e.id);
    deepEqual(expectedCsvIds(csv).sort(), want.sort());
    await page.close();
  });

  it('runtime models: state, learned behaviours, audits, and the jump to the timeline', async () => {
    const page = await open(`/a/${stack.host.pluginId}/models`);
    const model = page.locator(id(testIds.models.model)).first();
    await model.waitFor({ timeout: 30_000 });
    match((await model.locator(id(testIds.models.state)).textContent()) ?? '', /active/i);
    await until(
      'learned behaviours listed',
      async () => (await model.locator(id(testIds.models.behaviour)).count()) === COUNTS['model.learned']
    );
    await until(
      'audits listed',
      async () => (await model.locator(id(testIds.models.audit)).count()) === COUNTS['runtime.audit']
    );
    await screenshot(page, '09-models');
    await model.locator(id(testIds.models.auditLink)).first().click();
    await page.locator(id(testIds.timeline.page)).waitFor({ timeout: 30_000 });
    await page.locator(id(testIds.view.details)).waitFor({ timeout: 30_000 });
    await screenshot(page, '10-audit-on-timeline');
    deepEqual(pageErrors, []);
    await page.close();
  });

  it('config page: shows and saves the settings; the token stays server side', async () => {
    stack.host.setRole('Admin');
    const page = await open(`/plugins/${stack.host.pluginId}`);
    await page.locator(id(testIds.appConfig.container)).waitFor({ timeout: 30_000 });
    const html = await page.content();
    ok(!html.includes(stack.server.token), 'the server token never reaches the browser');
    await screenshot(page, '11-config');
    const cap = page
      .locator(id(testIds.appConfig.snapshotCap))
      .locator('input')
      .or(page.locator(`input${id(testIds.appConfig.snapshotCap)}`));
    await cap.first().fill('7');
    await page.locator(id(testIds.appConfig.save)).click();
    await until('snapshotCap saved', async () => Number(stack.host.settings().jsonData.snapshotCap) === 7);
    equal(
      stack.host.settings().secureJsonData.serverToken,
      stack.server.token,
      'saving without touching the token keeps it'
    );
    await page.close();
  });

  it('nested panel "Forensic timeline" renders Loki query results', async () => {
    const expr = eventsQuery({ scope: { host: HOST } });
    const page = await open(
      `/host/panel?expr=${encodeURIComponent(expr)}&from=now-1h&to=now&title=Forensic%20timeline`
    );
    await page.locator(id(testIds.panel.container)).waitFor({ timeout: 30_000 });
    await panelFits(page, seeded.length);
    const overflow = await page
      .locator(id(testIds.panel.container))
      .evaluate((el) => el.scrollHeight - el.clientHeight);
    ok(overflow <= 0, `the panel's content is ${overflow} px taller than the panel`);
    await screenshot(page, '12-panel');
    deepEqual(pageErrors, []);
    await page.close();
  });

  it('an unreachable server is reported in words, not a blank page', async () => {
    const saved = stack.host.settings().jsonData.serverUrl;
    stack.host.settings().jsonData.serverUrl = 'http://127.0.0.1:9';
    try {
      const page = await open(`/a/${stack.host.pluginId}/snapshots`);
      await page
        .getByText(/502|Bad Gateway|unreachable|ECONNREFUSED|fetch failed/i)
        .first()
        .waitFor({ timeout: 30_000 });
      await screenshot(page, '13-server-down');
      await page.close();
    } finally {
      stack.host.settings().jsonData.serverUrl = saved;
    }
  });

  /** The numbers a page shows: toggle counts, "of N events in range", chart bars, grid rows. */
  async function pageNumbers(page: Page) {
    const toggles = await page.locator(idStarts('data-testid cf-toggle-count-')).allTextContents();
    const bars = await page
      .locator(id(testIds.view.chartBucket))
      .evaluateAll((gs) => gs.map((g) => Number(g.getAttribute('data-count'))));
    const status = (await page.locator(id(testIds.view.gridStatus)).textContent()) ?? '';
    return {
      toggles: toggles.reduce((a, t) => a + Number(t.replace(/,/g, '')), 0),
      bars: bars.reduce((a, c) => a + c, 0),
      inRange: Number(/of ([\d,]+) events in range/.exec(status)?.[1].replace(/,/g, '') ?? NaN),
      rows: await gridCount(page),
    };
  }

  /** Every row's event id, in the grid's order: scrolled through, since only the rows in view are rendered. */
  async function allGridIds(page: Page): Promise<string[]> {
    const viewport = page.locator(`${id(testIds.view.grid)} [role=grid]`).first();
    const seen = new Map<number, string>();
    for (let top = 0, n = await gridCount(page); ;) {
      const rows = await viewport
        .locator(id(testIds.view.gridRow))
        .evaluateAll((rs) =>
          rs.map((r) => [Number(r.getAttribute('aria-rowindex')), r.getAttribute('data-event-id')])
        );
      for (const [i, e] of rows) seen.set(i as number, e as string);
      if (seen.size >= n) break;
      const height = await viewport.evaluate((el) => el.clientHeight);
      const next = await viewport.evaluate((el, t) => ((el.scrollTop = t), el.scrollTop), top + height);
      if (next === top) break;
      top = next;
      await page.waitForTimeout(50);
    }
    return [...seen.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => e);
  }

  /**
   * A dashboard panel shows all it has inside its box: the status line under the grid and the
   * grid's last visible row are inside the panel, and the status counts what the panel holds.
   */
  async function panelFits(page: Page, events: number) {
    await waitGridCount(page, events, 'panel grid');
    const [panel, status, viewport] = await Promise.all(
      [id(testIds.panel.container), id(testIds.view.gridStatus), `${id(testIds.view.grid)} [role=grid]`].map(
        (s) => page.locator(s).first().boundingBox()
      )
    );
    ok(panel && status && viewport, 'panel, grid and status line are rendered');
    const inside = (b: { y: number; height: number; x: number; width: number }) =>
      b.y >= panel.y - 0.5 &&
      b.y + b.height <= panel.y + panel.height + 0.5 &&
      b.x >= panel.x - 0.5 &&
      b.x + b.width <= panel.x + panel.width + 0.5;
    ok(inside(viewport), `the grid ${JSON.stringify(viewport)} is inside the panel ${JSON.stringify(panel)}`);
    ok(
      inside(status),
      `the status line ${JSON.stringify(status)} is inside the panel ${JSON.stringify(panel)}`
    );
    // And not clipped by a box in between: the status line is what the panel shows at its place.
    const atStatus = await page.evaluate(
      ([x, y, tid]) =>
        document.elementFromPoint(x as number, y as number)?.closest(`[data-testid="${tid}"]`) != null,
      [status.x + 4, status.y + status.height / 2, testIds.view.gridStatus] as const
    );
    ok(atStatus, 'the status line is visible, not covered or clipped');
    match(
      (await page.locator(id(testIds.view.gridStatus)).textContent()) ?? '',
      new RegExp(`${events.toLocaleString('en-US')}`)
    );
  }

  describe('the attack, as a responder reads it (a real collector run)', () => {
    let real: RealAttack;
    let scoped: string;
    before(
      async () => {
        real = await runRealAttack(stack.loki);
        scoped = `containerName=${real.containerName}`;
      },
      { timeout: 5 * 60_000 }
    );

    /** The page at a responder's screen size. */
    const openWide = async (path: string) => {
      const page = await browser.newPage({ viewport: RESPONDER_SCREEN, acceptDownloads: true });
      pageErrors = watchErrors(page);
      await page.goto(`${stack.host.url}${path}`);
      return page;
    };
    const timeline = (q: string) => `/a/${stack.host.pluginId}/timeline?${q}`;
    /** The whole run, with a margin: the container's events and nothing after the collector stopped. */
    const wholeRun = () => `from=${real.firstMs - 60_000}&to=${real.lastMs + 60_000}`;
    const audits = () => real.events.filter((e) => e.type === 'runtime.audit');
    const PIN_TITLE = 'reverse shell in payments-api';

    it('every count on the page matches the rows it stands for, with the range cut anywhere', async () => {
      stack.host.setRole('Viewer');
      // An unaligned range that cuts through step buckets at both ends and ends inside the attack,
      // just before the reverse shell's audit (which can be the run's last event: the collector
      // stops once it is in Loki).
      const from = real.firstMs - 7_777;
      const to = Number(BigInt(real.shellAudit.timeNs) / 1_000_000n);
      const want = real.events.filter((e) => {
        const ms = Number(BigInt(e.timeNs) / 1_000_000n);
        return ms >= from && ms < to;
      });
      ok(want.length < real.events.length, 'the range ends inside the attack');
      const page = await openWide(timeline(`${scoped}&from=${from}&to=${to}`));
      await waitGridCount(page, want.length, 'unaligned range');
      const n = await until('counts loaded', async () => {
        const x = await pageNumbers(page);
        return Number.isFinite(x.inRange) ? x : undefined;
      });
      deepEqual(n, { toggles: want.length, bars: want.length, inRange: want.length, rows: want.length });
      // Per type too: each toggle's count is its rows.
      for (const t of new Set(want.map((e) => e.type))) {
        const shown = await page.locator(id(testIds.view.toggleCount(t))).textContent();
        equal(
          Number(shown?.replace(/,/g, '')),
          want.filter((e) => e.type === t).length,
          `toggle count of ${t}`
        );
      }
      deepEqual(pageErrors, []);
      await page.close();
    });

    it("opens where the events are: the attack's audits in one look at the first screen", async () => {
      const page = await openWide(timeline(scoped));
      // Fitted in rounds, finer each time, until the events fill the chart: at least half of it, not 3 bars of 120.
      const run = real.lastMs - real.firstMs;
      const span = () => {
        const q = new URL(page.url()).searchParams;
        return q.has('from') ? Number(q.get('to')) - Number(q.get('from')) : Infinity;
      };
      await until(`the range fits the ${run} ms run`, async () => span() <= 2 * run + 5_000).catch(
        (e: Error) => {
          throw new Error(`${e.message}; fitted to ${span()} ms`);
        }
      );
      await waitGridCount(page, real.events.length, 'fitted');
      await until('counts loaded', async () => Number.isFinite((await pageNumbers(page)).inRange));
      // Every severity the attack's audits carry is drawn in its colour, on the first screen.
      const sev = await page
        .locator(`${id(testIds.view.chart)} rect[data-severity]`)
        .evaluateAll((rs) => [...new Set(rs.map((r) => r.getAttribute('data-severity')))]);
      deepEqual(sev.sort(), [...new Set(audits().map((e) => e.severity))].sort());
      const chart = await page.locator(id(testIds.view.chart)).boundingBox();
      ok(chart && chart.y + chart.height <= RESPONDER_SCREEN.height, 'the chart is on the first screen');
      const auditCount = await page.locator(id(testIds.view.toggleCount('runtime.audit'))).textContent();
      equal(Number(auditCount), audits().length, 'the audit toggle counts every audit');
      // Above the grid, the audits by severity, and the first of the worst one click away.
      const summary = page.locator(id(testIds.view.auditSummary));
      const box = await summary.boundingBox();
      ok(box && box.y + box.height <= RESPONDER_SCREEN.height, 'the audit summary is on the first screen');
      const bySeverity = await summary
        .locator('[data-severity]')
        .evaluateAll((ss) => ss.map((s) => [s.getAttribute('data-severity'), s.textContent]));
      const want = (['critical', 'high', 'medium', 'low'] as const)
        .map((s) => [s, audits().filter((e) => e.severity === s).length] as const)
        .filter(([, n]) => n > 0)
        .map(([s, n]) => [s, `${n} ${s}`]);
      deepEqual(bySeverity, want);
      await screenshot(page, 'real-first-screen');
      await page.locator(id(testIds.view.auditSummaryOpen)).click();
      const worst = audits().find((e) => e.severity === want[0][0])!;
      await until('the first of the worst audits opens', async () =>
        page.url().includes(`event=${worst.id}`)
      );
      const row = page.locator(`${id(testIds.view.gridRow)}[data-event-id="${worst.id}"]`);
      await row.waitFor({ timeout: 10_000 });
      ok(await row.isVisible(), "the opened audit's row is in view");
      const rowBox = await row.boundingBox();
      ok(
        rowBox && rowBox.y + rowBox.height <= RESPONDER_SCREEN.height,
        "the audit's row is on the first screen"
      );
      deepEqual(pageErrors, []);
      await page.close();
    });

    it('scoping by container name or by container id gives the same events', async () => {
      const ids = async (q: string) => {
        const page = await openWide(timeline(`${q}&${wholeRun()}`));
        await waitGridCount(page, real.events.length, q);
        const got = await allGridIds(page);
        const n = await until('counts', async () => {
          const x = await pageNumbers(page);
          return Number.isFinite(x.inRange) ? x : undefined;
        });
        await page.close();
        return { got, n };
      };
      const byName = await ids(`containerName=${real.containerName}`);
      const byId = await ids(`containerId=${real.containerId}`);
      deepEqual(byName, byId);
      // The collector named every event of the container, its first ones included.
      const unnamed = real.events.filter((e) => e.containerName !== real.containerName);
      deepEqual(
        unnamed.map((e) => `${e.type} ${e.message}`),
        [],
        'every event of the container carries its name'
      );
    });

    it("the process tree of the reverse shell reaches the container's init; details beside the grid", async () => {
      const shell = real.shellAudit;
      const page = await openWide(timeline(`${scoped}&${wholeRun()}&event=${shell.id}`));
      const details = page.locator(id(testIds.view.details));
      await details.waitFor({ timeout: 30_000 });
      const tree = details.locator(id(testIds.view.processTree));
      // The collector's ancestry, nearest first, ends at the container's entry: the tree shows it top down.
      const chain = [...(shell.processAncestry ?? [])].reverse();
      equal(chain[0], real.init.processKey, "the audit's ancestry ends at the container's init");
      await until(
        'the tree resolves every process',
        async () =>
          (await tree.locator(id(testIds.view.processNode)).count()) >= chain.length + 1 &&
          (await tree.locator('button:disabled').count()) === 0
      );
      const nodes = await tree
        .locator(id(testIds.view.processNode))
        .evaluateAll((ns) =>
          ns.map((n) => [
            n.getAttribute('data-process-key'),
            n.getAttribute('data-entry'),
            n.hasAttribute('data-self'),
          ])
        );
      deepEqual(nodes.slice(0, chain.length + 1), [
        [real.init.processKey, 'container_init', false],
        ...chain.slice(1).map((k) => [k, null, false]),
        [shell.processKey, null, true],
      ]);
      match((await details.textContent()) ?? '', /MITRE T1059\.004/);
      // The audits of the one action (the same process within seconds) shown together.
      const sameAction = audits().filter(
        (e) =>
          e.processKey === shell.processKey &&
          Math.abs(Number(BigInt(e.timeNs) - BigInt(shell.timeNs))) <= 5_000_000_000
      );
      equal(await details.locator(`${id(testIds.view.relatedAudits)} li`).count(), sameAction.length);
      // Beside, not over: the chart stays uncovered and the details sit right of the grid.
      const [chart, grid, side] = await Promise.all(
        [id(testIds.view.chart), id(testIds.view.grid), id(testIds.view.details)].map((s) =>
          page.locator(s).boundingBox()
        )
      );
      ok(chart && grid && side && side.y >= chart.y + chart.height - 1 && side.x >= grid.x + grid.width - 1);
      equal(
        await page.locator(id(testIds.view.chartMarker)).count(),
        1,
        'the selected event is marked on the chart'
      );
      await screenshot(page, 'real-process-tree');
      // A click on the init opens it, and the URL follows.
      await tree.locator(`${id(testIds.view.processNode)}[data-entry="container_init"] button`).click();
      await until('url names the init', async () => page.url().includes(`event=${real.init.id}`));
      deepEqual(pageErrors, []);
      await page.close();
    });

    it('the grid is usable by keyboard alone, and the selected event is in the URL', async () => {
      const page = await openWide(timeline(`${scoped}&${wholeRun()}`));
      await waitGridCount(page, real.events.length, 'attack timeline');
      const focused = () => page.evaluate(() => document.activeElement?.getAttribute('role'));
      await page
        .locator(`${id(testIds.timeline.search)} input, input${id(testIds.timeline.search)}`)
        .first()
        .focus();
      for (let i = 0; i < 40 && (await focused()) !== 'grid'; i++) await page.keyboard.press('Tab');
      equal(await focused(), 'grid', 'Tab reaches the grid');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      // Focus lands on the first row; two steps down is the third event.
      const third = real.events[2];
      await page.locator(id(testIds.view.details)).waitFor({ timeout: 10_000 });
      await until('url names the third event', async () => page.url().includes(`event=${third.id}`));
      // Down to the first audit by arrows alone, then open it.
      const firstAudit = real.events.findIndex((e) => e.type === 'runtime.audit');
      for (let i = 2; i < firstAudit; i++) await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await until('the first audit opens', async () =>
        page.url().includes(`event=${real.events[firstAudit].id}`)
      );
      const row = page.locator(`${id(testIds.view.gridRow)}[data-event-id="${real.events[firstAudit].id}"]`);
      ok(await row.isVisible(), 'the grid scrolled the opened row into view');
      await page.keyboard.press('End');
      await page.keyboard.press('Enter');
      await until('the last event opens', async () =>
        page.url().includes(`event=${real.events[real.events.length - 1].id}`)
      );
      await page.keyboard.press('Escape');
      await page.locator(id(testIds.view.details)).waitFor({ state: 'detached', timeout: 10_000 });
      ok(!page.url().includes('event='), 'closing the details takes the event out of the URL');
      // A shared link opens the same event.
      await page.goto(`${stack.host.url}${timeline(`${scoped}&${wholeRun()}&event=${third.id}`)}`);
      await page.locator(id(testIds.view.details)).waitFor({ timeout: 30_000 });
      equal(
        await page.locator(`${id(testIds.view.gridRow)}[aria-selected="true"]`).getAttribute('data-event-id'),
        third.id
      );
      deepEqual(pageErrors, []);
      await page.close();
    });

    it('says "loading" while loading, never "no events"; an error in words with a retry that works', async () => {
      const page = await browser.newPage({ viewport: RESPONDER_SCREEN });
      pageErrors = watchErrors(page);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      await page.route('**/api/datasources/proxy/**', async (r) => {
        await gate;
        await r.continue();
      });
      await page.goto(`${stack.host.url}${timeline(`${scoped}&${wholeRun()}`)}`);
      await page.locator(id(testIds.view.chart)).waitFor({ timeout: 30_000 });
      match((await page.locator(id(testIds.view.chartMax)).textContent()) ?? '', /counting events/);
      match((await page.locator(id(testIds.view.gridStatus)).textContent()) ?? '', /Loading events/);
      match((await page.locator(id(testIds.view.gridEmpty)).textContent()) ?? '', /Loading events/);
      ok(!/no events/i.test((await page.locator(id(testIds.view.container)).textContent()) ?? ''));
      await screenshot(page, 'real-loading');
      release();
      await waitGridCount(page, real.events.length, 'after loading');
      await page.unroute('**/api/datasources/proxy/**');

      // Loki fails: the page says what failed, in words, and offers a retry.
      let failing = true;
      await page.route('**/api/datasources/proxy/**', (r) =>
        failing ? r.fulfill({ status: 502, body: '' }) : r.continue()
      );
      await page.goto(
        `${stack.host.url}${timeline(`${scoped}&from=${real.firstMs - 120_000}&to=${real.lastMs + 1}`)}`
      );
      const err = page.locator(id(testIds.view.error));
      await err.waitFor({ timeout: 30_000 });
      const text = (await err.textContent()) ?? '';
      match(text, /Reading the events failed\. Loki \(through Grafana's data source proxy\): 502/);
      match(text, /could not reach it/);
      ok(!text.includes('api/datasources'), `no raw proxy path: ${text}`);
      match((await page.locator(id(testIds.view.chartMax)).textContent()) ?? '', /could not be read/);
      await screenshot(page, 'real-loki-error');
      failing = false;
      await page.locator(id(testIds.view.retry)).click();
      await waitGridCount(page, real.events.length, 'after retry');
      equal(await page.locator(id(testIds.view.error)).count(), 0, 'the error is gone after the retry');

      // Nothing found: the page says how to widen.
      await page.goto(`${stack.host.url}${timeline(`${scoped}&${wholeRun()}&q=no-such-thing-42`)}`);
      const empty = page.locator(id(testIds.view.gridEmpty));
      await empty.waitFor({ timeout: 30_000 });
      await until('the empty hint says how to widen', async () =>
        /Widen the time range, clear the search/.test((await empty.textContent()) ?? '')
      );
      deepEqual(pageErrors, []);
      await page.close();
    });

    it("honours Grafana's time zone, switchable to UTC", async () => {
      stack.host.setPreferences({ timezone: 'Asia/Kolkata' });
      try {
        const page = await openWide(timeline(`${scoped}&${wholeRun()}`));
        await waitGridCount(page, real.events.length, 'kolkata');
        const header = page.locator(`${id(testIds.view.grid)} [role=row]`).first();
        match((await header.textContent()) ?? '', /Time \(UTC\+05:30\)/);
        const local = new Date(real.firstMs + 5.5 * 3_600_000).toISOString();
        match(
          (await page.locator(id(testIds.view.gridRow)).first().textContent()) ?? '',
          new RegExp(local.slice(11, 19))
        );
        await page.goto(`${stack.host.url}${timeline(`${scoped}&${wholeRun()}&tz=utc`)}`);
        await waitGridCount(page, real.events.length, 'utc');
        match((await header.textContent()) ?? '', /Time \(UTC\)/);
        await page.close();
      } finally {
        stack.host.setPreferences({ timezone: 'utc' });
      }
    });

    it('models page: the image model active, with its audits, reachable by image and by container', async () => {
      const modelId = real.events.find((e) => e.type === 'model.learned')?.modelId;
      ok(modelId, 'the container learned a model');
      // Known-bad audits (a miner, a reverse shell) name no model: they join the model of their image.
      const modelAudits = audits();
      ok(modelAudits.some((e) => !e.modelId) && modelAudits.some((e) => e.modelId === modelId));
      for (const q of [
        `image=${encodeURIComponent(real.imageName)}`,
        `container=${real.containerName}`,
        `container=${real.containerId}`,
      ]) {
        const page = await openWide(`/a/${stack.host.pluginId}/models?${q}&${wholeRun()}`);
        const model = page.locator(`${id(testIds.models.model)}`).filter({ hasText: modelId!.slice(7, 19) });
        await model.first().waitFor({ timeout: 30_000 });
        match((await model.first().locator(id(testIds.models.state)).textContent()) ?? '', /active/i, q);
        await until(
          `${q}: the model's audits listed`,
          async () => (await model.first().locator(id(testIds.models.audit)).count()) === modelAudits.length
        );
        deepEqual(pageErrors, [], q);
        await page.close();
      }
    });

    it("every page in the dark and the light theme, over the real run, at a responder's screen size", async () => {
      // The incident pinned through the server's API (the pin in the UI has its own test above),
      // so the snapshot pages show the real run too.
      const pinned = await fetch(`${stack.server.url}/api/v1/snapshots`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          title: PIN_TITLE,
          scope: { containerName: real.containerName },
          from: real.firstMs - 60_000,
          to: real.lastMs + 60_000,
        }),
      });
      equal(pinned.status, 201, await pinned.clone().text());
      const snap = ((await pinned.json()) as { snapshot: { id: string; eventCount: number } }).snapshot;
      equal(snap.eventCount, real.events.length);
      // The pin is itself an event in the container's scope (snapshot.pinned, stamped now, sent by
      // the server after it answers): once it is in Loki, the live views count it if the range
      // holds it (the tests before this one may have taken longer than the range's margin).
      const ns = (ms: number) => `${ms}000000`;
      await until('the pin logged in Loki', async () =>
        (
          await readEvents(
            stack.loki.url,
            { scope: { containerName: real.containerName }, types: ['snapshot.pinned'] },
            { fromNs: ns(real.firstMs), toNs: ns(Date.now() + 60_000) }
          )
        ).some((e) => e.snapshotId === snap.id)
      );
      const inRange = await readEvents(
        stack.loki.url,
        { scope: { containerName: real.containerName } },
        { fromNs: ns(real.firstMs - 60_000), toNs: ns(real.lastMs + 60_000) }
      );
      const live = inRange.length;
      equal(
        inRange.filter((e) => e.type !== 'snapshot.pinned').length,
        real.events.length,
        'the run, and nothing but pins after it'
      );
      let page: Page;
      stack.host.setRole('Admin');
      const panelExpr = eventsQuery({ scope: { containerName: real.containerName } });
      const pages: Array<[string, string, string]> = [
        ['timeline', timeline(`${scoped}&${wholeRun()}`), testIds.view.gridRow],
        [
          'details',
          timeline(`${scoped}&${wholeRun()}&event=${real.shellAudit.id}`),
          testIds.view.processTree,
        ],
        [
          'models',
          `/a/${stack.host.pluginId}/models?container=${real.containerName}&${wholeRun()}`,
          testIds.models.audit,
        ],
        ['snapshots', `/a/${stack.host.pluginId}/snapshots`, testIds.snapshots.row],
        ['config', `/plugins/${stack.host.pluginId}`, testIds.appConfig.container],
        [
          'panel',
          `/host/panel?expr=${encodeURIComponent(panelExpr)}&${wholeRun()}&title=Forensic%20timeline`,
          testIds.view.gridRow,
        ],
      ];
      for (const theme of ['dark', 'light'] as const) {
        stack.host.setPreferences({ theme });
        try {
          for (const [name, path, ready] of pages) {
            page = await openWide(path);
            await page.locator(id(ready)).first().waitFor({ timeout: 30_000 });
            const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
            const light = /rgb\((2[0-5]\d|1\d\d), (2[0-5]\d|1\d\d), (2[0-5]\d|1\d\d)\)/.test(bg);
            equal(light, theme === 'light', `${theme} ${name}: background ${bg}`);
            if (name === 'panel') await panelFits(page, live);
            await screenshot(page, `${theme}-${name}`);
            deepEqual(pageErrors, [], `${theme} ${name}`);
            await page.close();
          }
          page = await openWide(`/a/${stack.host.pluginId}/snapshots`);
          await page
            .locator(id(testIds.snapshots.row))
            .filter({ hasText: PIN_TITLE })
            .locator(id(testIds.snapshots.open))
            .click();
          await page.locator(id(testIds.snapshots.detail)).waitFor({ timeout: 30_000 });
          await waitGridCount(page, real.events.length, `${theme} snapshot detail`);
          await screenshot(page, `${theme}-snapshot-detail`);
          deepEqual(pageErrors, [], `${theme} snapshot detail`);
          await page.close();
        } finally {
          stack.host.setPreferences({ theme: 'dark' });
        }
      }
    });
  });
  // A case a real run cannot produce on demand: audits that name no model (a host-level reverse
  // shell, host drift). The collector's host is this shared machine, whose audits depend on what
  // else runs on it, so these come from the synthetic attack (helpers/attack.ts), on its own host.
  describe('audits outside any model (synthetic)', () => {
    it('are listed under their host on the models page', async () => {
      const now = Date.now();
      // The attack's audits as a host's own (no container, no image): they name no model at all.
      const attack = attackEvents(now - 20 * 60_000)
        .filter((e) => e.type === 'runtime.audit')
        .map(
          ({ containerId, containerName, imageName, imageDigest, namespace, pod, ...hostLevel }) => hostLevel
        );
      ok(attack.length === 2 && attack.every((e) => !e.modelId && !('imageName' in e)));
      await sendEvents(stack.loki.url, attack);
      await waitForCount(stack.loki.url, ATTACK_HOST, attack.length, now - 3_600_000, now + 60_000);
      const page = await open(`/a/${stack.host.pluginId}/models?host=${ATTACK_HOST}&from=now-1h&to=now`);
      await until(
        'host audits listed',
        async () => (await page.locator(id(testIds.models.audit)).count()) === 2
      );
      match((await page.locator(id(testIds.models.model)).first().textContent()) ?? '', /no model/i);
      await screenshot(page, '17-models-host');
      deepEqual(pageErrors, []);
      await page.close();
    });
  });
});
