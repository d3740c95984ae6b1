import { startLoki } from '../../test/loki/loki-server';
import { startHost } from './host/server';
import { launchChromium } from './helpers/browser';
const loki = await startLoki();
const t0 = Date.now();
const host = await startHost({ distDir: new URL('./fixture-plugin/dist', import.meta.url).pathname, lokiUrl: loki.url, jsonData: { serverUrl: 'http://127.0.0.1:9' }, secureJsonData: { token: 't' } });
console.log('host up', Date.now() - t0, host.url);
const b = await launchChromium();
const p = await b.newPage();
p.on('console', (m) => console.log('console', m.type(), m.text()));
p.on('pageerror', (e) => console.log('pageerror', e.message));
try {
  await p.goto(host.url + '/a/fixture-app/x');
  await p.getByTestId('fixture-root').waitFor({ timeout: 15000 });
  await p.waitForFunction(() => document.querySelector('[data-testid=fixture-root]')!.textContent!.includes('frames'), null, { timeout: 15000 });
  console.log(await p.getByTestId('fixture-root').textContent());
  await p.goto(host.url + '/plugins/fixture-app?page=configuration');
  console.log(await p.getByTestId('fixture-config').textContent({ timeout: 10000 }));
  await p.goto(host.url + '/host/panel?expr=' + encodeURIComponent('{service_namespace="casefile"}'));
  console.log(await p.getByTestId('fixture-panel').textContent({ timeout: 10000 }));
  await p.screenshot({ path: '/tmp/cf/smoke.png' });
} catch (e) { console.log('FAIL', e); await p.screenshot({ path: '/tmp/cf/smoke.png' }); console.log(await p.content()); }
console.log(host.requests);
await b.close(); await host.close(); await loki.stop();
