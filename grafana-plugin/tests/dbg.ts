import { startStack } from './helpers/stack';
import { launchChromium } from './helpers/browser';
const stack = await startStack();
const b = await launchChromium();
const p = await b.newPage();
p.on('console', (m) => m.type() === 'error' && console.log('console', m.text().slice(0, 1500)));
p.on('pageerror', (e) => console.log('pageerror', e.message.slice(0, 1500)));
for (const path of (process.argv[2] ?? '/a/casefile-forensics-app/timeline').split(',')) {
  await p.goto(stack.host.url + path);
  await new Promise((r) => setTimeout(r, 8000));
  await p.screenshot({ path: '/tmp/cf/dbg.png', fullPage: true });
}
await b.close(); await stack.stop();
