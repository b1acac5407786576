/**
 * usrloc's cluster capability `usrloc-contact-repl` (OpenSIPS `working_mode_preset:
 * full-sharing-cluster`): every local write goes to every node of `location_cluster` as a live
 * packet, and a node that starts (or runs `ul_cluster_sync`) pulls the whole table from a donor
 * through the cluster's sync engine. Whatever arrives, live or by sync, goes through the store's
 * apply-if-newer path, so live packets, a sync, a resync and a load from disk commute.
 *
 * Wire format (data version {@link USRLOC_DATA_VERSION}, the record format), big-endian: an
 * insert or update carries the whole record in codec.ts's binary form; a delete is `u8 reason,
 * u64 rev, u16 aor length, aor, key` (UTF-8).
 *
 * A sync record is `u8 kind` then the live payload of that packet type: kind 1 ({@link
 * UsrlocPacket.PUT}) a binding, kind 2 ({@link UsrlocPacket.DELETE}) a tombstone as a delete
 * with reason `sync` (the store keeps a deletion's revision, not its reason). The donor sends
 * its tombstones with its bindings so a receiver learns the deletions it missed while away
 * through the same apply-if-newer rule as a live delete; nothing is ever dropped for not being
 * sent (a split's writes on the receiving side are not the donor's to erase).
 */
import type {
  Capability,
  CapabilityPacket,
  ClusterApi,
  Logger,
  SyncContext,
} from '../../src/module/index.js';
import {
  CONTACT_RECORD_VERSION,
  contactKey,
  type ContactRecord,
  type RemoveReason,
} from './api.js';
import { decodeContact, encodeContact } from './codec.js';
import type { UsrlocStore } from './store.js';

/** The capability name, as OpenSIPS's usrloc registers it. */
export const USRLOC_CAPABILITY = 'usrloc-contact-repl';

/** Payload format version: the record format. */
export const USRLOC_DATA_VERSION = CONTACT_RECORD_VERSION;

/** Live packet types. */
export const UsrlocPacket = {
  /** A binding inserted or updated: the whole record. */
  PUT: 1,
  /** A binding removed: aor, key, the deletion's revision and its reason. */
  DELETE: 2,
} as const;

const REASONS: readonly RemoveReason[] = [
  'expired',
  'unregistered',
  'replaced',
  'mi',
  'evicted',
  'ping',
  'sync',
];

/** A binding as a live packet (codec.ts). */
export const encodeRecord = (rec: ContactRecord): Buffer => encodeContact(rec);

/** A binding as a sync record: kind {@link UsrlocPacket.PUT}, then the live packet's bytes. */
export const encodeSyncRecord = (rec: ContactRecord): Buffer =>
  encodeContact(rec, UsrlocPacket.PUT);

/** A decoded deletion. */
export interface DeleteOp {
  readonly aor: string;
  readonly key: string;
  readonly rev: number;
  readonly reason: RemoveReason;
}

/** A live delete payload. */
export function encodeDelete(op: DeleteOp): Buffer {
  return deleteBytes(op.aor, op.key, op.rev, op.reason, 0);
}

/** A sync tombstone: kind {@link UsrlocPacket.DELETE}, then a delete with reason `sync`. */
export function encodeTombstone(aor: string, key: string, rev: number): Buffer {
  const b = deleteBytes(aor, key, rev, 'sync', 1);
  b.writeUInt8(UsrlocPacket.DELETE, 0);
  return b;
}

/** A delete's bytes after `lead` bytes left for the caller. */
function deleteBytes(
  aorText: string,
  keyText: string,
  rev: number,
  reason: RemoveReason,
  lead: number,
): Buffer {
  const aor = Buffer.from(aorText, 'utf8');
  const key = Buffer.from(keyText, 'utf8');
  const b = Buffer.allocUnsafe(lead + 11 + aor.length + key.length);
  b.writeUInt8(REASONS.indexOf(reason), lead);
  b.writeBigUInt64BE(BigInt(rev), lead + 1);
  b.writeUInt16BE(aor.length, lead + 9);
  aor.copy(b, lead + 11);
  key.copy(b, lead + 11 + aor.length);
  return b;
}

/** A deletion from its bytes, or why it is not one. */
export function decodeDelete(b: Buffer): DeleteOp | string {
  if (b.length < 11) {
    return 'short delete';
  }
  const reason = REASONS[b.readUInt8(0)];
  const rev = Number(b.readBigUInt64BE(1));
  const aorLen = b.readUInt16BE(9);
  if (reason === undefined || 11 + aorLen > b.length || !Number.isSafeInteger(rev)) {
    return 'bad delete';
  }
  return {
    reason,
    rev,
    aor: b.toString('utf8', 11, 11 + aorLen),
    key: b.toString('utf8', 11 + aorLen),
  };
}

/** Replication counters (usrloc statistics). */
export interface ReplicationStats {
  /** Live packets sent (one per write, whatever the number of nodes). */
  repl_sent: number;
  /** Live packets and sync records applied (newer than what was held). */
  repl_applied: number;
  /** Live packets and sync records ignored as not newer. */
  repl_stale: number;
  /** Packets and records that could not be decoded. */
  repl_bad: number;
  /** Tombstones from a sync that were newer than what was held (a deletion missed). */
  sync_tombstones: number;
}

