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
/** Events the grid keeps in memory before asking the user to narrow the range. */
export const MAX_GRID_EVENTS = 200_000;
/** Minutes shown before an event by "What led up to this". */
export const LED_UP_TO_MINUTES = 5;
