import { makeEvent, msToNs, type CasefileEvent } from '@casefile/schema';
import { buildModels } from './models';

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
});
