/**
 * The capability sync engine (issue 8, design §5): per-destination sequence numbers on live
 * packets and gap detection, STATUS exchange, and full transfers with a donor chosen among the
 * synced peers, retried with back-off, verified by count and SHA-256. Nothing here awaits on the
 * live path: live packets are handed to the module at once or, while a transfer runs, held in
 * a bounded buffer and handed over after `end`; only the donor's `donate` loop awaits, on the
 * network's back-pressure. docs/adr/0011-capability-sync.md explains the choices.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { CapabilityEvent, CapabilityPacket, SyncContext } from '../../module/define-module.js';
import type { ClusterNetwork, ClusterPacket, Lane, SendResult } from '../types.js';
import type { CapSync } from './cap-sync.js';
import {
  SYNC_CAPABILITY,
  SyncType,
  decodeSync,
  encodeAbort,
  encodeStatus,
  encodeSyncReq,
  forEachRecord,
  type StatusMsg,
  type SyncMsg,
} from './codec.js';
import { sendAll, sendTo } from './live.js';
import { PeerViews } from './peers.js';
import { DonorService } from './serving.js';

export { SYNC_CAPABILITY } from './codec.js';

/** Back-off after a failed transfer: 1 s doubling to 30 s. */
export const BACKOFF_MIN_MS = 1000;
export const BACKOFF_MAX_MS = 30_000;
/** How many live packets, and bytes of them, a transfer may hold back before it restarts. */
export const HELD_LIMITS = { packets: 1_000_000, bytes: 256 * 1024 * 1024 };

export interface SyncEngineOptions {
  readonly network: ClusterNetwork;
  readonly clock: Clock;
  readonly logger: Logger;
  /** `clusterer.seed_fallback_interval` in ms, counted from {@link SyncEngine.modulesReady}. */
  readonly seedFallbackMs: number;
  /** `clusterer.sync_timeout` in ms: longest wait for the next CHUNK or END. */
  readonly syncTimeoutMs: number;
  /** STATUS period (the ping interval). */
  readonly statusIntervalMs: number;
  /** Is this node a seed of the cluster? */
  isSeed(clusterId: number): boolean;
  /** This node's boot id (random by default). */
  readonly boot?: number;
  readonly heldLimits?: { readonly packets: number; readonly bytes: number };
}

export class SyncEngine {
  readonly boot: number;
  /** Packets of `clusterer:sync` dropped as malformed or of another version. */
  badPackets = 0;
  private readonly caps = new Map<string, CapSync>();
  private readonly peers = new PeerViews();
  private readonly receiving = new Map<number, CapSync>();
  private readonly serving: DonorService;
  private nextSyncId: number;
  private readyAt: number | null = null;
  private ticker: TimerHandle | null = null;
  private seedTimer: TimerHandle | null = null;
  private running = false;
  private readonly limits: { readonly packets: number; readonly bytes: number };

  constructor(private readonly o: SyncEngineOptions) {
    this.boot = o.boot ?? randomBytes(4).readUInt32BE(0);
    this.nextSyncId = randomBytes(4).readUInt32BE(0);
    this.limits = o.heldLimits ?? HELD_LIMITS;
    this.serving = new DonorService(o.network, o.logger, (clusterId) => {
      this.statusAll(clusterId);
    });
    o.network.onPacket(SYNC_CAPABILITY, (p) => {
      this.onSyncPacket(p);
    });
  }

  /** Track a capability as it registers. */
  add(cap: CapSync): void {
    this.caps.set(cap.name, cap);
    this.kick(cap);
  }

  list(): CapSync[] {
    return [...this.caps.values()];
  }

  get ready(): boolean {
    return this.readyAt !== null;
  }

  /** The network is up: send STATUS every interval and retry what waits for a donor. */
  start(): void {
    this.running = true;
    this.tick();
  }

