/**
 * Dialog replication (capability `dialog-dlg-repl`, OpenSIPS `dialog_replication_cluster`):
 * every node of the cluster holds every dialog, so the node that takes over a sharing tag can
 * route the calls' in-dialog requests, end them on timeout, ping them and bill them.
 *
 * Live: a change marks the dialog dirty; the changes of one processing step leave as one packet
 * (the whole record with its revision) on the next microtask. An end leaves at once as the final
 * record, saying whether the ending node called onEnded (wrote the CDR). A receiver applies a
 * record only if its revision is newer than the held copy. Ended is final: an end applies to
 * the held copy whatever the revisions, and a dialog ended here is remembered as a tombstone
 * (its final record) for `tombstone_ttl`, so no update (older, or a concurrent change made
 * elsewhere before the end arrived there) can bring it back.
 *
 * Sync: a donor emits every dialog and every tombstone (or one sharing tag's); the receiver
 * applies each exactly as the live record or end. Nothing is dropped for being absent from the
 * donor: after a split both sides resync from each other, and each holds calls the other never
 * saw. Sync record layout (the capability's dataVersion, {@link DIALOG_RECORD_VERSION}):
 *
 *   byte 0    kind: 1 = a dialog (as live packet type 1), 2 = a tombstone (as live type 2)
 *   bytes 1.. the record as in the live packet of that type (codec.ts: UTF-8 JSON); a
 *             tombstone's `fired` says whether onEnded was called on a node that knew of it
 */
import type {
  Capability,
  CapabilityEvent,
  CapabilityPacket,
  ClusterApi,
  ModuleHost,
  SyncContext,
} from '../../src/module/index.js';
import { DIALOG_RECORD_VERSION, DlgState, type DlgStateValue } from './api.js';
import {
  assign,
  decodeDialog,
  dialogOf,
  encodeDialog,
  T_DLG_END,
  T_DLG_UPDATE,
  type DialogWire,
} from './codec.js';
import type { Dialog } from './dialog.js';
import type { DialogParams } from './params.js';
import type { Profiles } from './profiles.js';
import type { DialogStore } from './store.js';
import type { TimeoutQueue } from './timeouts.js';

export const DLG_CAPABILITY = 'dialog-dlg-repl';

/** Sync record kinds (byte 0), the numbers of the live packet types. */
export const SYNC_DIALOG = T_DLG_UPDATE;
export const SYNC_TOMBSTONE = T_DLG_END;

/** What replication needs from the dialog service. */
export interface ReplicationDeps {
  readonly host: ModuleHost<DialogParams>;
  readonly store: DialogStore;
  readonly timeouts: TimeoutQueue;
  readonly profiles: Profiles;
  /** A revision seen from another node: later local changes must be newer (hybrid clock). */
  observe(rev: number): void;
  /** Put the dialog in the timeout queue for its state (absolute times: remaining time kept). */
  schedule(d: Dialog): void;
  stateChanged(d: Dialog, from: DlgStateValue): void;
  /** Call the onEnded listeners (the CDR). */
  fire(d: Dialog): void;
}

/** Replication counters (MI `dlg_cluster_stats` is not an OpenSIPS command: statistics). */
export interface ReplicationCounters {
  sent: number;
  received: number;
  stale: number;
  bad: number;
  /** Tombstones a sync applied: ends this node had missed. */
  tombstones: number;
}

/** An ended dialog, remembered. */
interface Tomb {
  /** Wall time it may be forgotten. */
  readonly until: number;
  readonly tag: string;
  /** The final record (codec.ts), `fired` as known here: what a sync hands on. */
  readonly record: Buffer;
}

export class DialogReplication {
  readonly counters: ReplicationCounters = {
    sent: 0,
    received: 0,
    stale: 0,
    bad: 0,
    tombstones: 0,
  };
  readonly cap: Capability;
  private readonly dirtySet = new Set<Dialog>();
  /** Ended ids (insertion order is expiry order: one ttl for all). */
  private readonly tombs = new Map<string, Tomb>();
  private readonly ttlMs: number;

  constructor(
    private readonly d: ReplicationDeps,
    cluster: ClusterApi,
    clusterId: number,
  ) {
    this.ttlMs = d.host.params.tombstone_ttl * 1000;
    this.cap = cluster.registerCapability({
      name: DLG_CAPABILITY,
      clusterId,
      dataVersion: DIALOG_RECORD_VERSION,
      onPacket: (p) => {
        this.onPacket(p);
      },
      onEvent: (e) => {
        this.onEvent(e);
      },
      sync: {
        donate: (ctx, emit) => this.donate(ctx, emit),
        apply: (record, ctx) => {
          this.apply(record, ctx);
        },
      },
    });
  }

  /** Ended dialogs remembered now. */
  get tombstones(): number {
    return this.tombs.size;
  }

  /** A dialog changed here: send it with the other changes of this step. */
  dirty(d: Dialog): void {
    if (this.dirtySet.size === 0) {
      queueMicrotask(() => {
        this.flush();
      });
    }
    this.dirtySet.add(d);
  }

  /** A dialog ended here: its final record goes now; `fired`: onEnded was called here. */
  ended(d: Dialog, fired: boolean): void {
    this.dirtySet.delete(d);
    const record = encodeDialog(d, fired);
    this.tomb(d.id, d.sharingTag, record);
    this.send(T_DLG_END, record);
  }

  /** `dlg_cluster_sync [tag]`: pull every dialog (or the tag's) again. */
  requestSync(tag: string | null): boolean {
    return this.cap.requestSync(tag);
  }

