/** Small page helpers for the browser tests: screenshots, test-id locators, waits with deadlines. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ARTIFACTS } from './stack';

export const SCREENSHOTS = join(ARTIFACTS, 'screenshots');

/** Full-page screenshot to test-artifacts/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Poll `fn` until it returns a truthy value; throws with the last value after `ms` (default 30 s). */
export async function until<T>(what: string, fn: () => Promise<T>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      last = await fn();
      if (last) return last as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${String(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Collect uncaught page errors and console errors so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}
