import { standInBackendSrv } from '../test/backendSrvStandIn';
import {
  PIN_WAIT_MS,
  cancelPinJob,
  deleteSnapshot,
  getPinJob,
  listPinJobs,
  liveCsvUrl,
  setLocked,
  snapshotEvents,
  startPinJob,
} from './server';

const BASE = 'api/plugin-proxy/casefile-forensics-app/api/v1';

describe('server client (plugin routes)', () => {
  it('starts a pin job through the POST route with the filter of the view, waiting a moment for small pins', async () => {
    const seen = standInBackendSrv(() => ({
      status: 202,
      data: { job: { id: 'j1', state: 'running', eventsRead: 0, estimatedTotal: null } },
    }));
    const { job, snapshot } = await startPinJob({
      title: 't',
      scope: { containerName: 'web' },
      from: 1,
      to: 2,
      types: ['process.start'],
      search: 'nc',
    });
    expect(job.id).toBe('j1');
    expect(snapshot).toBeUndefined();
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: `${BASE}/pin-jobs`,
      params: { waitMs: PIN_WAIT_MS },
      data: {
        title: 't',
        scope: { containerName: 'web' },
        from: 1,
        to: 2,
        types: ['process.start'],
        search: 'nc',
      },
    });
  });

  it('follows, lists and cancels pin jobs by id', async () => {
    const seen = standInBackendSrv(() => ({ data: { items: [], total: 0 } }));
    await getPinJob('j 1');
    await listPinJobs();
    await cancelPinJob('j 1');
    expect(seen.map((r) => `${r.method} ${r.url} ${JSON.stringify(r.params ?? {})}`)).toEqual([
      `GET ${BASE}/pin-jobs/j%201 {}`,
      `GET ${BASE}/pin-jobs {"active":true}`,
      `DELETE ${BASE}/pin-jobs/j%201 {}`,
    ]);
  });

  it('locks, unlocks and deletes by id', async () => {
    const seen = standInBackendSrv(() => ({ data: {} }));
    await setLocked('a-1', true);
    await setLocked('a-1', false);
    await deleteSnapshot('a-1');
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      `POST ${BASE}/snapshots/a-1/lock`,
      `POST ${BASE}/snapshots/a-1/unlock`,
      `DELETE ${BASE}/snapshots/a-1`,
    ]);
  });

  it('says when the role is not enough', async () => {
    standInBackendSrv(() => ({ status: 403, data: { message: 'Permission denied' } }));
    await expect(deleteSnapshot('x')).rejects.toThrow(
      /403 Permission denied \(your Grafana role does not allow this\)/
    );
  });

  it("pages a snapshot's events until the total", async () => {
    const seen = standInBackendSrv((r) => {
      const offset = r.params.offset as number;
      const n = Math.min(5000, 7000 - offset);
      return {
        data: { items: Array.from({ length: n }, (_, i) => ({ id: `e${offset + i}` })), total: 7000 },
      };
    });
    const evs = await snapshotEvents('s', 100_000);
    expect(evs).toHaveLength(7000);
    expect(seen.map((r) => r.params.offset)).toEqual([0, 5000]);
  });

  it('builds the live CSV link from the filter', () => {
    expect(
      liveCsvUrl({ containerName: 'a b', host: 'n1' }, 1000, 2000, ['process.start', 'port.listen'], 'x&y')
    ).toBe(
      `${BASE}/export.csv?containerName=a+b&host=n1&from=1000&to=2000&types=process.start%2Cport.listen&search=x%26y`
    );
  });
});
