/**
 * Enrichment: host activity classification (table), passwd parsing, and the
 * Stage against real processes: this host process and a Podman container's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { makeEvent, type CasefileEvent } from '@casefile/schema';
import { classifyExec } from '../src/enrich/classify';
import { Enricher } from '../src/enrich';
import { parsePasswd } from '../src/enrich/users';
import { RuntimeSource } from '../src/sources/runtime';
import { podmanUnavailableReason, setupPodman } from '../../test/containers/podman';

const logger = pino({ level: 'silent' });

test('exec classification table', () => {
  const table: Array<[string, string[], string | null]> = [
    ['/usr/bin/apt-get', ['apt-get', 'install', '-y', 'curl'], 'package_install'],
    ['/usr/bin/apt', ['apt', 'list'], null],
    ['/usr/bin/dpkg', ['dpkg', '-i', 'x.deb'], 'package_install'],
    ['/usr/bin/yum', ['yum', 'install', 'nmap'], 'package_install'],
    ['/sbin/apk', ['apk', 'add', 'socat'], 'package_install'],
    ['/usr/bin/pip3', ['pip3', 'install', 'requests'], 'package_install'],
    ['/usr/bin/python3', ['python3', '-m', 'pip', 'install', 'x'], 'package_install'],
    ['/usr/bin/npm', ['npm', 'install', 'left-pad'], 'package_install'],
    ['/usr/sbin/useradd', ['useradd', '-m', 'mallory'], 'user_change'],
    ['/usr/sbin/usermod', ['usermod', '-aG', 'sudo', 'mallory'], 'user_change'],
    ['/usr/sbin/groupadd', ['groupadd', 'ops'], 'group_change'],
    ['/usr/bin/docker', ['docker', 'run', '--privileged', 'alpine'], 'docker_command'],
    ['/usr/bin/podman', ['podman', 'ps'], 'docker_command'],
    ['/usr/local/bin/kubectl', ['kubectl', 'exec', '-it', 'pod', '--', 'sh'], 'kubectl_command'],
    ['/bin/bash', ['-bash'], 'interactive_shell'],
    ['/bin/bash', ['bash', '-i'], 'interactive_shell'],
    ['/bin/sh', ['sh'], 'interactive_shell'],
    ['/bin/sh', ['sh', '-c', 'echo hi'], null],
    ['/bin/bash', ['bash', 'script.sh'], null],
    ['/usr/bin/ls', ['ls', '-l'], null],
  ];
  for (const [exe, args, want] of table)
    assert.equal(classifyExec(exe, args), want, `${exe} ${args.join(' ')}`);
});

test('passwd parsing ignores comments, malformed lines and later duplicates', () => {
  const m = parsePasswd(
    '# c\nroot:x:0:0::/root:/bin/sh\nbad\nx:x:notanumber:0::/:/\nroot2:x:0:0::/:/\nalice:x:1000:1000::/home/alice:/bin/bash\n'
  );
  assert.deepEqual(
    [...m],
    [
      [0, 'root'],
      [1000, 'alice'],
    ]
  );
});

test('host process: scope and user from the host; classified exec gets a host.activity event', () => {
  const enr = new Enricher({ host: { name: 'node-1', id: 'm-1' }, classify: true }, logger);
  const out: CasefileEvent[] = [];
  const e = makeEvent({
    type: 'process.start',
    message: 'x',
    pid: process.pid,
    uid: 0,
    executable: '/usr/bin/apt-get',
    args: ['apt-get', 'install', 'x'],
    commandLine: 'apt-get install x',
  });
  enr.process(e, (x) => out.push(x));
  assert.equal(out.length, 2);
  assert.equal(out[0].id, e.id);
  assert.equal(out[0].host, 'node-1');
  assert.equal(out[0].hostId, 'm-1');
  assert.equal(out[0].user, 'root');
  assert.equal(out[0].containerId, undefined, 'this test process is on the host');
  assert.equal(out[1].type, 'host.activity');
  assert.equal(out[1].activity, 'package_install');
  assert.equal(out[1].user, 'root');
  assert.notEqual(out[1].id, e.id);
});

test(
  'container process: container id from cgroup, name/image/pod from the runtime, user from the container passwd',
  { skip: podmanUnavailableReason() ?? undefined, timeout: 120_000 },
  async () => {
    const pm = await setupPodman();
    const sock = await pm.startService();
    const rt = new RuntimeSource(sock, logger);
    try {
      const id = await pm.run(['/bin/sleep', '60'], {
        name: 'enrich-me',
        user: '1000',
        labels: { 'io.kubernetes.pod.name': 'p-1', 'io.kubernetes.pod.namespace': 'ns-1' },
      });
      await rt.start(() => undefined); // fills the shared container directory with running containers
      const pid = await pm.pid(id);
      const enr = new Enricher({ host: { name: 'node-1' }, runtimeSocket: sock }, logger);
      const out: CasefileEvent[] = [];
      enr.process(
        makeEvent({
          type: 'process.start',
          message: 'x',
          pid,
          uid: 1000,
          executable: '/bin/sleep',
          args: ['/bin/sleep', '60'],
        }),
        (x) => out.push(x)
      );
      assert.equal(out.length, 1, 'container execs are not host activity');
      const e = out[0];
      assert.equal(e.containerId, id);
      assert.equal(e.containerRuntime, 'podman');
      assert.equal(e.containerName, 'enrich-me');
      assert.equal(e.imageName, 'localhost/casefile-test/busybox:1');
      assert.match(e.imageDigest!, /^sha256:/);
      assert.equal(e.pod, 'p-1');
      assert.equal(e.namespace, 'ns-1');
      assert.equal(
        e.user,
        'appuser',
        "uid 1000 is appuser in the image's /etc/passwd, not the host's name for 1000"
      );
      // After the process is gone, a later event of the same pid still resolves from the cache.
      await pm.stop(id, 0);
      const exit: CasefileEvent[] = [];
      enr.process(makeEvent({ type: 'process.exit', message: 'x', pid }), (x) => exit.push(x));
      assert.equal(exit[0].containerId, id);
    } finally {
      await rt.stop();
      await pm.cleanup();
    }
  }
);
