import { FieldType, type DataFrame, type Field } from '@grafana/data';
import { compareEvents, eventFromLabels, type CasefileEvent } from '@casefile/schema';

/**
 * Nanoseconds of row `i`, from whichever field the frame shape carries: `tsNs` (Loki's
 * log-lines frames), else the time field with its `nanos` (the dataplane logs frame keeps
 * the sub-millisecond part there), else the time field alone (millisecond precision).
 */
function rowNs(tsNs: Field | undefined, time: Field | undefined, i: number): string {
  if (tsNs || !time) return String(tsNs!.values[i]);
  const ms = Number(time.values[i]);
  const whole = Math.floor(ms);
  const sub = time.nanos?.[i] ?? Math.round((ms - whole) * 1e6);
  return `${BigInt(whole) * 1_000_000n + BigInt(sub)}`;
}

/**
 * Events from the data frames Grafana's Loki data source returns for a log query, in
 * any of its shapes: log-lines frames (`labels`, `Time`, `Line`, `tsNs`), dataplane logs
 * frames (`labels`, `timestamp` with nanos, `body`) and frames whose labels sit on the
 * line field. Labels include structured metadata. Entries that are not Casefile events
 * are counted, not shown.
 */
export function eventsFromFrames(frames: readonly DataFrame[]): { events: CasefileEvent[]; skipped: number } {
  const events: CasefileEvent[] = [];
  let skipped = 0;
  for (const f of frames) {
    const labels = f.fields.find((x) => x.name === 'labels' || x.type === FieldType.other);
    const line =
      f.fields.find((x) => x.name === 'Line' || x.name === 'body') ??
      f.fields.find(
        (x) => x.type === FieldType.string && x !== labels && x.name !== 'tsNs' && x.name !== 'id'
      );
    const tsNs = f.fields.find((x) => x.name === 'tsNs');
    const time = f.fields.find((x) => x.type === FieldType.time);
    if (!line || (!tsNs && !time)) continue;
    const frameLabels = line.labels ?? {};
    for (let i = 0; i < f.length; i++) {
      const l = { ...frameLabels, ...((labels?.values[i] as Record<string, string> | undefined) ?? {}) };
      try {
        events.push(eventFromLabels(l, rowNs(tsNs, time, i), String(line.values[i] ?? '')));
      } catch {
        skipped++;
      }
    }
  }
  return { events: events.sort(compareEvents), skipped };
}
