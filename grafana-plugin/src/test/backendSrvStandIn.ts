import { of, throwError } from 'rxjs';
import { setBackendSrv, type BackendSrv, type BackendSrvRequest } from '@grafana/runtime';

/** One request the plugin made, as Grafana's backend service received it. */
export interface Seen {
  method: string;
  url: string;
  params: Record<string, unknown>;
  data?: unknown;
}

type Answer = { status?: number; data: unknown };

/**
 * A stand-in for Grafana's backend service (Grafana's own server is the one
 * part these tests replace): records every request and answers from `route`.
 * An answer with status >= 400 fails the way Grafana's FetchError does.
 */
export function standInBackendSrv(route: (req: Seen) => Answer): Seen[] {
  const seen: Seen[] = [];
  const fetch = (o: BackendSrvRequest) => {
    const req: Seen = {
      method: o.method ?? 'GET',
      url: o.url,
      params: (o.params ?? {}) as Record<string, unknown>,
      data: o.data,
    };
    seen.push(req);
    const a = route(req);
    const status = a.status ?? 200;
    if (status >= 400) return throwError(() => ({ status, data: a.data, statusText: 'error', config: o }));
    return of({
      data: a.data,
      status,
      ok: true,
      headers: new Headers(),
      redirected: false,
      statusText: 'OK',
      type: 'basic',
      url: o.url,
      config: o,
    });
  };
  setBackendSrv({ fetch } as unknown as BackendSrv);
  return seen;
}

/** A Loki `streams` answer for events given as [labels, ts ns, line]. */
export function streamsAnswer(entries: Array<[Record<string, string>, string, string]>) {
  return {
    status: 'success',
    data: {
      resultType: 'streams',
      result: entries.map(([stream, ts, line]) => ({ stream, values: [[ts, line]] })),
    },
  };
}
