import { nsToMs, type CasefileEvent } from '@casefile/schema';

/** What the Runtime models page shows for one model (an image's or a host's), or for audits outside any model. */
export interface ModelView {
  /** The model id (image digest, name or host); `host:<name>` for audits that name no model. */
  id: string;
  image: string;
  /** Latest state from model.state events ('learning' | 'active'), or the learned events' state; 'no model' for audits outside any model. */
  state: string;
  stateSinceMs?: number;
  behaviours: Array<{ kind: string; value: string; timeMs: number; event: CasefileEvent }>;
  audits: CasefileEvent[];
  /** Where the model's events came from, for choosing by image, container and host. */
  images: Set<string>;
  /** Container names and ids. */
  containers: Set<string>;
  hosts: Set<string>;
}

/** How the page narrows the models: by image, by container (name or id) and by host. */
export interface ModelScope {
  image?: string;
  container?: string;
  host?: string;
}

/** The group of audits on a host that name no model (host-level reverse shell, host drift). */
export const NO_MODEL_PREFIX = 'host:';

function note(m: ModelView, e: CasefileEvent) {
  if (e.imageName) m.images.add(e.imageName);
  if (e.containerName) m.containers.add(e.containerName);
  if (e.containerId) m.containers.add(e.containerId);
  if (e.host) m.hosts.add(e.host);
}

/**
 * Group model.state, model.learned and runtime.audit events (sorted by time) into one view per model.
 * A `model.state` event names only its model (no image): it joins the model by id. An audit belongs
 * to its modelId, else to the model of its image, else to its host's model, else to the host's
 * "audits outside any model", so every audit is on the page.
 *
 * @example buildModels([learned('img', 'process', '/bin/sh')])[0].behaviours[0].value // => '/bin/sh'
 */
export function buildModels(events: readonly CasefileEvent[]): ModelView[] {
  const byId = new Map<string, ModelView>();
  const idByImage = new Map<string, string>();
  const get = (id: string, image?: string) => {
    let m = byId.get(id);
    if (!m)
      byId.set(
        id,
        (m = {
          id,
          image: image ?? id,
          state: 'unknown',
          behaviours: [],
          audits: [],
          images: new Set(),
          containers: new Set(),
          hosts: new Set(),
        })
      );
    if (image && m.image === m.id) m.image = image;
    if (image) idByImage.set(image, id);
    return m;
  };
  for (const e of events) {
    if (e.type === 'model.state' && e.modelId) {
      const m = get(e.modelId, e.imageName);
      m.state = e.modelState ?? m.state;
      m.stateSinceMs = nsToMs(e.timeNs);
      if (e.imageName) m.images.add(e.imageName);
    } else if (e.type === 'model.learned' && e.modelId) {
      const m = get(e.modelId, e.imageName);
      note(m, e);
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
    const id =
      e.modelId ??
      (e.imageName ? (idByImage.get(e.imageName) ?? e.imageName) : undefined) ??
      (e.host && byId.has(e.host) ? e.host : undefined);
    const m = id ? get(id, e.imageName) : noModel(e.host ?? 'unknown');
    note(m, e);
    m.audits.push(e);
  }
  function noModel(host: string): ModelView {
    const m = get(`${NO_MODEL_PREFIX}${host}`, `Host ${host}: audits outside any model`);
    m.state = 'no model';
    return m;
  }
  return [...byId.values()].sort((a, b) => a.image.localeCompare(b.image));
}

/**
 * The models a scope reaches, each with only the audits inside it: by image (the model learned
 * from or audited in that image, or named after it), by container name or id (events in that
 * container), by host. A model.state carries no image, container or host of its own, so a model is
 * reached through its learned behaviours and audits, and its state comes with it.
 */
export function selectModels(models: readonly ModelView[], s: ModelScope): ModelView[] {
  const out: ModelView[] = [];
  for (const m of models) {
    if (s.image && !m.images.has(s.image) && m.id !== s.image && m.image !== s.image) continue;
    if (s.container && !m.containers.has(s.container)) continue;
    if (s.host && !m.hosts.has(s.host) && m.id !== s.host) continue;
    const audits = m.audits.filter(
      (a) =>
        (!s.container || a.containerName === s.container || a.containerId === s.container) &&
        (!s.host || a.host === s.host) &&
        (!s.image || a.imageName === s.image || !a.imageName)
    );
    out.push(audits.length === m.audits.length ? m : { ...m, audits });
  }
  return out;
}

/**
 * A long model id (a sha256 image id) shortened for reading, as `docker images` does.
 *
 * @example shortId('sha256:0123456789abcdef0123') // => 'sha256:0123456789ab'
 */
export function shortId(id: string): string {
  const m = /^(sha256:)?([0-9a-f]{12})[0-9a-f]{20,}$/.exec(id);
  return m ? `${m[1] ?? ''}${m[2]}` : id;
}
