import { nsToMs, type CasefileEvent } from '@casefile/schema';

/** What the Runtime models page shows for one image's model. */
export interface ModelView {
  /** The model id (image digest, name or host). */
  id: string;
  image: string;
  /** Latest state from model.state events ('learning' | 'active'), or the learned events' state. */
  state: string;
  stateSinceMs?: number;
  behaviours: Array<{ kind: string; value: string; timeMs: number; event: CasefileEvent }>;
  audits: CasefileEvent[];
}

/**
 * Group model.state, model.learned and runtime.audit events (sorted by time) into one view per model.
 * An audit belongs to its modelId, else to the model of its image.
 *
 * @example buildModels([learned('img', 'process', '/bin/sh')])[0].behaviours[0].value // => '/bin/sh'
 */
export function buildModels(events: readonly CasefileEvent[]): ModelView[] {
  const byId = new Map<string, ModelView>();
  const idByImage = new Map<string, string>();
  const get = (id: string, image?: string) => {
    let m = byId.get(id);
    if (!m) byId.set(id, (m = { id, image: image ?? id, state: 'unknown', behaviours: [], audits: [] }));
    if (image && m.image === m.id) m.image = image;
    if (image) idByImage.set(image, id);
    return m;
  };
  for (const e of events) {
    if (e.type === 'model.state' && e.modelId) {
      const m = get(e.modelId, e.imageName);
      m.state = e.modelState ?? m.state;
      m.stateSinceMs = nsToMs(e.timeNs);
    } else if (e.type === 'model.learned' && e.modelId) {
      const m = get(e.modelId, e.imageName);
      if (m.state === 'unknown' && e.modelState) m.state = e.modelState;
      m.behaviours.push({
        kind: e.behaviorKind ?? '',
        value: e.behavior ?? '',
        timeMs: nsToMs(e.timeNs),
        event: e,
      });
    }
  }
  for (const e of events) {
    if (e.type !== 'runtime.audit') continue;
    const id = e.modelId ?? (e.imageName ? idByImage.get(e.imageName) : undefined) ?? e.imageName;
    if (id) get(id, e.imageName).audits.push(e);
  }
  return [...byId.values()].sort((a, b) => a.image.localeCompare(b.image));
}