  /** Forget ended ids past their time (the timeout job, every second). */
  prune(now: number): void {
    for (const [id, tomb] of this.tombs) {
      if (tomb.until > now) {
        break;
      }
      this.tombs.delete(id);
    }
  }

  /** A record from another node (live or sync); true when it changed what is held. */
  applyRecord(w: DialogWire): boolean {
    if (w.state === DlgState.DELETED) {
      return this.applyEnd(w);
    }
    this.d.observe(w.rev);
    if (this.tombs.has(w.id)) {
      this.counters.stale++;
      return false;
    }
    const held = this.d.store.get(w.id);
    if (held === undefined) {
      const d = dialogOf(w);
      this.d.store.add(d);
      this.d.profiles.count(d);
      this.d.schedule(d);
      return true;
    }
    if (w.rev <= held.rev) {
      this.counters.stale++;
      return false;
    }
    const from = held.state;
    this.d.profiles.release(held);
    assign(held, w);
    held.sharingTag = w.sharingTag;
    held.profiles = [...w.profiles];
    this.d.profiles.count(held);
    this.d.schedule(held);
    if (held.state !== from) {
      this.d.stateChanged(held, from);
    }
    return true;
  }

  /**
   * The final record of a dialog ended on another node. The CDR (onEnded) is written here
   * when the ending node did not write it and the dialog's tag is active here: exactly once
   * (a node that fired remembers the end at least as long as the ender, whose tombstone is the
   * only other way the end can come back).
   */
  applyEnd(w: DialogWire): boolean {
    this.d.observe(w.rev);
    if (this.tombs.has(w.id)) {
      return false; // ended here too: the end (and its CDR, if ours) was handled then
    }
    let d = this.d.store.get(w.id);
    if (d !== undefined) {
      const from = d.state;
      this.d.timeouts.cancel(d);
      d.cancel = null;
      this.d.profiles.release(d);
      assign(d, w);
      this.d.store.remove(d);
      this.d.stateChanged(d, from);
    } else {
      d = dialogOf(w);
    }
    const fire = w.fired !== true && this.d.host.sharingTags.isActive(w.sharingTag);
    // Remembered before onEnded runs, with `fired` as it now stands, so a sync from here
    // never has the CDR written twice.
    this.tomb(w.id, w.sharingTag, encodeDialog(w, w.fired === true || fire));
    if (fire) {
      this.d.fire(d);
    }
    return true;
  }

  private send(type: number, payload: Buffer): void {
    this.cap.sendAll(type, payload);
    this.counters.sent++;
  }

  private flush(): void {
    for (const d of this.dirtySet) {
      if (d.state !== DlgState.DELETED) {
        this.send(T_DLG_UPDATE, encodeDialog(d));
      }
    }
    this.dirtySet.clear();
  }

  private tomb(id: string, tag: string, record: Buffer): void {
    this.tombs.delete(id);
    this.tombs.set(id, { until: this.d.host.wallTime() + this.ttlMs, tag, record });
  }

  private onPacket(p: CapabilityPacket): void {
    const w = p.type === T_DLG_UPDATE || p.type === T_DLG_END ? decodeDialog(p.payload) : null;
    if (w === null) {
      this.counters.bad++;
      this.d.host.logger.debug(
        { source: p.source, type: p.type, bytes: p.payload.length },
        'dialog replication: malformed packet dropped',
      );
      return;
    }
    this.counters.received++;
    if (p.type === T_DLG_END) {
      this.applyEnd(w);
    } else {
      this.applyRecord(w);
    }
  }

  /**
   * OpenSIPS `cluster_auto_sync`: a node came up (it may have missed changes, or it is new
   * and holds the active copy of a tag): resync the dialogs of every tag that is backup here.
   */
  private onEvent(e: CapabilityEvent): void {
    if (e.kind !== 'node_up' || !this.d.host.params.cluster_auto_sync) {
      return;
    }
    const tags = new Set([this.d.host.params.dlg_sharing_tag]);
    for (const d of this.d.store.values()) {
      tags.add(d.sharingTag);
    }
    for (const tag of tags) {
      if (this.d.host.sharingTags.state(tag) === 'backup') {
        this.cap.requestSync(tag);
      }
    }
  }

  private async donate(
    ctx: SyncContext,
    emit: (record: Buffer) => void | Promise<void>,
  ): Promise<void> {
    // The Maps' own iterators: entries added meanwhile come later, removed ones are skipped
    // (a dialog that ends mid-transfer leaves the store and joins the tombstones).
    for (const d of this.d.store.values()) {
      if (ctx.scope === null || d.sharingTag === ctx.scope) {
        await emit(syncRecord(SYNC_DIALOG, encodeDialog(d)));
      }
    }
    for (const tomb of this.tombs.values()) {
      if (ctx.scope === null || tomb.tag === ctx.scope) {
        await emit(syncRecord(SYNC_TOMBSTONE, tomb.record));
      }
    }
  }

  private apply(record: Buffer, ctx: SyncContext): void {
    const kind = record[0];
    const w =
      kind === SYNC_DIALOG || kind === SYNC_TOMBSTONE ? decodeDialog(record.subarray(1)) : null;
    if (w === null || (kind === SYNC_TOMBSTONE && w.state !== DlgState.DELETED)) {
      this.counters.bad++;
      this.d.host.logger.debug({ donor: ctx.node, kind }, 'dialog sync: malformed record skipped');
      return;
    }
    if (kind === SYNC_DIALOG) {
      this.applyRecord(w);
    } else if (this.applyEnd(w)) {
      this.counters.tombstones++;
    }
  }
}

function syncRecord(kind: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.of(kind), payload]);
}
