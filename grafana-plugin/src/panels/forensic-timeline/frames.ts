import { FieldType, type DataFrame } from '@grafana/data';
import { compareEvents, eventFromLabels, type CasefileEvent } from '@casefile/schema';

/**
 * Events from the data frames Grafana's Loki data source returns for a log
 * query (the dataplane shape: a `labels` field of label objects, `Time` or
 * `tsNs`, and `Line`). Labels include structured metadata. Entries that are
 * not Casefile events are counted, not shown.
 */
export function eventsFromFrames(frames: readonly DataFrame[]): { events: CasefileEvent[]; skipped: number } {
  const events: CasefileEvent[] = [];
  let skipped = 0;
  for (const f of frames) {
    const labels = f.fields.find((x) => x.name === 'labels' || x.type === FieldType.other);
    const line =
      f.fields.find((x) => x.name === 'Line' || x.name === 'body') ??
      f.fields.find((x) => x.type === FieldType.string && x !== labels);
    const tsNs = f.fields.find((x) => x.name === 'tsNs');
    const time = f.fields.find((x) => x.type === FieldType.time);
    if (!line || (!tsNs && !time)) continue;
    const frameLabels = line.labels ?? {};
    for (let i = 0; i < f.length; i++) {
      const l = { ...frameLabels, ...((labels?.values[i] as Record<string, string> | undefined) ?? {}) };
      const ns = tsNs
        ? String(tsNs.values[i])
        : `${BigInt(Math.round(Number(time!.values[i]))) * 1_000_000n}`;
      try {
        events.push(eventFromLabels(l, ns, String(line.values[i] ?? '')));
      } catch {
        skipped++;
      }
    }
  }
  return { events: events.sort(compareEvents), skipped };
}