export class UsrlocReplication {
  readonly cap: Capability;
  readonly stats: ReplicationStats = {
    repl_sent: 0,
    repl_applied: 0,
    repl_stale: 0,
    repl_bad: 0,
    sync_tombstones: 0,
  };
  /** Set while applying what came from elsewhere: the store's listener must not send it on. */
  private quiet = 0;

  constructor(
    private readonly store: UsrlocStore,
    cluster: ClusterApi,
    clusterId: number,
    private readonly logger: Logger,
  ) {
    this.cap = cluster.registerCapability({
      name: USRLOC_CAPABILITY,
      clusterId,
      dataVersion: USRLOC_DATA_VERSION,
      onPacket: (p) => {
        this.onPacket(p);
      },
      sync: {
        donate: (ctx, emit) => this.donate(ctx, emit),
        apply: (record) => {
          this.applySync(record);
        },
      },
    });
  }

  /** Whether the store's writes right now are this node's own (and so must be sent). */
  get sending(): boolean {
    return this.quiet === 0;
  }

  /** Run `fn` without replicating the writes it makes (applies, backup purges). */
  local<T>(fn: () => T): T {
    this.quiet++;
    try {
      return fn();
    } finally {
      this.quiet--;
    }
  }

  /** The store's listener: a local insert or update. */
  changed(rec: ContactRecord): void {
    if (this.quiet === 0) {
      this.stats.repl_sent++;
      this.cap.sendAll(UsrlocPacket.PUT, encodeRecord(rec));
    }
  }

  /** The store's listener: a local deletion. */
  deleted(rec: ContactRecord, reason: RemoveReason, rev: number): void {
    if (this.quiet === 0) {
      this.stats.repl_sent++;
      const op: DeleteOp = { aor: rec.aor, key: contactKey(rec), rev, reason };
      this.cap.sendAll(UsrlocPacket.DELETE, encodeDelete(op));
    }
  }

  /** A live packet from a peer: applied only if newer (input from the network never throws). */
  onPacket(p: CapabilityPacket): void {
    if (p.type === UsrlocPacket.PUT) {
      this.applyBytes(p.payload);
      return;
    }
    if (p.type === UsrlocPacket.DELETE) {
      this.applyDeleteBytes(p.payload, p.source);
      return;
    }
    this.bad(`packet type ${String(p.type)}`, p.source);
  }

  /**
   * Donor: every binding held (expired ones too: their owner removes them and replicates that),
   * or those owned by `ctx.scope`, then every tombstone (they carry no owner tag, so all of
   * them whatever the scope: a receiver applies one only over an older binding). Each AoR's
   * short list is copied before its records are emitted; the AoR and tombstone maps are walked
   * live (a Map iterator survives changes, and what changes during the walk also goes live).
   */
  async donate(ctx: SyncContext, emit: (record: Buffer) => void | Promise<void>): Promise<void> {
    for (const list of this.store.lists()) {
      const recs = list.length > 1 ? list.slice() : list;
      for (const rec of recs) {
        if (ctx.scope === null || rec.owner === ctx.scope) {
          await emit(encodeSyncRecord(rec));
        }
      }
    }
    for (const [aor, key, rev] of this.store.tombstones()) {
      await emit(encodeTombstone(aor, key, rev));
    }
  }

  /** Receiver: one sync record (kind byte, then a live payload), applied only if newer. */
  applySync(bytes: Buffer): void {
    const kind = bytes.length > 0 ? bytes.readUInt8(0) : -1;
    if (kind === UsrlocPacket.PUT) {
      this.applyRecordBytes(decodeContact(bytes, 1));
      return;
    }
    if (kind === UsrlocPacket.DELETE) {
      if (this.applyDeleteBytes(bytes.subarray(1), null)) {
        this.stats.sync_tombstones++;
      }
      return;
    }
    this.bad(`sync record kind ${String(kind)}`, null);
  }

  /** One binding in codec.ts's form (a live PUT). */
  applyBytes(bytes: Buffer): void {
    this.applyRecordBytes(decodeContact(bytes));
  }

  private applyRecordBytes(rec: ContactRecord | string): void {
    if (typeof rec === 'string') {
      this.bad(rec, null);
      return;
    }
    this.count(this.local(() => this.store.applyRecord(rec)));
  }

  /** A live delete or a sync tombstone; returns whether it was newer than what was held. */
  private applyDeleteBytes(payload: Buffer, source: number | null): boolean {
    const op = decodeDelete(payload);
    if (typeof op === 'string') {
      this.bad(op, source);
      return false;
    }
    const done = this.local(() => this.store.applyDelete(op.aor, op.key, op.rev, op.reason));
    this.count(done);
    return done;
  }

  private count(applied: boolean): void {
    if (applied) {
      this.stats.repl_applied++;
    } else {
      this.stats.repl_stale++;
    }
  }

  private bad(why: string, source: number | null): void {
    this.stats.repl_bad++;
    this.logger.debug({ why, source }, 'usrloc: replicated data dropped');
  }
}
