import { PanelPlugin } from '@grafana/data';
import { TimelinePanel, type TimelinePanelOptions } from './TimelinePanel';

/** "Forensic timeline": a nested panel of the Casefile app, for dashboards. */
export const plugin = new PanelPlugin<TimelinePanelOptions>(TimelinePanel);
