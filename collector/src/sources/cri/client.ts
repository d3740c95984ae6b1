/**
 * A client for the Kubernetes CRI v1 RuntimeService (containerd, CRI-O) on a
 * unix socket, over gRPC with the vendored api.proto (see ./proto/NOTICE).
 * Read-only calls for the CRI source, plus {@link CriClient.unary} for any
 * other method (tests create pods with it).
 */
import { fileURLToPath } from 'node:url';
import type { Client, ClientReadableStream, ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';

const PROTO = fileURLToPath(new URL('./proto/api.proto', import.meta.url));
/** int64 timestamps (ns) as decimal strings, enums by name, absent fields as their defaults. */
const LOADER = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true } as const;
const CALL_TIMEOUT_MS = 5000;
/** gRPC status codes (github.com/grpc/grpc/blob/master/doc/statuscodes.md): grpc-js's `status`, known before it loads. */
const GRPC_CANCELLED = 1;
const GRPC_NOT_FOUND = 5;
const GRPC_UNIMPLEMENTED = 12;

/** `Version` answer. */
export interface CriVersion {
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface CriMetadata {
  name: string;
  attempt?: number;
}

export interface CriPodMetadata extends CriMetadata {
  uid: string;
  namespace: string;
}

export type CriContainerState =
  'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

/** `ListContainers` entry (the fields this project reads). */
export interface CriContainer {
  id: string;
  podSandboxId: string;
  metadata: CriMetadata | null;
  image: { image: string } | null;
  imageRef: string;
  state: CriContainerState;
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** `ContainerStatus` status (the fields this project reads). */
export interface CriContainerStatus {
  id: string;
  metadata: CriMetadata | null;
  state: CriContainerState;
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  image: { image: string } | null;
  imageRef: string;
  reason: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** `ContainerStatus` with verbose: `info.info` is the runtime's JSON (pid, sandboxID in containerd and CRI-O). */
export interface CriContainerStatusResponse {
  status: CriContainerStatus | null;
  info: Record<string, string>;
}

/** `ListPodSandbox` entry / `PodSandboxStatus` status (the fields this project reads). */
export interface CriPodSandbox {
  id: string;
  metadata: CriPodMetadata | null;
  state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface CriPodSandboxStatusResponse {
  status: CriPodSandbox | null;
  info: Record<string, string>;
}

/** One `GetContainerEvents` message. */
export interface CriContainerEvent {
  containerId: string;
  containerEventType:
    | 'CONTAINER_CREATED_EVENT'
    | 'CONTAINER_STARTED_EVENT'
    | 'CONTAINER_STOPPED_EVENT'
    | 'CONTAINER_DELETED_EVENT';
  createdAt: string;
  podSandboxStatus: CriPodSandbox | null;
  containersStatuses: CriContainerStatus[];
}

type RuntimeClient = Client & Record<string, (...args: unknown[]) => unknown>;

/** grpc-js and the RuntimeService it serves, once loaded. */
interface LoadedRuntimeService {
  grpc: typeof import('@grpc/grpc-js');
  service: ServiceClientConstructor;
}

let loading: Promise<LoadedRuntimeService> | undefined;

/**
 * grpc-js, the proto loader and the RuntimeService from the vendored proto,
 * loaded the first time a CRI socket is there to talk to: they are about
 * 7 MB of idle RSS that a collector without one never needs. The packages
 * themselves are imported here, not this module lazily: the bundle would
 * hoist this module's static imports of npm packages to its top. Rejects
 * with the packages named when they cannot load.
 */
function loadRuntimeService(): Promise<LoadedRuntimeService> {
  loading ??= Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]).then(
    ([grpc, protoLoader]) => {
      const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, LOADER)) as unknown as {
        runtime: { v1: { RuntimeService: ServiceClientConstructor } };
      };
      return { grpc, service: pkg.runtime.v1.RuntimeService };
    },
    (err: Error) => {
      throw new Error(`the CRI client needs @grpc/grpc-js and @grpc/proto-loader: ${err.message}`, {
        cause: err,
      });
    }
  );
  return loading;
}

/** The CRI v1 RuntimeService from the vendored proto (its `.service` serves it too: tests replay recorded answers). */
export async function runtimeService(): Promise<ServiceClientConstructor> {
  return (await loadRuntimeService()).service;
}

/** Whether a gRPC error says the runtime does not implement the method. */
export function isUnimplemented(err: unknown): boolean {
  return (err as ServiceError | undefined)?.code === GRPC_UNIMPLEMENTED;
}

/** Whether a gRPC error says the container / sandbox does not exist. */
export function isNotFound(err: unknown): boolean {
  return (err as ServiceError | undefined)?.code === GRPC_NOT_FOUND;
}

export class CriClient {
  /** A client for the RuntimeService on `socketPath` (loading gRPC the first time; connecting at the first call). */
  static async open(socketPath: string): Promise<CriClient> {
    const { grpc, service } = await loadRuntimeService();
    return new CriClient(
      socketPath,
      new service(`unix://${socketPath}`, grpc.credentials.createInsecure()) as RuntimeClient
    );
  }

  private constructor(
    readonly socketPath: string,
    private readonly client: RuntimeClient
  ) {}

  /** Any unary RuntimeService method by its proto name (`RunPodSandbox`, `StopContainer`...). */
  unary<T>(method: string, request: object, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    const fn = this.client[method];
    if (typeof fn !== 'function') return Promise.reject(new Error(`no CRI method ${method}`));
    return new Promise<T>((resolve, reject) =>
      fn.call(
        this.client,
        request,
        { deadline: Date.now() + timeoutMs },
        (err: ServiceError | null, res: T) => (err ? reject(err) : resolve(res))
      )
    );
  }

  version(): Promise<CriVersion> {
    return this.unary<CriVersion>('Version', {});
  }

  async listContainers(): Promise<CriContainer[]> {
    return (await this.unary<{ containers: CriContainer[] }>('ListContainers', {})).containers;
  }

  async listPodSandbox(): Promise<CriPodSandbox[]> {
    return (await this.unary<{ items: CriPodSandbox[] }>('ListPodSandbox', {})).items;
  }

  containerStatus(containerId: string): Promise<CriContainerStatusResponse> {
    return this.unary<CriContainerStatusResponse>('ContainerStatus', { containerId, verbose: true });
  }

  podSandboxStatus(podSandboxId: string): Promise<CriPodSandboxStatusResponse> {
    return this.unary<CriPodSandboxStatusResponse>('PodSandboxStatus', { podSandboxId, verbose: true });
  }

  /**
   * Follow `GetContainerEvents`. `onEnd` is called once, with the error
   * (Unimplemented on runtimes without it: containerd 1.6) or undefined when
   * the runtime closed the stream. Returns a function that cancels it.
   */
  containerEvents(onEvent: (e: CriContainerEvent) => void, onEnd: (err?: ServiceError) => void): () => void {
    const stream = (
      this.client.GetContainerEvents as (req: object) => ClientReadableStream<CriContainerEvent>
    ).call(this.client, {});
    let ended = false;
    const end = (err?: ServiceError) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    stream.on('data', onEvent);
    stream.on('error', (err: ServiceError) => end(err.code === GRPC_CANCELLED ? undefined : err));
    stream.on('end', () => end());
    return () => {
      ended = true;
      stream.cancel();
    };
  }

  close(): void {
    this.client.close();
  }
}
