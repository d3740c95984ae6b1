/**
 * @casefile/timeline-ui: the forensic timeline view shared by the Casefile app
 * and its nested "Forensic timeline" panel (a workspace package, because
 * nested plugins must not import each other's folders).
 */
export { testIds } from './testIds';
export * from './model/buckets';
export * from './model/filter';
export * from './model/palette';
export * from './model/time';
export * from './model/processTree';
export * from './model/columns';
export * from './model/auditGroups';
export { TimelineChart } from './components/TimelineChart/TimelineChart';
export { TypeToggles } from './components/TypeToggles/TypeToggles';
export { EventGrid, ROW_HEIGHT } from './components/EventGrid/EventGrid';
export { EventDetails, detailRows } from './components/EventDetails/EventDetails';
export { ForensicView, type ForensicViewProps } from './components/ForensicView/ForensicView';