  stop(): void {
    this.running = false;
    this.ticker?.cancel();
    this.seedTimer?.cancel();
    for (const cap of this.caps.values()) {
      cap.retry?.cancel();
      cap.retry = null;
      if (cap.transfer !== null) {
        cap.transfer.stall.cancel();
        this.receiving.delete(cap.transfer.syncId);
        cap.transfer = null;
      }
    }
    this.serving.stopAll();
  }

  /**
   * This node's modules are ready (script loaded, transport and cluster started): ask donors
   * from now on, and count the seed fallback interval from now, not from process start.
   */
  modulesReady(): void {
    if (this.readyAt !== null) {
      return;
    }
    this.readyAt = this.o.clock.now();
    this.seedTimer = this.o.clock.setTimer(this.o.seedFallbackMs, () => {
      this.seedTimer = null;
      this.kickAll();
    });
    this.kickAll();
  }

  /** Capabilities not synced yet (readiness). */
  unsynced(): string[] {
    return [...this.caps.values()].filter((c) => !c.synced).map((c) => c.name);
  }

  /** `Capability.requestSync`: false when the capability has no `sync`. */
  requestSync(cap: CapSync, scope: string | null): boolean {
    if (cap.def.sync === undefined) {
      return false;
    }
    cap.want(scope);
    this.kick(cap);
    return true;
  }

  /** `Capability.syncedNodes`: this node when synced, and the reachable peers that say so. */
  syncedNodes(cap: CapSync): number[] {
    const out = cap.synced ? [this.o.network.myNodeId] : [];
    for (const p of this.o.network.peers(cap.def.clusterId)) {
      if (p.reachable && this.peers.synced(cap, p.nodeId)) {
        out.push(p.nodeId);
      }
    }
    return out;
  }

  /** Send a live packet to every provisioned peer (see live.ts). */
  sendAll(cap: CapSync, type: number, payload: Buffer, lane: Lane | undefined): number {
    return sendAll(this.o.network, this.boot, cap, type, payload, lane);
  }

  /** Send a live packet to one node. */
  sendTo(
    cap: CapSync,
    nodeId: number,
    type: number,
    payload: Buffer,
    lane: Lane | undefined,
  ): SendResult | Promise<SendResult> {
    return sendTo(this.o.network, this.boot, cap, nodeId, type, payload, lane);
  }

  /** A live packet arrived (header checked by the registry): track its number, then deliver. */
  live(cap: CapSync, p: CapabilityPacket, boot: number, seq: number): void {
    const check = cap.seen(p.source, boot, seq);
    if (check !== 0) {
      this.gap(cap, p.source, check.missed, `packet ${seq}`);
    }
    if (cap.transfer === null) {
      this.deliver(cap, p);
      return;
    }
    cap.held.push(p);
    cap.heldBytes += p.payload.length;
    if (cap.held.length > this.limits.packets || cap.heldBytes > this.limits.bytes) {
      this.fail(cap, 'live packets held during the sync over the limit', true, false);
    }
  }

  /** Node up: tell it where we stand. Node down: transfers with it fail or stop. */
  reachability(clusterId: number, nodeId: number, reachable: boolean): void {
    if (reachable) {
      this.sendStatus(clusterId, nodeId);
      return;
    }
    // What it said before may be stale when it returns (a restart): wait for its next STATUS.
    this.peers.forget(clusterId, nodeId);
    for (const cap of this.caps.values()) {
      if (cap.def.clusterId === clusterId && cap.transfer?.donor === nodeId) {
        this.fail(cap, `donor ${nodeId} became unreachable`, false, true);
      }
    }
    this.serving.lost(clusterId, nodeId);
  }

  private deliver(cap: CapSync, p: CapabilityPacket): void {
    try {
      cap.def.onPacket(p);
    } catch (err) {
      cap.dropped++;
      this.o.logger.error({ err, capability: cap.name }, 'capability packet handler failed');
    }
  }

  private event(cap: CapSync, e: CapabilityEvent): void {
    try {
      cap.def.onEvent?.(e);
    } catch (err) {
      this.o.logger.error({ err, capability: cap.name }, 'capability event handler failed');
    }
  }

