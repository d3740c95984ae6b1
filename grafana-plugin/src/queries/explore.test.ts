import { exploreUrl } from './explore';

describe('exploreUrl', () => {
  it('opens Explore on the Loki data source with the same LogQL and range', () => {
    const expr = '{service_namespace="casefile"} |~ "(?i)nc \\\\-l"';
    const url = exploreUrl('loki-uid', expr, 1000, 2000);
    expect(url.startsWith('/explore?schemaVersion=1&panes=')).toBe(true);
    const panes = JSON.parse(decodeURIComponent(url.split('panes=')[1]));
    expect(panes.casefile.datasource).toBe('loki-uid');
    expect(panes.casefile.queries).toEqual([
      { refId: 'A', expr, queryType: 'range', datasource: { type: 'loki', uid: 'loki-uid' } },
    ]);
    expect(panes.casefile.range).toEqual({ from: '1000', to: '2000' });
  });
});
