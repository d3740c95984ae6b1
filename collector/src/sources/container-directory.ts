/**
 * What is known about each container (name, image, digest, labels, pod),
 * shared by the runtime sources (which fill it from the Engine API or the
 * CRI) and the enricher (which reads it for every event). One directory per
 * process: container ids are unique across runtimes, and each runtime adds
 * an inspector that answers for the containers it runs.
 */
import { existsSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { EngineClient, type ContainerInspect } from './engine-client';

export interface ContainerInfo {
  containerId: string;
  containerName?: string;
  imageName?: string;
  /** Repo digest (`sha256:...`) when the image has one, else the image id. */
  imageDigest?: string;
  labels: Record<string, string>;
  /** CRI annotations (kept for lookups; not emitted: the schema has no field, and they can be large). */
  annotations?: Record<string, string>;
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

/** How one runtime answers "what is container <id>?" (undefined or a throw: not one of mine). */
export interface ContainerInspector {
  /** The runtime's socket; lookups skip it while it does not exist. */
  readonly socketPath: string;
  inspect(id: string): Promise<ContainerInfo | undefined>;
  /** Stop one of its containers, SIGKILL after `timeoutSec` (runtime-model block actions). */
  stopContainer(id: string, timeoutSec: number): Promise<void>;
}

/** The Engine API's inspector: container inspect plus its image's repo digests. */
export class EngineInspector implements ContainerInspector {
  readonly client: EngineClient;

  constructor(readonly socketPath: string) {
    this.client = new EngineClient(socketPath);
  }

  async inspect(id: string): Promise<ContainerInfo> {
    const c = await this.client.inspect(id);
    const img = c.Image ? await this.client.inspectImage(c.Image).catch(() => undefined) : undefined;
    return infoFromInspect(c, img);
  }

  stopContainer(id: string, timeoutSec: number): Promise<void> {
    return this.client.stopContainer(id, timeoutSec);
  }
}

const MAX_ENTRIES = 4096;

export class ContainerDirectory {
  private readonly byId = new LRUCache<string, ContainerInfo>({ max: MAX_ENTRIES });
  private readonly pending = new Map<string, Promise<ContainerInfo | undefined>>();
  private readonly inspectors = new Map<string, ContainerInspector>();
  /** Which runtime answered for a container (its socket). */
  private readonly owner = new LRUCache<string, string>({ max: MAX_ENTRIES });

  /** Ask this runtime too (one inspector per socket; a later one for the same socket replaces it). */
  addInspector(inspector: ContainerInspector): void {
    this.inspectors.set(inspector.socketPath, inspector);
  }

  hasInspector(socketPath: string): boolean {
    return this.inspectors.has(socketPath);
  }

  /** Whether an unknown id can be looked up: some runtime's socket exists. */
  canLookup(): boolean {
    for (const i of this.inspectors.values()) if (existsSync(i.socketPath)) return true;
    return false;
  }

  get(id: string): ContainerInfo | undefined {
    return this.byId.get(id);
  }

  set(info: ContainerInfo): void {
    this.byId.set(info.containerId, info);
  }

  /**
   * Ask the runtimes about a container (the first that knows it answers);
   * undefined when none does. Concurrent calls share one lookup, except
   * `fresh` ones (a container start), which ask again after any in flight:
   * an answer begun before the start would miss its pid.
   */
  lookup(id: string, fresh = false): Promise<ContainerInfo | undefined> {
    const inFlight = this.pending.get(id);
    if (inFlight && !fresh) return inFlight;
    const p = (inFlight ?? Promise.resolve(undefined))
      .then(async () => {
        for (const inspector of this.inspectors.values()) {
          if (!existsSync(inspector.socketPath)) continue;
          const info = await inspector.inspect(id).catch(() => undefined);
          if (!info) continue;
          this.owner.set(id, inspector.socketPath);
          this.set({ ...this.byId.get(id), ...info });
          return this.byId.get(id);
        }
        return undefined;
      })
      .finally(() => {
        if (this.pending.get(id) === p) this.pending.delete(id);
      });
    this.pending.set(id, p);
    return p;
  }

  /** Stop a container through the runtime that runs it (looked up first when unknown). */
  async stopContainer(id: string, timeoutSec = 10): Promise<void> {
    if (!this.owner.has(id)) await this.lookup(id);
    const inspector = this.inspectors.get(this.owner.get(id) ?? '');
    if (!inspector) throw new Error(`no container runtime knows container ${id}`);
    await inspector.stopContainer(id, timeoutSec);
  }
}

const node = new ContainerDirectory();

/**
 * The node's container directory. With `engineSocket`, the Engine API there
 * becomes one of the runtimes it asks (once per socket).
 */
export function containerDirectory(engineSocket?: string): ContainerDirectory {
  if (engineSocket && !node.hasInspector(engineSocket)) node.addInspector(new EngineInspector(engineSocket));
  return node;
}
