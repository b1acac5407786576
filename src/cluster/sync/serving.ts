/**
 * The transfers this node serves as a donor: a SYNC_REQ is refused when this node is not
 * synced for the capability (or does not have it); otherwise a {@link Donation} streams the
 * capability's records to the receiver. A transfer stops when the receiver sends ABORT or
 * becomes unreachable, and when the node stops; a `donate` that fails sends ABORT so the
 * receiver retries at once with the back-off of its choice.
 */
import type { Logger } from '../../core/logger.js';
import type { ClusterNetwork } from '../types.js';
import type { CapSync } from './cap-sync.js';
import { SYNC_CAPABILITY, SyncType, encodeAbort, encodeRefuse } from './codec.js';
import { Donation } from './donor.js';

export class DonorService {
  private readonly donations = new Map<string, { cap: CapSync; d: Donation }>();

  constructor(
    private readonly network: ClusterNetwork,
    private readonly logger: Logger,
    /** A capability's `serving` count changed: tell the peers (STATUS). */
    private readonly changed: (clusterId: number) => void,
  ) {}

  /** A SYNC_REQ from `source` for `cap` (undefined: not registered here). */
  serve(
    clusterId: number,
    source: number,
    syncId: number,
    cap: CapSync | undefined,
    scope: string | null,
  ): void {
    const sync = cap?.def.sync;
    const refusal =
      cap?.def.clusterId !== clusterId || sync === undefined
        ? 'no such capability with a sync'
        : !cap.synced
          ? 'not synced'
          : null;
    if (refusal !== null || cap === undefined || sync === undefined) {
      this.control(
        clusterId,
        source,
        SyncType.REFUSE,
        encodeRefuse({ syncId, reason: refusal ?? 'refused' }),
      );
      return;
    }
    const key = `${clusterId}/${source}/${syncId}`;
    const d = new Donation(
      syncId,
      source,
      (type, payload, lane) =>
        this.network.send(
          { clusterId, destination: source, capability: SYNC_CAPABILITY, type, payload },
          lane,
        ),
      () => {
        cap.recordsSent++;
      },
    );
    this.donations.set(key, { cap, d });
    cap.serving++;
    cap.transfersServed++;
    const name = cap.name;
    this.logger.info({ capability: name, to: source, scope, syncId }, 'serving a sync');
    this.changed(clusterId);
    d.run(sync, { node: source, scope }).then(
      () => {
        this.done(key, cap);
        this.logger.info({ capability: name, to: source, records: d.records }, 'sync served');
      },
      (err: unknown) => {
        this.done(key, cap);
        const reason = (err as Error).message;
        if (d.stopped === null) {
          // The module's donate failed, or the network refused a chunk: the receiver retries.
          this.control(
            clusterId,
            source,
            SyncType.ABORT,
            encodeAbort({ syncId, fromDonor: true, reason }),
          );
        }
        this.logger.warn({ capability: name, to: source, reason }, 'sync to a node stopped');
      },
    );
  }

  /** The receiver sent ABORT for its transfer `syncId`. */
  abort(clusterId: number, source: number, syncId: number, reason: string): void {
    this.donations
      .get(`${clusterId}/${source}/${syncId}`)
      ?.d.stop(`receiver ${source} aborted: ${reason}`);
  }

  /** The receiver became unreachable: its transfers stop. */
  lost(clusterId: number, nodeId: number): void {
    for (const [key, { d }] of this.donations) {
      if (key.startsWith(`${clusterId}/${nodeId}/`)) {
        d.stop(`receiver ${nodeId} became unreachable`);
      }
    }
  }

  stopAll(): void {
    for (const { d } of this.donations.values()) {
      d.stop('node stopping');
    }
  }

  private done(key: string, cap: CapSync): void {
    this.donations.delete(key);
    cap.serving--;
    this.changed(cap.def.clusterId);
  }

  private control(clusterId: number, to: number, type: number, payload: Buffer): void {
    void this.network.send(
      { clusterId, destination: to, capability: SYNC_CAPABILITY, type, payload },
      'control',
    );
  }
}
