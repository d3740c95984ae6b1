import type { CasefileEvent, EventType, Scope } from '@casefile/schema';
import { PLUGIN_ID } from '../constants';
import { request } from './http';

/**
 * The Casefile server, reached only through the app's plugin routes
 * (`api/plugin-proxy/<id>/api/v1/...`): Grafana adds the token from
 * secureJsonData and checks the user's role (GET Viewer; POST and DELETE Editor).
 */
export const SERVER_BASE = `api/plugin-proxy/${PLUGIN_ID}/api/v1`;

/** A pinned snapshot as the server lists it. */
export interface Snapshot {
  id: string;
  title: string;
  note?: string;
  scope: Scope;
  from: string;
  to: string;
  fromNs: string;
  toNs: string;
  types?: EventType[];
  search?: string;
  query?: string;
  createdBy?: string;
  createdAt: string;
  eventCount: number;
  contentSha256?: string;
  source?: string;
  locked: boolean;
}

export interface PinRequest {
  title: string;
  scope: Scope;
  /** ms since the epoch */
  from: number;
  to: number;
  types?: EventType[];
  search?: string;
}

export async function listSnapshots(limit = 200): Promise<{ items: Snapshot[]; total: number }> {
  return request('GET', `${SERVER_BASE}/snapshots`, { params: { limit } });
}

export async function getSnapshot(id: string): Promise<Snapshot> {
  return request('GET', `${SERVER_BASE}/snapshots/${encodeURIComponent(id)}`);
}

/** Every event of a snapshot, in (time, id) order, 5,000 per request. */
export async function snapshotEvents(id: string, cap: number): Promise<CasefileEvent[]> {
  const out: CasefileEvent[] = [];
  for (;;) {
    const page = await request<{ items: CasefileEvent[]; total: number }>(
      'GET',
      `${SERVER_BASE}/snapshots/${encodeURIComponent(id)}/events`,
      {
        params: { limit: 5000, offset: out.length },
      }
    );
    out.push(...page.items);
    if (page.items.length === 0 || out.length >= page.total || out.length >= cap) return out;
  }
}

/** A pin running in the background on the server (GET /pin-jobs/{id}). */
export interface PinJob {
  id: string;
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  /** While running: reading from Loki (cancellable), then storing (no longer cancellable). */
  phase?: 'reading' | 'storing';
  title: string;
  scope: Scope;
  from: string;
  to: string;
  createdBy?: string;
  createdAt: string;
  elapsedMs: number;
  /** Entries read from Loki so far. */
  eventsRead: number;
  /** Entries Loki counted in the window; null until it answered. */
  estimatedTotal: number | null;
  /** When done. */
  snapshotId?: string;
  /** When failed or cancelled: why, in words. */
  error?: { error: string; message: string };
}

/** How long a pin request waits for its job to end, so a small pin is done in one round trip. */
export const PIN_WAIT_MS = 1500;

/**
 * Start a pin job; the answer carries the snapshot when the pin was done
 * within `waitMs`, else the running job to follow with getPinJob.
 */
export async function startPinJob(
  req: PinRequest,
  waitMs = PIN_WAIT_MS
): Promise<{ job: PinJob; snapshot?: Snapshot }> {
  return request('POST', `${SERVER_BASE}/pin-jobs`, { params: { waitMs }, data: req });
}

export async function getPinJob(id: string): Promise<PinJob> {
  return request('GET', `${SERVER_BASE}/pin-jobs/${encodeURIComponent(id)}`);
}

/** Pin jobs newest first; `active`: only the queued and running ones. */
export async function listPinJobs(active = true): Promise<{ items: PinJob[]; total: number }> {
  return request('GET', `${SERVER_BASE}/pin-jobs`, { params: { active } });
}

/** Cancel a queued or reading pin job: the server stores nothing. */
export async function cancelPinJob(id: string): Promise<PinJob> {
  return request('DELETE', `${SERVER_BASE}/pin-jobs/${encodeURIComponent(id)}`);
}

export async function setLocked(id: string, locked: boolean): Promise<Snapshot> {
  return request('POST', `${SERVER_BASE}/snapshots/${encodeURIComponent(id)}/${locked ? 'lock' : 'unlock'}`);
}

export async function deleteSnapshot(id: string): Promise<void> {
  await request('DELETE', `${SERVER_BASE}/snapshots/${encodeURIComponent(id)}`);
}

/** Download links (same origin: the browser sends Grafana's session cookie, the proxy adds the token). */
export function snapshotCsvUrl(id: string): string {
  return `${SERVER_BASE}/snapshots/${encodeURIComponent(id)}/export.csv`;
}
export function snapshotPackageUrl(id: string): string {
  return `${SERVER_BASE}/snapshots/${encodeURIComponent(id)}/package`;
}

/** The live CSV of a filter and range, streamed by the server from Loki. */
export function liveCsvUrl(
  scope: Scope,
  fromMs: number,
  toMs: number,
  types?: readonly EventType[],
  search?: string
): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(scope)) if (v) p.set(k, v);
  p.set('from', String(Math.round(fromMs)));
  p.set('to', String(Math.round(toMs)));
  if (types) p.set('types', types.join(','));
  if (search) p.set('search', search);
  return `${SERVER_BASE}/export.csv?${p.toString()}`;
}
