import { act } from 'react';
import { Observable } from 'rxjs';
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
export function standInBackendSrv(
  route: (req: Seen) => Answer,
  opts: { until?: Promise<unknown> } = {}
): Seen[] {
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
    const failure = { status, data: a.data, statusText: 'error', config: o };
    const response = {
      data: a.data,
      status,
      ok: true,
      headers: new Headers(),
      redirected: false,
      statusText: 'OK',
      type: 'basic',
      url: o.url,
      config: o,
    };
    return new Observable((sub) => {
      let t: ReturnType<typeof setTimeout> | undefined;
      let live = true;
      const answer = () => (status >= 400 ? sub.error(failure) : (sub.next(response), sub.complete()));
      // Answer on a later task, as a network does. Inside React's act environment the answer and
      // the state updates it causes run in act(), so they are not "updates outside act" (outside
      // it, e.g. during waitFor, React does not ask for act).
      const later = () =>
        (t = setTimeout(() => {
          if (!(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT)
            return answer();
          // Awaited through then(): React warns about an act() whose result nobody waits for.
          act(async () => {
            answer();
            await new Promise((r) => setTimeout(r, 0));
          }).then(() => undefined);
        }, 0));
      // Held answers (a slow network) come once `until` settles.
      if (opts.until) void opts.until.then(() => live && later());
      else later();
      return () => {
        live = false;
        clearTimeout(t);
      };
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