  private gap(cap: CapSync, source: number, missed: number, seen: string): void {
    cap.gaps++;
    const resync = cap.def.sync !== undefined && !(cap.transfer === null && cap.fullWanted());
    this.o.logger.warn(
      { capability: cap.name, from: source, missed, seen, resync },
      'replication gap: live packets were lost',
    );
    if (resync) {
      cap.want(null);
      cap.prefer = source;
      this.kick(cap);
    }
  }

  private kickAll(): void {
    for (const cap of this.caps.values()) {
      this.kick(cap);
    }
  }

  /** Start the next wanted transfer when nothing runs or waits for its back-off. */
  private kick(cap: CapSync): void {
    if (
      !this.running ||
      this.readyAt === null ||
      cap.transfer !== null ||
      cap.retry !== null ||
      cap.wants.length === 0
    ) {
      return;
    }
    const donor = this.peers.donors(this.o.network, cap, this.o.clock.now())[0];
    if (donor === undefined) {
      const waited = this.o.clock.now() - this.readyAt;
      if (!cap.synced && this.o.isSeed(cap.def.clusterId) && waited >= this.o.seedFallbackMs) {
        this.seedFallback(cap, waited);
      }
      return;
    }
    this.request(cap, donor, cap.wants.shift()!);
  }

  private seedFallback(cap: CapSync, waited: number): void {
    cap.synced = true;
    cap.syncedBy = 'seed fallback';
    cap.wants = [];
    this.o.logger.warn(
      { capability: cap.name, waitedMs: waited },
      'no donor since the modules were ready: this seed node declares itself synced with what it holds',
    );
    this.statusAll(cap.def.clusterId);
  }

  private request(cap: CapSync, donor: number, scope: string | null): void {
    const syncId = this.nextSyncId;
    this.nextSyncId = (this.nextSyncId + 1) >>> 0;
    const ctx: SyncContext = { node: donor, scope };
    cap.transfer = {
      syncId,
      donor,
      scope,
      nextIndex: 0,
      received: 0,
      hash: createHash('sha256'),
      stall: this.stallTimer(cap),
      startedAt: this.o.clock.now(),
    };
    cap.prefer = null;
    cap.recordsReceived = 0;
    cap.recordsExpected = null;
    this.receiving.set(syncId, cap);
    this.o.logger.info({ capability: cap.name, donor, scope, syncId }, 'sync requested');
    try {
      cap.def.sync?.begin?.(ctx);
    } catch (err) {
      this.o.logger.error({ err, capability: cap.name }, 'sync begin failed');
    }
    this.event(cap, { kind: 'sync_requested', clusterId: cap.def.clusterId, nodeId: donor });
    const r = this.o.network.send(
      {
        clusterId: cap.def.clusterId,
        destination: donor,
        capability: SYNC_CAPABILITY,
        type: SyncType.SYNC_REQ,
        payload: encodeSyncReq({ syncId, capability: cap.name, scope }),
      },
      'control',
    );
    if (typeof r === 'string' && r !== 'queued') {
      this.fail(cap, `request to donor ${donor}: ${r}`, false, true);
      return;
    }
    this.statusAll(cap.def.clusterId);
  }

  private stallTimer(cap: CapSync): TimerHandle {
    return this.o.clock.setTimer(this.o.syncTimeoutMs, () => {
      const t = cap.transfer;
      if (t !== null) {
        this.fail(cap, `no data from donor ${t.donor} for ${this.o.syncTimeoutMs} ms`, true, true);
      }
    });
  }

