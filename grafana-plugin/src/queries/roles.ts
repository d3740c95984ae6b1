import { config } from '@grafana/runtime';

/**
 * Whether the signed-in user may pin, lock or delete (Editor or above). Only
 * a hint for the UI: the plugin routes' reqRole is what Grafana enforces.
 */
export function canEdit(): boolean {
  const u = config.bootData?.user;
  return Boolean(u && (u.isGrafanaAdmin || u.orgRole === 'Editor' || u.orgRole === 'Admin'));
}
