import pluginJson from './plugin.json';

/** The app's id and where Grafana mounts it. */
export const PLUGIN_ID = pluginJson.id;
export const PLUGIN_BASE_URL = `/a/${PLUGIN_ID}`;

/** Page routes, relative to {@link PLUGIN_BASE_URL}. */
export enum ROUTES {
  Timeline = 'timeline',
  Models = 'models',
  Snapshots = 'snapshots',
}

/** An absolute in-app URL: prefixRoute(ROUTES.Models) === '/a/casefile-forensics-app/models'. */
export function prefixRoute(route: string): string {
  return `${PLUGIN_BASE_URL}/${route}`;
}

/** Events read from Loki per request: Loki's default max_entries_limit_per_query. */
export const LOKI_PAGE_SIZE = 5000;
/**
 * The first page is smaller, so the grid is usable sooner: measured on Loki 3.7 with 100k events in range,
 * 1,000 entries answer in ~170 ms (0.9 MB) against ~600 ms (4.6 MB) for 5,000. It still fills many screens.
 */
export const FIRST_PAGE_SIZE = 1000;
/** Events the grid keeps in memory before asking the user to narrow the range. */
export const MAX_GRID_EVENTS = 200_000;
/** Minutes shown before an event by "What led up to this". */
export const LED_UP_TO_MINUTES = 5;
