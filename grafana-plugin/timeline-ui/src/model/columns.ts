import type { CasefileEvent } from '@casefile/schema';

/** The grid's columns a responder can choose; time, type and message are always shown. */
export const OPTIONAL_COLUMNS = ['severity', 'scope', 'user', 'pid', 'executable'] as const;
export type OptionalColumn = (typeof OPTIONAL_COLUMNS)[number];

/** Header, width (px) and cell text of each optional column. */
export const COLUMN_SPECS: Record<
  OptionalColumn,
  { label: string; width: number; value: (e: CasefileEvent) => string }
> = {
  severity: { label: 'Severity', width: 80, value: (e) => e.severity ?? '' },
  scope: {
    label: 'Container / host',
    width: 150,
    value: (e) => e.containerName ?? (e.containerId ? e.containerId.slice(0, 12) : (e.host ?? '')),
  },
  user: { label: 'User', width: 90, value: (e) => e.user ?? e.loginUser ?? '' },
  pid: { label: 'PID', width: 70, value: (e) => (e.pid === undefined ? '' : String(e.pid)) },
  executable: { label: 'Executable', width: 170, value: (e) => e.executable ?? '' },
};

/** Every optional column, in display order: the default. */
export const DEFAULT_COLUMNS: readonly OptionalColumn[] = OPTIONAL_COLUMNS;

/**
 * Columns from a stored comma list, unknown names dropped, display order kept.
 *
 * @example parseColumns('pid,bogus,user') // => ['user', 'pid']
 */
export function parseColumns(s: string | null | undefined): OptionalColumn[] {
  if (s === null || s === undefined) return [...DEFAULT_COLUMNS];
  const want = new Set(s.split(','));
  return OPTIONAL_COLUMNS.filter((c) => want.has(c));
}
