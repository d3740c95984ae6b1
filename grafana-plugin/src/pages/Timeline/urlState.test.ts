import { parseState, stateParams, stateQuery, urlRange } from './urlState';

describe('timeline URL state', () => {
  it('reads scope, range, search, hidden types and the open event; ignores unknown types', () => {
    const s = parseState(
      '?from=now-6h&to=now&containerName=web&host=n1&q=nc%20-l&hide=process.exit,bogus&event=e1'
    );
    expect(s).toEqual({
      from: 'now-6h',
      to: 'now',
      scope: { host: 'n1', containerName: 'web' },
      search: 'nc -l',
      hidden: new Set(['process.exit']),
      event: 'e1',
      tz: undefined,
      explicitRange: true,
    });
  });

  it('defaults to the last hour', () => {
    expect(parseState('')).toMatchObject({
      from: 'now-1h',
      to: 'now',
      scope: {},
      search: '',
      hidden: new Set(),
    });
  });

  it('writes params that clear what is unset and round-trips', () => {
    expect(stateParams({ scope: { pod: 'p' }, search: '', hidden: new Set() })).toMatchObject({
      pod: 'p',
      host: null,
      q: null,
      hide: null,
    });
    const q = stateQuery({
      from: '1',
      to: '2',
      scope: { imageName: 'img:1' },
      hidden: new Set(['port.listen']),
      event: 'x',
    });
    expect(parseState(`?${q}`)).toMatchObject({
      from: '1',
      to: '2',
      scope: { imageName: 'img:1' },
      hidden: new Set(['port.listen']),
      event: 'x',
    });
  });

  it('reads digits as epoch ms, never as an ISO basic date', () => {
    const r = urlRange('1796120100000', '1796120140001');
    expect([r.from.valueOf(), r.to.valueOf()]).toEqual([1796120100000, 1796120140001]);
    expect(urlRange('now-1h', 'now').raw).toEqual({ from: 'now-1h', to: 'now' });
  });
});
