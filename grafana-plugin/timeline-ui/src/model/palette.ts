import { EVENT_TYPES, type CasefileEvent, type EventType } from '@casefile/schema';

/**
 * The timeline's colours: Paul Tol's colour-blind-safe qualitative palettes (muted, light,
 * vibrant) for the event types, and one warm lightness ramp kept for runtime audits by
 * severity, so an audit never shares a hue family with any other type.
 * (schema's EVENT_TYPES colours are Grafana's classic palette, four greens and three reds;
 * a type added to the schema later falls back to its schema colour until it gets one here.)
 */
const PALETTE: Partial<Record<EventType, string>> = {
  'container.start': '#332288',
  'container.stop': '#77AADD',
  'process.start': '#44AA99',
  'container.exec': '#AA4499',
  'process.exit': '#BBCC33',
  'port.listen': '#DDCC77',
  'port.close': '#999933',
  'network.connect': '#88CCEE',
  'process.syscall': '#117733',
  'host.login': '#CC6677',
  'host.activity': '#882255',
  'model.learned': '#BBBBBB',
  'model.state': '#DDDDDD',
  'runtime.audit': '#B2182B',
  'runtime.action': '#AAAA00',
  'snapshot.pinned': '#4477AA',
  'snapshot.custody': '#EE8866',
};

/** Every type's colour. */
export const TYPE_COLORS = Object.fromEntries(
  (Object.keys(EVENT_TYPES) as EventType[]).map((t) => [t, PALETTE[t] ?? EVENT_TYPES[t].color])
) as Record<EventType, string>;

/** Audits by severity: warm, from light orange to a strong magenta, each legible on dark and light backgrounds. */
export const SEVERITY_COLORS: Record<string, string> = {
  low: '#FDB863',
  medium: '#E66100',
  high: '#B2182B',
  critical: '#E7298A',
};

/** Severities from worst to least. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;

/** An event's colour: an audit's by its severity, any other by its type. */
export function eventColor(e: Pick<CasefileEvent, 'type' | 'severity'>): string {
  return (e.type === 'runtime.audit' && e.severity && SEVERITY_COLORS[e.severity]) || TYPE_COLORS[e.type];
}
