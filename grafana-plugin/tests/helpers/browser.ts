/**
 * Debian's Chromium (/usr/bin/chromium) driven by playwright-core; never a downloaded
 * browser. Flags from shared/MACHINE.md. playwright-core gives every launch a fresh
 * temporary --user-data-dir itself (it refuses one passed in args) and removes it on close.
 */
import { chromium, type Browser } from 'playwright-core';

/** Path of the browser; CHROMIUM_PATH overrides, default /usr/bin/chromium. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launch headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
