import { absoluteUrl } from './http';

/**
 * A link to Grafana Explore running the same LogQL over the same range.
 *
 * @example exploreUrl('abc', '{service_namespace="casefile"}', 0, 1000)
 *   // => '/explore?schemaVersion=1&panes=%7B%22casefile%22%3A...'
 */
export function exploreUrl(lokiUid: string, expr: string, fromMs: number, toMs: number): string {
  const panes = {
    casefile: {
      datasource: lokiUid,
      queries: [{ refId: 'A', expr, queryType: 'range', datasource: { type: 'loki', uid: lokiUid } }],
      range: { from: String(Math.round(fromMs)), to: String(Math.round(toMs)) },
    },
  };
  return absoluteUrl(`explore?schemaVersion=1&panes=${encodeURIComponent(JSON.stringify(panes))}`);
}
