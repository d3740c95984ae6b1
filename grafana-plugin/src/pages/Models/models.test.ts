import { makeEvent, msToNs, type CasefileEvent } from '@casefile/schema';
import { buildModels, selectModels, shortId } from './models';

const at = (ms: number, e: Record<string, unknown>): CasefileEvent =>
  makeEvent({ timeNs: msToNs(ms), message: String(e.type), ...e } as never);

describe('buildModels', () => {
  it('groups state, learned behaviours (with their times) and audits per image model', () => {
    const evs = [
      at(1000, { type: 'model.state', modelId: 'sha256:a', modelState: 'learning', imageName: 'payments:1' }),
      at(2000, {
        type: 'model.learned',
        modelId: 'sha256:a',
        behaviorKind: 'process',
        behavior: '/usr/bin/node',
        imageName: 'payments:1',
      }),
      at(3000, {
        type: 'model.learned',
        modelId: 'sha256:a',
        behaviorKind: 'listen',
        behavior: '8080',
        imageName: 'payments:1',
      }),
      at(4000, { type: 'model.state', modelId: 'sha256:a', modelState: 'active', imageName: 'payments:1' }),
      at(5000, {
        type: 'runtime.audit',
        attackType: 'unexpected_process',
        severity: 'high',
        ruleId: 'r',
        action: 'alert',
        imageName: 'payments:1',
      }),
      at(6000, {
        type: 'runtime.audit',
        attackType: 'reverse_shell',
        severity: 'critical',
        ruleId: 'r2',
        action: 'prevent',
        modelId: 'sha256:b',
        imageName: 'web:2',
      }),
    ];
    const models = buildModels(evs);
    expect(models.map((m) => [m.image, m.state])).toEqual([
      ['payments:1', 'active'],
      ['web:2', 'unknown'],
    ]);
    const p = models[0];
    expect(p.stateSinceMs).toBe(4000);
    expect(p.behaviours.map((b) => [b.kind, b.value, b.timeMs])).toEqual([
      ['process', '/usr/bin/node', 2000],
      ['listen', '8080', 3000],
    ]);
    expect(p.audits.map((a) => a.attackType)).toEqual(['unexpected_process']);
    expect(models[1].audits.map((a) => a.attackType)).toEqual(['reverse_shell']);
  });

  it("reaches a model's state (which names no image) by image, container and host, and every audit", () => {
    const where = { host: 'node-1', containerName: 'web', containerId: 'c'.repeat(64), imageName: 'web:1' };
    const audit = (ms: number, extra: Record<string, unknown>) =>
      at(ms, { type: 'runtime.audit', severity: 'high', ruleId: 'r', action: 'alert', ...extra });
    const evs = [
      at(1000, {
        type: 'model.learned',
        modelId: 'sha256:w',
        behaviorKind: 'process',
        behavior: '/app',
        ...where,
      }),
      // As the collector emits it: the model id alone (and the host, a stream label).
      at(2000, { type: 'model.state', modelId: 'sha256:w', modelState: 'active', host: 'node-1' }),
      audit(3000, { attackType: 'unexpected_process', modelId: 'sha256:w', ...where }),
      // Host-level audits name no model, no image, no container.
      audit(4000, { attackType: 'reverse_shell', host: 'node-1' }),
      audit(5000, { attackType: 'drift', host: 'node-2' }),
    ];
    const models = buildModels(evs);
    const state = (s: Parameters<typeof selectModels>[1]) =>
      selectModels(models, s).map((m) => [m.id, m.state, m.audits.map((a) => a.attackType)]);
    const web = ['sha256:w', 'active', ['unexpected_process']];
    expect(state({ image: 'web:1' })).toEqual([web]);
    expect(state({ container: 'web' })).toEqual([web]);
    expect(state({ container: 'c'.repeat(64) })).toEqual([web]);
    expect(state({ host: 'node-1' })).toEqual([['host:node-1', 'no model', ['reverse_shell']], web]);
    expect(state({ host: 'node-2' })).toEqual([['host:node-2', 'no model', ['drift']]]);
    expect(models.flatMap((m) => m.audits)).toHaveLength(3);
  });

  it('shortens a sha256 model id for reading', () => {
    expect(shortId(`sha256:${'ab'.repeat(32)}`)).toBe('sha256:abababababab');
    expect(shortId('node-1')).toBe('node-1');
  });
});
