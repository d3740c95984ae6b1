/**
 * What is known about each container (name, image, digest, labels, pod),
 * shared by the runtime source (which fills it from the Engine API) and the
 * enricher (which reads it for every event). One directory per Engine API
 * socket, so the two factories meet without being wired to each other.
 */
import { EngineClient, type ContainerInspect } from './engine-client';

export interface ContainerInfo {
  containerId: string;
  containerName?: string;
  imageName?: string;
  /** Repo digest (`sha256:...`) when the image has one, else the image id. */
  imageDigest?: string;
  labels: Record<string, string>;
  pod?: string;
  namespace?: string;
  podUid?: string;
  /** Host pid of the container's init process (to reach its /etc/passwd). */
  pid?: number;
  runtime?: string;
}

/** Kubernetes labels every CRI runtime (and kubelet-managed dockershim) sets. */
export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const POD_UID_LABEL = 'io.kubernetes.pod.uid';

/**
 * Map an inspect answer (+ the image's repo digests) to ContainerInfo.
 * @example infoFromInspect({ Id: 'abc', Name: '/web', Config: { Image: 'nginx:1', Labels: {} } }).containerName === 'web'
 */
export function infoFromInspect(
  c: ContainerInspect,
  image?: { Id?: string; RepoDigests?: string[] }
): ContainerInfo {
  const labels = c.Config?.Labels ?? {};
  const digest = image?.RepoDigests?.map((d) => d.slice(d.indexOf('@') + 1)).find((d) =>
    d.startsWith('sha256:')
  );
  return {
    containerId: c.Id,
    containerName: c.Name?.replace(/^\//, ''),
    imageName: c.Config?.Image ?? c.Image,
    imageDigest: digest ?? image?.Id ?? (c.Image?.startsWith('sha256:') ? c.Image : undefined),
    labels,
    pod: labels[POD_NAME_LABEL],
    namespace: labels[POD_NAMESPACE_LABEL],
    podUid: labels[POD_UID_LABEL],
    pid: c.State?.Pid || undefined,
  };
}

const MAX_ENTRIES = 4096;

export class ContainerDirectory {
  private readonly byId = new Map<string, ContainerInfo>();
  private readonly pending = new Map<string, Promise<ContainerInfo | undefined>>();
  readonly client: EngineClient;

  constructor(socketPath: string) {
    this.client = new EngineClient(socketPath);
  }

  get(id: string): ContainerInfo | undefined {
    return this.byId.get(id);
  }

  set(info: ContainerInfo): void {
    this.byId.delete(info.containerId);
    this.byId.set(info.containerId, info);
    if (this.byId.size > MAX_ENTRIES) this.byId.delete(this.byId.keys().next().value!);
  }

  /**
   * Inspect a container (and its image) through the Engine API; undefined
   * when unknown. Concurrent calls share one inspect, except `fresh` ones
   * (a container start), which inspect again after any in flight: an inspect
   * begun before the start would miss its pid.
   */
  lookup(id: string, fresh = false): Promise<ContainerInfo | undefined> {
    const inFlight = this.pending.get(id);
    if (inFlight && !fresh) return inFlight;
    const p = (inFlight ?? Promise.resolve(undefined))
      .then(async () => {
        const c = await this.client.inspect(id);
        const img = c.Image ? await this.client.inspectImage(c.Image).catch(() => undefined) : undefined;
        this.set({ ...this.byId.get(id), ...infoFromInspect(c, img) });
        return this.byId.get(id);
      })
      .catch(() => undefined)
      .finally(() => {
        if (this.pending.get(id) === p) this.pending.delete(id);
      });
    this.pending.set(id, p);
    return p;
  }
}

const directories = new Map<string, ContainerDirectory>();

/** The directory for one Engine API socket (created on first use). */
export function containerDirectory(socketPath: string): ContainerDirectory {
  let d = directories.get(socketPath);
  if (!d) directories.set(socketPath, (d = new ContainerDirectory(socketPath)));
  return d;
}
