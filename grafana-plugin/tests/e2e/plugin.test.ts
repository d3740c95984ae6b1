/**
 * Browser tests of the BUILT plugin (dist/module.js) in Debian's headless Chromium.
 *
 * What is real: Loki 3.7.8 (test/loki), the Casefile server (server/bin, own process),
 * events sent through the OpenTelemetry JS exporter, the plugin's webpack output, Chromium.
 * What stands in for Grafana: tests/host — a page that provides Grafana's shared modules
 * (SystemJS `package:` registrations), runtime services and app root/config/panel rendering,
 * and a Node server that answers Grafana's API (plugin settings, the Loki data source proxy
 * and /api/ds/query, the app plugin proxy with plugin.json routes and role checks).
 *
 * Screenshots of every page: test-artifacts/screenshots/.
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
import { buildEvent, sendEvents, waitForCount, HOSTILE } from '../helpers/seed';
import { ARTIFACTS, startStack, type Stack } from '../helpers/stack';

const HOST = 'e2e-node';
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

describe('Casefile app plugin in a Grafana host page', { timeout: 7 * 60_000 }, () => {
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
        (r) => r.method === 'POST' && r.path.includes('/api/v1/snapshots') && r.status === 403
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
    await waitGridCount(page, seeded.length, 'panel grid');
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
});
