/** One pin job: what it pins, for whom, how far it got, and its API form. */
import { nsToIso } from '@casefile/schema';
import type { CustodyActor } from '../custody/custody-entry';
import type { PinRequest } from '../snapshots/snapshot-service';

/** queued → running → done | failed | cancelled (a queued job may also end cancelled or failed). */
export const PIN_JOB_STATES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type PinJobState = (typeof PIN_JOB_STATES)[number];

/** States a job never leaves. */
export const FINISHED_STATES: readonly PinJobState[] = ['done', 'failed', 'cancelled'];

/** A job as the manager keeps and journals it. */
export interface PinJobRecord {
  id: string;
  state: PinJobState;
  /** While running: reading from Loki (cancellable), or storing (one transaction, no longer cancellable). */
  phase?: 'reading' | 'storing';
  request: PinRequest;
  origin: { actor: CustodyActor; maxSnapshots?: number };
  /** Who may cancel it besides an admin token, and whose bound it counts against. */
  owner: string;
  createdAtMs: number;
  startedAtMs?: number;
  finishedAtMs?: number;
  /** Entries read from Loki so far (events and entries that are not events). */
  eventsRead: number;
  /** Entries Loki counted in the window, once it answered; null until then or if it could not. */
  estimatedTotal: number | null;
  /** The id the snapshot gets when stored (set up front, so a restart can tell whether it was). */
  snapshotId: string;
  evicted?: string[];
  /** Why it failed or who cancelled it, in the API's error shape. */
  error?: { error: string; message: string };
}

/** The API form of a job (GET /api/v1/pin-jobs/{id}). */
export function pinJobJson(j: PinJobRecord, nowMs = Date.now()) {
  const r = j.request;
  return {
    id: j.id,
    state: j.state,
    ...(j.phase && j.state === 'running' ? { phase: j.phase } : {}),
    title: r.title,
    scope: r.scope,
    from: nsToIso(r.fromNs),
    to: nsToIso(r.toNs),
    ...(r.types ? { types: r.types } : {}),
    ...(r.search ? { search: r.search } : {}),
    createdBy: j.origin.actor.grafanaUser ?? j.origin.actor.token,
    createdAt: new Date(j.createdAtMs).toISOString(),
    ...(j.startedAtMs !== undefined ? { startedAt: new Date(j.startedAtMs).toISOString() } : {}),
    ...(j.finishedAtMs !== undefined ? { finishedAt: new Date(j.finishedAtMs).toISOString() } : {}),
    elapsedMs: (j.finishedAtMs ?? nowMs) - j.createdAtMs,
    eventsRead: j.eventsRead,
    estimatedTotal: j.estimatedTotal,
    ...(j.state === 'done' ? { snapshotId: j.snapshotId, evicted: j.evicted ?? [] } : {}),
    ...(j.error ? { error: j.error } : {}),
  };
}
