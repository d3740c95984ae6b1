/**
 * STAND-IN FOR GRAFANA'S FRONTEND SERVICES (public/app/core/services): the backend
 * service (fetch with Grafana's request options, requestId cancellation, error shape
 * { status, statusText, data }), the data source service with one provisioned Loki data
 * source whose query() is @grafana/runtime's own DataSourceWithBackend (POST /api/ds/query,
 * exactly like Grafana's Loki), a template service without variables, an echo service
 * that drops analytics, and app events that the host shows as toasts.
 */
import { Observable, lastValueFrom } from 'rxjs';
import { AppEvents, EventBusSrv, type DataSourceInstanceSettings, type DataSourceRef } from '@grafana/data';
import {
  DataSourceWithBackend,
  type BackendSrv,
  type BackendSrvRequest,
  type DataSourceSrv,
  type FetchResponse,
} from '@grafana/runtime';

export const appEvents = new EventBusSrv();

function queryString(params: Record<string, unknown> | undefined): string {
  if (!params) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    for (const item of Array.isArray(v) ? v : [v]) p.append(k, String(item));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

function bodyOf(data: unknown): { body?: BodyInit; json: boolean } {
  if (data === undefined || data === null) return { json: false };
  if (
    typeof data === 'string' ||
    data instanceof FormData ||
    data instanceof Blob ||
    data instanceof URLSearchParams
  )
    return { body: data as BodyInit, json: false };
  return { body: JSON.stringify(data), json: true };
}

/** Grafana's BackendSrv surface on window.fetch. */
export class HostBackendSrv {
  private inflight = new Map<string, AbortController>();

  fetch<T>(options: BackendSrvRequest): Observable<FetchResponse<T>> {
    return new Observable<FetchResponse<T>>((sub) => {
      const ctrl = new AbortController();
      if (options.requestId) {
        // A newer request with the same id cancels the older one; the older completes empty.
        this.inflight.get(options.requestId)?.abort();
        this.inflight.set(options.requestId, ctrl);
      }
      const url = options.url.replace(/^\/?/, '/') + queryString(options.params);
      const { body, json } = bodyOf(options.data);
      const headers: Record<string, string> = { 'X-Grafana-Org-Id': '1', ...(options.headers ?? {}) };
      if (json && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
        headers['Content-Type'] = 'application/json';
      (async () => {
        const res = await window.fetch(url, {
          method: options.method ?? 'GET',
          headers,
          body,
          signal: ctrl.signal,
        });
        const type = options.responseType ?? 'json';
        let data: unknown;
        if (type === 'blob') data = await res.blob();
        else if (type === 'arraybuffer') data = await res.arrayBuffer();
        else {
          const text = await res.text();
          data = text;
          if (type === 'json' && text) {
            try {
              data = JSON.parse(text);
            } catch {
              data = text;
            }
          }
        }
        const response = {
          data: data as T,
          status: res.status,
          statusText: res.statusText,
          ok: res.ok,
          headers: res.headers,
          redirected: res.redirected,
          type: res.type,
          url: res.url,
          config: options,
        } as FetchResponse<T>;
        if (!res.ok) {
          const err = { status: res.status, statusText: res.statusText, data, config: options };
          if (options.showErrorAlert !== false) {
            const msg = (data as { message?: string })?.message ?? `${res.status} ${res.statusText}`;
            appEvents.emit(AppEvents.alertError, [msg]);
          }
          sub.error(err);
          return;
        }
        if (options.showSuccessAlert && (data as { message?: string })?.message)
          appEvents.emit(AppEvents.alertSuccess, [(data as { message: string }).message]);
        sub.next(response);
        sub.complete();
      })().catch((e: Error) => {
        if (ctrl.signal.aborted) sub.complete();
        else sub.error({ status: -1, statusText: e.message, data: { message: e.message }, config: options });
      });
      return () => {
        ctrl.abort();
        if (options.requestId && this.inflight.get(options.requestId) === ctrl)
          this.inflight.delete(options.requestId);
      };
    });
  }

  async request<T = any>(options: BackendSrvRequest): Promise<T> {
    return (await lastValueFrom(this.fetch<T>(options))).data;
  }
  async datasourceRequest<T = any>(options: BackendSrvRequest): Promise<FetchResponse<T>> {
    return lastValueFrom(this.fetch<T>(options));
  }
  get<T = any>(
    url: string,
    params?: any,
    requestId?: string,
    options?: Partial<BackendSrvRequest>
  ): Promise<T> {
    return this.request({ ...options, method: 'GET', url, params, requestId });
  }
  delete<T = any>(url: string, data?: any, options?: Partial<BackendSrvRequest>): Promise<T> {
    return this.request({ ...options, method: 'DELETE', url, data });
  }
  post<T = any>(url: string, data?: any, options?: Partial<BackendSrvRequest>): Promise<T> {
    return this.request({ ...options, method: 'POST', url, data });
  }
  patch<T = any>(url: string, data: any, options?: Partial<BackendSrvRequest>): Promise<T> {
    return this.request({ ...options, method: 'PATCH', url, data });
  }
  put<T = any>(url: string, data: any, options?: Partial<BackendSrvRequest>): Promise<T> {
    return this.request({ ...options, method: 'PUT', url, data });
  }
  resolveCancelerIfExists(requestId: string) {
    this.inflight.get(requestId)?.abort();
  }
}

/** Grafana's own Loki data source runs queries through the backend: so does this one. */
export class HostLokiDataSource extends DataSourceWithBackend<any, any> {}

export class HostDataSourceSrv {
  private instance: HostLokiDataSource;
  constructor(private settings: DataSourceInstanceSettings) {
    this.instance = new HostLokiDataSource(settings);
  }
  private matches(ref: string | DataSourceRef | null | undefined): boolean {
    if (ref === null || ref === undefined || ref === 'default') return true;
    if (typeof ref === 'string') return ref === this.settings.uid || ref === this.settings.name;
    return !ref.uid || ref.uid === this.settings.uid;
  }
  async get(ref?: string | DataSourceRef | null) {
    if (!this.matches(ref)) throw new Error(`Data source ${JSON.stringify(ref)} was not found`);
    return this.instance;
  }
  getList(filters: { logs?: boolean; metrics?: boolean; type?: string | string[]; pluginId?: string } = {}) {
    const t = this.settings.type;
    if (filters.type && ![filters.type].flat().includes(t)) return [];
    if (filters.pluginId && filters.pluginId !== t) return [];
    return [this.settings];
  }
  getInstanceSettings(ref?: string | DataSourceRef | null) {
    return this.matches(ref) ? this.settings : undefined;
  }
  reload() {
    return Promise.resolve();
  }
  registerRuntimeDataSource() {}
}

export const asBackendSrv = (s: HostBackendSrv) => s as unknown as BackendSrv;
export const asDataSourceSrv = (s: HostDataSourceSrv) => s as unknown as DataSourceSrv;
