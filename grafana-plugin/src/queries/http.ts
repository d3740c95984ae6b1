import { lastValueFrom } from 'rxjs';
import { config, getBackendSrv, isFetchError } from '@grafana/runtime';

/**
 * GET/POST/DELETE through Grafana's backend service, errors turned into words.
 * URLs are relative to Grafana's root (`api/...`), as Grafana's own code uses them.
 */
export async function request<T>(
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  opts: { params?: Record<string, unknown>; data?: unknown } = {}
): Promise<T> {
  try {
    const res = await lastValueFrom(
      getBackendSrv().fetch<T>({
        method,
        url,
        params: opts.params,
        data: opts.data,
        showErrorAlert: false,
        showSuccessAlert: false,
      })
    );
    return res.data;
  } catch (err) {
    throw new Error(errorText(err, whatIs(url)));
  }
}

/**
 * Who a URL reaches, in words (a responder does not read proxy paths).
 *
 * @example whatIs('api/datasources/proxy/uid/x/loki/api/v1/query') // => 'Loki (through Grafana\'s data source proxy)'
 */
export function whatIs(url: string): string {
  if (url.includes('/datasources/proxy/')) return "Loki (through Grafana's data source proxy)";
  if (url.includes('/plugin-proxy/')) return "The Casefile server (through the app's plugin route)";
  return url;
}

/** What a status means for the person reading it. */
function statusHint(status: number | undefined): string {
  if (status === 403) return ' (your Grafana role does not allow this)';
  if (status === 502 || status === 504)
    return " (Grafana could not reach it: is it running, and is its URL right in the app's configuration?)";
  if (status === 0 || status === undefined) return ' (no answer: is Grafana reachable?)';
  return '';
}

/**
 * A sentence for any failure: the HTTP status and the message Loki, Grafana or the server gave.
 *
 * @example errorText({ status: 403, data: { message: 'Permission denied' } }, 'Loki') // => 'Loki: 403 Permission denied (your Grafana role does not allow this)'
 */
export function errorText(err: unknown, what: string): string {
  if (isFetchError(err)) {
    const d = err.data as { message?: string; error?: string } | string | undefined;
    const msg = typeof d === 'string' ? d : (d?.message ?? d?.error ?? err.statusText ?? '');
    const said = String(msg).trim() || (err.status === 502 ? 'Bad Gateway' : '');
    return `${what}: ${err.status ?? ''} ${said}${statusHint(err.status)}`.replace(/\s+/g, ' ').trim();
  }
  return `${what}: ${err instanceof Error ? err.message : String(err)}`;
}

/** An absolute URL for a link or download (`api/...` -> `<appSubUrl>/api/...`), since pages live under /a/<id>/. */
export function absoluteUrl(path: string): string {
  return `${config.appSubUrl ?? ''}/${path.replace(/^\//, '')}`;
}
