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
    throw new Error(errorText(err, url));
  }
}

/**
 * A sentence for any failure: the HTTP status and the message Loki, Grafana or the server gave.
 *
 * @example errorText({ status: 403, data: { message: 'Permission denied' } }, 'api/x') // => 'api/x: 403 Permission denied'
 */
export function errorText(err: unknown, what: string): string {
  if (isFetchError(err)) {
    const d = err.data as { message?: string; error?: string } | string | undefined;
    const msg = typeof d === 'string' ? d : (d?.message ?? d?.error ?? err.statusText ?? '');
    const hint =
      err.status === 403
        ? ' (your Grafana role does not allow this)'
        : err.status === 0 || err.status === undefined
          ? ' (no answer)'
          : '';
    return `${what}: ${err.status ?? ''} ${String(msg).trim()}${hint}`.replace(/\s+/g, ' ').trim();
  }
  return `${what}: ${err instanceof Error ? err.message : String(err)}`;
}

/** An absolute URL for a link or download (`api/...` -> `<appSubUrl>/api/...`), since pages live under /a/<id>/. */
export function absoluteUrl(path: string): string {
  return `${config.appSubUrl ?? ''}/${path.replace(/^\//, '')}`;
}