  /**
   * A transfer ended badly: tell the module (`end(ctx, false)`: keep everything), hand over
   * the held packets, and retry after the back-off, with another donor when there is one.
   */
  private fail(cap: CapSync, reason: string, tellDonor: boolean, blameDonor: boolean): void {
    const t = cap.transfer;
    if (t === null) {
      return;
    }
    this.finish(cap);
    if (tellDonor) {
      void this.o.network.send(
        {
          clusterId: cap.def.clusterId,
          destination: t.donor,
          capability: SYNC_CAPABILITY,
          type: SyncType.ABORT,
          payload: encodeAbort({ syncId: t.syncId, fromDonor: false, reason }),
        },
        'control',
      );
    }
    cap.lastFailure = reason;
    if (blameDonor) {
      cap.failedAt.set(t.donor, this.o.clock.now());
    }
    cap.wants.unshift(t.scope);
    if (cap.wants.includes(null)) {
      cap.wants = [null];
    }
    this.o.logger.warn(
      { capability: cap.name, donor: t.donor, reason, retryInMs: cap.backoffMs },
      'sync failed; retrying',
    );
    this.closeTransfer(cap, t.donor, t.scope, false, reason);
    const delay = cap.backoffMs;
    cap.backoffMs = Math.min(cap.backoffMs * 2, BACKOFF_MAX_MS);
    cap.retry = this.o.clock.setTimer(delay, () => {
      cap.retry = null;
      this.kick(cap);
    });
    this.statusAll(cap.def.clusterId);
  }

  private succeed(cap: CapSync, donor: number, scope: string | null): void {
    cap.lastSyncMs = Math.round(this.o.clock.now() - cap.transfer!.startedAt);
    this.finish(cap);
    cap.synced = true;
    cap.syncedBy = `donor ${donor}`;
    cap.backoffMs = cap.backoffMinMs;
    cap.failedAt.delete(donor);
    this.o.logger.info(
      { capability: cap.name, donor, scope, records: cap.recordsReceived },
      'sync done',
    );
    this.closeTransfer(cap, donor, scope, true, undefined);
    this.statusAll(cap.def.clusterId);
    this.kick(cap);
  }

  private finish(cap: CapSync): void {
    const t = cap.transfer!;
    t.stall.cancel();
    this.receiving.delete(t.syncId);
    cap.transfer = null;
  }

  /** `end(ctx, ok)`, then the live packets held since the request, then `sync_done`. */
  private closeTransfer(
    cap: CapSync,
    donor: number,
    scope: string | null,
    ok: boolean,
    detail: string | undefined,
  ): void {
    try {
      cap.def.sync?.end?.({ node: donor, scope }, ok);
    } catch (err) {
      this.o.logger.error({ err, capability: cap.name }, 'sync end failed');
    }
    const held = cap.held;
    cap.held = [];
    cap.heldBytes = 0;
    for (const p of held) {
      this.deliver(cap, p);
    }
    this.event(cap, {
      kind: 'sync_done',
      clusterId: cap.def.clusterId,
      nodeId: donor,
      ok,
      ...(detail === undefined ? {} : { detail }),
    });
  }

  private tick(): void {
    if (!this.running) {
      return;
    }
    for (const c of this.o.network.clusterIds()) {
      this.statusAll(c);
    }
    this.kickAll();
    this.ticker = this.o.clock.setTimer(this.o.statusIntervalMs, () => {
      this.tick();
    });
  }

  private statusAll(clusterId: number): void {
    if (!this.running) {
      return;
    }
    for (const p of this.o.network.peers(clusterId)) {
      if (p.reachable) {
        this.sendStatus(clusterId, p.nodeId);
      }
    }
  }

  private sendStatus(clusterId: number, nodeId: number): void {
    const caps = [...this.caps.values()]
      .filter((c) => c.def.clusterId === clusterId)
      .map((c) => ({
        name: c.name,
        synced: c.synced,
        serving: c.serving,
        lastSeq: c.lastSeq(nodeId),
      }));
    void this.o.network.send(
      {
        clusterId,
        destination: nodeId,
        capability: SYNC_CAPABILITY,
        type: SyncType.STATUS,
        payload: encodeStatus({ boot: this.boot, caps }),
      },
      'control',
    );
  }

  private onSyncPacket(p: ClusterPacket): void {
    const m = decodeSync(p.type, p.payload);
    if (m === null) {
      this.badPackets++;
      this.o.logger.debug({ from: p.source, type: p.type }, 'bad clusterer:sync packet dropped');
      return;
    }
    this.dispatch(p, m);
  }

