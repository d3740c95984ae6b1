/**
 * Makes the custody drafts of this server (who, when in ns, which server) and
 * seals them with its key; the store appends them in the transaction of the
 * action itself, and each appended entry is then emitted to Loki as a
 * `snapshot.custody` event, so the trail is searchable beside the evidence.
 */
import type { SigningKey } from '../evidence/signing-key';
import type { PinnedEmitter } from '../observability/pinned-emitter';
import type { SnapshotMeta } from '../store/store';
import {
  custodySealer,
  type CustodyAction,
  type CustodyActor,
  type CustodyDraft,
  type CustodyEntry,
  type CustodySealer,
} from './custody-entry';

/** The server as custody entries and manifests name it. */
export interface ServerIdentity {
  version: string;
  /** instanceName, default the host name. */
  instance: string;
}

/** Now in ns since the epoch (microsecond resolution: performance.timeOrigin + performance.now()). */
export function nowNs(): string {
  const us = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
  return (us * 1000n).toString();
}

export class CustodyRecorder {
  readonly seal: CustodySealer;

  constructor(
    readonly key: SigningKey,
    readonly server: ServerIdentity,
    private readonly emitter: PinnedEmitter
  ) {
    this.seal = custodySealer(key);
  }

  /** The draft of an action on a snapshot, now. */
  draft(
    action: CustodyAction,
    s: SnapshotMeta,
    actor: CustodyActor,
    details: Record<string, unknown> = {}
  ): CustodyDraft {
    return {
      action,
      snapshotId: s.id,
      actor,
      timeNs: nowNs(),
      contentSha256: s.contentSha256,
      eventCount: s.eventCount,
      title: s.title,
      details,
      server: this.server,
    };
  }

  /**
   * A sealer for one store call that remembers what it sealed; `committed()`
   * emits those entries once the store's transaction is done (a rolled-back
   * entry is never emitted).
   */
  session(): { seal: CustodySealer; committed: () => CustodyEntry[] } {
    const sealed: CustodyEntry[] = [];
    return {
      seal: (d, l) => {
        const e = this.seal(d, l);
        sealed.push(e);
        return e;
      },
      committed: () => {
        for (const e of sealed) this.emitter.emitCustody(e);
        return sealed;
      },
    };
  }
}
