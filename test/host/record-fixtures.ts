/**
 * Re-record collector/test/fixtures/host/ from the real daemons (root):
 * `node --import tsx test/host/record-fixtures.ts`. The lab's users and ports
 * differ per run; the unit tests read the names from the recorded lines.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { AuthLab } from './auth-lab';
import { runScenarios } from './scenarios';

const out = new URL('../../collector/test/fixtures/host/', import.meta.url);
const lab = new AuthLab();
try {
  lab.prepare();
  await lab.start();
  const facts = await runScenarios(lab);
  await new Promise((r) => setTimeout(r, 500));
  copyFileSync(lab.authLog, new URL('auth.log', out));
  copyFileSync(lab.traditionalLog, new URL('auth-traditional.log', out));
  writeFileSync(
    new URL('facts.json', out),
    JSON.stringify({ ...facts, user: lab.user.name, other: lab.other.name }, null, 2) + '\n'
  );
  console.log(facts);
} finally {
  await lab.stop();
}
