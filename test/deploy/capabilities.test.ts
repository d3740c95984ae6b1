/**
 * The DaemonSet's capability list is what the collector really needs: the
 * built collector runs as root with exactly those capabilities (setpriv
 * bounding set) and tracefs mounted read-only (a private mount namespace), as
 * in the pod, and its eBPF source must attach and report a process started
 * afterwards. Without SYS_ADMIN (bpftrace 0.17 detects BTF only with it) the
 * eBPF source must not come up, so the list is not larger than it looks.
 */
import { equal, ok } from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { ensureBuilt } from './config-check';
import { firstContainer, only, renderKustomization } from './manifests';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'collector/bin/casefile-collector.js');

function daemonSetCapabilities(): string[] {
  const ds = only(renderKustomization(join(ROOT, 'deploy/kubernetes/overlays/sqlite')), 'DaemonSet');
  return firstContainer(ds).securityContext!.capabilities!.add!;
}

/**
 * Run the collector (ebpf source, --stdout) with only `caps`, start marked
 * processes until one is reported or `ms` pass; returns the eBPF source's
 * health and whether the marker was seen.
 */
async function runWithCapabilities(caps: string[], ms: number): Promise<{ ebpf: string; seen: boolean }> {
  await ensureBuilt();
  const marker = `casefile-cap-${randomBytes(4).toString('hex')}`;
  const bounding = ['-all', ...caps.map((c) => `+${c.toLowerCase()}`)].join(',');
  const script =
    'mount --bind /sys/kernel/tracing /sys/kernel/tracing && mount -o remount,bind,ro /sys/kernel/tracing && exec "$@"';
  const args = ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh'];
  args.push('setpriv', '--bounding-set', bounding, process.execPath, BIN, '--stdout', '--sources', 'ebpf');
  args.push('--listen', '127.0.0.1:0', '--state-dir', mkdtempSync(join(tmpdir(), 'casefile-caps-')));
  const child = spawn('unshare', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + ms;
  let ebpf = 'not reported';
  let seen = false;
  try {
    while (Date.now() < deadline && !seen) {
      await new Promise((r) => setTimeout(r, 1000));
      const addr = /"address":"([^"]+)","msg":"serving/.exec(err)?.[1];
      if (addr) {
        const h = (await (await fetch(`http://${addr}/healthz`)).json()) as {
          sources: Record<string, string>;
        };
        ebpf = h.sources.ebpf ?? ebpf;
        // While bpftrace compiles, /healthz says `starting`; `inactive: <reason>` means it gave up.
        if (ebpf.startsWith('inactive')) break;
      }
      await new Promise((r) => execFile('/bin/sh', ['-c', 'exit 0', marker], r));
      seen = out.split('\n').some((l) => l.includes('"process.start"') && l.includes(marker));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return { ebpf, seen };
}

test('the DaemonSet’s capabilities are enough: eBPF attaches and reports a new process', async () => {
  const { ebpf, seen } = await runWithCapabilities(daemonSetCapabilities(), 120_000);
  equal(ebpf, 'active');
  ok(seen, 'a process started after attach is reported');
});

test('without SYS_ADMIN the eBPF source does not come up (bpftrace 0.17)', async () => {
  const caps = daemonSetCapabilities().filter((c) => c !== 'SYS_ADMIN');
  const { ebpf, seen } = await runWithCapabilities(caps, 60_000);
  ok(ebpf !== 'active', `eBPF source: ${ebpf}`);
  equal(seen, false);
});
