/**
 * A small client for the Docker-compatible Engine API on a unix socket
 * (Docker, or Podman's `podman system service`). Used by the runtime source
 * (list, inspect, events) and by runtime-model "block" actions (stop).
 * No dependency beyond node:http.
 */
import { request, type IncomingMessage } from 'node:http';

/** Engine API version prefix; 1.41 is served by Docker 20.10+ and Podman 3+. */
export const ENGINE_API_VERSION = 'v1.41';

/** The fields of `GET /containers/json` entries this project reads. */
export interface ContainerSummary {
  Id: string;
  Names?: string[];
  Image?: string;
  ImageID?: string;
  Labels?: Record<string, string> | null;
  State?: string;
  Created?: number;
}

/** The fields of `GET /containers/{id}/json` this project reads. */
export interface ContainerInspect {
  Id: string;
  Name?: string;
  Image?: string;
  Created?: string;
  State?: {
    Status?: string;
    Running?: boolean;
    Pid?: number;
    ExitCode?: number;
    StartedAt?: string;
    FinishedAt?: string;
  };
  Config?: { Image?: string; Labels?: Record<string, string> | null; User?: string };
}

/** An event from `GET /events` (Docker's shape; Podman serves the same). */
export interface EngineEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

export class EngineApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'EngineApiError';
  }
}

export class EngineClient {
  /** @param socketPath unix socket, e.g. /var/run/docker.sock. */
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 10_000
  ) {}

  private call(method: string, path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path: `/${ENGINE_API_VERSION}${path}`,
          timeout: this.timeoutMs,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        }
      );
      req.on('timeout', () => req.destroy(new Error(`Engine API ${method} ${path} timed out`)));
      req.on('error', reject);
      req.end();
    });
  }

  private async json<T>(path: string): Promise<T> {
    const { status, body } = await this.call('GET', path);
    if (status !== 200) throw new EngineApiError(status, `GET ${path}: ${status} ${body.slice(0, 200)}`);
    return JSON.parse(body) as T;
  }

  /** True when the socket answers `/_ping`. */
  async ping(): Promise<boolean> {
    try {
      return (await this.call('GET', '/_ping')).status === 200;
    } catch {
      return false;
    }
  }

  /** `GET /version`: the engine's name (e.g. "Podman Engine", "Engine") and version. */
  version(): Promise<{ Version?: string; Components?: Array<{ Name?: string; Version?: string }> }> {
    return this.json('/version');
  }

  /** Running containers (or all, with `all`). */
  listContainers(opts: { all?: boolean } = {}): Promise<ContainerSummary[]> {
    return this.json(`/containers/json${opts.all ? '?all=1' : ''}`);
  }

  inspect(id: string): Promise<ContainerInspect> {
    return this.json(`/containers/${encodeURIComponent(id)}/json`);
  }

  /** Image id and repo digests of an image (name or id). */
  inspectImage(ref: string): Promise<{ Id: string; RepoTags?: string[]; RepoDigests?: string[] }> {
    return this.json(`/images/${encodeURIComponent(ref)}/json`);
  }

  /** Stop a container (SIGTERM, then SIGKILL after `timeoutSec`, default 10). Resolves when stopped or already stopped. */
  async stopContainer(id: string, timeoutSec = 10): Promise<void> {
    const { status, body } = await this.call(
      'POST',
      `/containers/${encodeURIComponent(id)}/stop?t=${timeoutSec}`
    );
    if (status !== 204 && status !== 304)
      throw new EngineApiError(status, `stop ${id}: ${status} ${body.slice(0, 200)}`);
  }

  /**
   * Follow container events (`GET /events`, type container). `onEvent` gets
   * each decoded event; `onEnd` fires once when the stream ends or fails.
   * Returns a close function.
   */
  events(
    onEvent: (e: EngineEvent) => void,
    onEnd: (err?: Error) => void,
    opts: { sinceSec?: number } = {}
  ): () => void {
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'] }));
    const since = opts.sinceSec !== undefined ? `&since=${opts.sinceSec}` : '';
    let ended = false;
    const end = (err?: Error) => {
      if (!ended) {
        ended = true;
        onEnd(err);
      }
    };
    const req = request(
      {
        socketPath: this.socketPath,
        method: 'GET',
        path: `/${ENGINE_API_VERSION}/events?filters=${filters}${since}`,
      },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          end(new EngineApiError(res.statusCode ?? 0, `events: ${res.statusCode}`));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let nl: number;
          // Docker separates events by newlines; Podman too. Tolerate concatenated objects without one.
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            try {
              onEvent(JSON.parse(line) as EngineEvent);
            } catch {
              /* a malformed event line is skipped; the next one is independent */
            }
          }
        });
        res.on('end', () => end());
        res.on('error', (err) => end(err));
      }
    );
    req.on('error', (err) => end(err));
    req.end();
    return () => {
      ended = true;
      req.destroy();
    };
  }
}
