/**
 * Panel builders shared by the provisioned dashboards: every query comes from
 * schema's LogQL builders, every panel type is one Grafana 13 ships (or our
 * nested forensic-timeline panel), every panel reads the provisioned Loki.
 */
import { EVENT_TYPES, EVENT_TYPE_LABEL, FIELDS, lokiName } from '@casefile/schema';
import pluginJson from '../src/panels/forensic-timeline/plugin.json';

/** The provisioned Loki data source (provisioning/grafana/datasources/loki.yaml). */
export const LOKI = { type: 'loki', uid: 'casefile-loki' };
/** The nested panel's id. */
export const TIMELINE_PANEL = pluginJson.id;
/** The app's timeline page (grafana-plugin/src/plugin.json). */
export const APP_TIMELINE = '/a/casefile-forensics-app/timeline';

type Grid = { x: number; y: number; w: number; h: number };
type Field = keyof typeof FIELDS | 'type';

/** `{{label}}` legends for grouped series, e.g. `{{host_name}} {{casefile_source}}`. */
export function legend(fields: readonly Field[]): string {
  return fields.map((f) => `{{${f === 'type' ? EVENT_TYPE_LABEL : lokiName(FIELDS[f].attr)}}}`).join(' ');
}

/** A log query target (range; the panel shows the lines). */
export const logTarget = (expr: string) => ({
  refId: 'A',
  datasource: LOKI,
  expr,
  queryType: 'range',
  maxLines: 5000,
});

/** A metric target: range for a chart over time, instant for one number per series over the whole range. */
export const metricTarget = (expr: string, queryType: 'range' | 'instant', legendFormat: string) => ({
  refId: 'A',
  datasource: LOKI,
  expr,
  queryType,
  legendFormat,
});

const base = (id: number, type: string, title: string, gridPos: Grid, description?: string) => ({
  id,
  type,
  title,
  ...(description ? { description } : {}),
  gridPos,
  datasource: LOKI,
});

/** The nested Forensic timeline panel over a log query. */
export function timelinePanel(id: number, title: string, gridPos: Grid, expr: string) {
  return { ...base(id, TIMELINE_PANEL, title, gridPos), targets: [logTarget(expr)] };
}

/** Lines, newest first. */
export function logsPanel(id: number, title: string, gridPos: Grid, expr: string, description?: string) {
  return {
    ...base(id, 'logs', title, gridPos, description),
    targets: [logTarget(expr)],
    options: { showTime: true, wrapLogMessage: true, sortOrder: 'Descending', enableLogDetails: true },
  };
}

/** Stacked bars over time, one series per group; event types in their schema colours. */
export function barsOverTime(
  id: number,
  title: string,
  gridPos: Grid,
  expr: string,
  by: readonly Field[],
  description?: string
) {
  return {
    ...base(id, 'timeseries', title, gridPos, description),
    targets: [metricTarget(expr, 'range', legend(by))],
    fieldConfig: {
      defaults: { custom: { drawStyle: 'bars', stacking: { mode: 'normal' }, fillOpacity: 80 } },
      overrides: by.includes('type')
        ? Object.entries(EVENT_TYPES).map(([type, t]) => ({
            matcher: { id: 'byName', options: type },
            properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: t.color } }],
          }))
        : [],
    },
  };
}

/** Grafana's reduce transformation: one row per series (its legend) with the count over the range. */
const rowsPerSeries = { id: 'reduce', options: { reducers: ['lastNotNull'], mode: 'seriesToRows' } };
const byCountDesc = { id: 'sortBy', options: { sort: [{ field: 'Last *', desc: true }] } };

/** A table of counts over the dashboard's range, largest first, at most `limit` rows. */
export function countTable(
  id: number,
  title: string,
  gridPos: Grid,
  expr: string,
  by: readonly Field[],
  limit: number,
  description?: string
) {
  return {
    ...base(id, 'table', title, gridPos, description),
    targets: [metricTarget(expr, 'instant', legend(by))],
    transformations: [
      rowsPerSeries,
      byCountDesc,
      { id: 'limit', options: { limitField: limit } },
      { id: 'organize', options: { renameByName: { Field: title, 'Last *': 'Events' } } },
    ],
  };
}

/** Horizontal bars of counts over the range. */
export function countBars(id: number, title: string, gridPos: Grid, expr: string, by: readonly Field[]) {
  return {
    ...base(id, 'barchart', title, gridPos),
    targets: [metricTarget(expr, 'instant', legend(by))],
    transformations: [rowsPerSeries, byCountDesc],
    options: {
      xField: 'Field',
      orientation: 'horizontal',
      showValue: 'always',
      legend: { showLegend: false },
    },
  };
}

/** Shares of a count over the range. */
export function countPie(id: number, title: string, gridPos: Grid, expr: string, by: readonly Field[]) {
  return {
    ...base(id, 'piechart', title, gridPos),
    targets: [metricTarget(expr, 'instant', legend(by))],
    options: {
      reduceOptions: { calcs: ['lastNotNull'], values: false },
      pieType: 'donut',
      legend: { displayMode: 'table', placement: 'right', values: ['value'] },
    },
  };
}

/** One number per series over the range. */
export function countStat(
  id: number,
  title: string,
  gridPos: Grid,
  expr: string,
  by: readonly Field[],
  description?: string
) {
  return {
    ...base(id, 'stat', title, gridPos, description),
    targets: [metricTarget(expr, 'instant', legend(by))],
    options: { reduceOptions: { calcs: ['lastNotNull'], values: false }, textMode: 'value_and_name' },
  };
}