  private dispatch(p: ClusterPacket, m: SyncMsg): void {
    switch (m.type) {
      case SyncType.STATUS:
        this.onStatus(p.clusterId, p.source, m.msg);
        return;
      case SyncType.SYNC_REQ:
        this.serving.serve(
          p.clusterId,
          p.source,
          m.msg.syncId,
          this.caps.get(m.msg.capability),
          m.msg.scope,
        );
        return;
      case SyncType.REFUSE: {
        const cap = this.mine(m.msg.syncId, p.source);
        if (cap !== null) {
          this.fail(cap, `donor ${p.source} refused: ${m.msg.reason}`, false, true);
        }
        return;
      }
      case SyncType.CHUNK:
        this.onChunk(p.source, m.syncId, m.index, m.records);
        return;
      case SyncType.END: {
        const cap = this.mine(m.msg.syncId, p.source);
        if (cap !== null) {
          this.onEnd(cap, m.msg.count, m.msg.digest);
        }
        return;
      }
      case SyncType.ABORT:
        if (m.msg.fromDonor) {
          const cap = this.mine(m.msg.syncId, p.source);
          if (cap !== null) {
            this.fail(cap, `donor ${p.source} aborted: ${m.msg.reason}`, false, true);
          }
        } else {
          this.serving.abort(p.clusterId, p.source, m.msg.syncId, m.msg.reason);
        }
        return;
    }
  }

  /** The capability receiving transfer `syncId` from `donor`, or null (a stale packet). */
  private mine(syncId: number, donor: number): CapSync | null {
    const cap = this.receiving.get(syncId);
    return cap?.transfer?.donor === donor ? cap : null;
  }

  private onStatus(clusterId: number, source: number, m: StatusMsg): void {
    this.peers.update(clusterId, source, m, this.o.clock.now());
    for (const c of m.caps) {
      const cap = this.caps.get(c.name);
      if (cap?.def.clusterId !== clusterId || !cap.enabled) {
        continue;
      }
      const check = cap.told(source, m.boot, c.lastSeq);
      if (check !== 0) {
        this.gap(cap, source, check.missed, `STATUS naming ${c.lastSeq}`);
      }
    }
    this.kickAll();
  }

  private onChunk(donor: number, syncId: number, index: number, records: Buffer): void {
    const cap = this.mine(syncId, donor);
    const t = cap?.transfer;
    if (cap === null || t === undefined || t === null) {
      return;
    }
    if (index !== t.nextIndex) {
      this.fail(cap, `chunk ${index} arrived, ${t.nextIndex} expected`, true, true);
      return;
    }
    t.nextIndex++;
    t.stall.cancel();
    t.stall = this.stallTimer(cap);
    const ctx: SyncContext = { node: donor, scope: t.scope };
    const apply = cap.def.sync!.apply.bind(cap.def.sync);
    t.hash.update(records);
    const failure: { reason: string | null } = { reason: null };
    const whole = forEachRecord(records, (_framed, record) => {
      if (failure.reason !== null) {
        return;
      }
      t.received++;
      cap.recordsReceived++;
      try {
        apply(record, ctx);
      } catch (err) {
        failure.reason = `apply failed: ${(err as Error).message}`;
      }
    });
    if (failure.reason !== null || !whole) {
      this.fail(cap, failure.reason ?? `chunk ${index} is malformed`, true, true);
    }
  }

  private onEnd(cap: CapSync, count: number, digest: Buffer): void {
    const t = cap.transfer!;
    cap.recordsExpected = count;
    const mine = t.hash.digest();
    if (count !== t.received || !mine.equals(digest)) {
      const what =
        count !== t.received
          ? `${t.received} records received, the donor sent ${count}`
          : 'the digest does not match';
      this.fail(cap, `transfer not verified: ${what}`, false, true);
      return;
    }
    this.succeed(cap, t.donor, t.scope);
  }
}
