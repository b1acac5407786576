/**
 * usrloc's cluster capability `usrloc-contact-repl` (OpenSIPS `working_mode_preset:
 * full-sharing-cluster`): every local write goes to every node of `location_cluster` as a live
 * packet, and a node that starts (or runs `ul_cluster_sync`) pulls the whole table from a donor
 * through the cluster's sync engine. Whatever arrives, live or by sync, goes through the store's
 * apply-if-newer path, so live packets, a sync, a resync and a load from disk commute.
 *
 * Wire format (data version {@link USRLOC_DATA_VERSION}, the record format), big-endian: an
 * insert or update carries the whole record in codec.ts's binary form; a delete is `u8 reason,
 * u64 rev, u16 aor length, aor, key` (UTF-8). A sync record is the same bytes as an insert.
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

/** A binding as a packet or sync record (codec.ts). */
export const encodeRecord: (rec: ContactRecord) => Buffer = encodeContact;

/** A decoded deletion. */
export interface DeleteOp {
  readonly aor: string;
  readonly key: string;
  readonly rev: number;
  readonly reason: RemoveReason;
}

export function encodeDelete(op: DeleteOp): Buffer {
  const aor = Buffer.from(op.aor, 'utf8');
  const key = Buffer.from(op.key, 'utf8');
  const b = Buffer.allocUnsafe(11 + aor.length + key.length);
  b.writeUInt8(REASONS.indexOf(op.reason), 0);
  b.writeBigUInt64BE(BigInt(op.rev), 1);
  b.writeUInt16BE(aor.length, 9);
  aor.copy(b, 11);
  key.copy(b, 11 + aor.length);
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
  /** Bindings dropped at the end of a verified sync (deleted while this node was away). */
  sync_swept: number;
}

export class UsrlocReplication {
  readonly cap: Capability;
  readonly stats: ReplicationStats = {
    repl_sent: 0,
    repl_applied: 0,
    repl_stale: 0,
    repl_bad: 0,
    sync_swept: 0,
  };
  /** Set while applying what came from elsewhere: the store's listener must not send it on. */
  private quiet = 0;
  /**
   * The records held when a transfer began that neither the donor sent nor anything replaced
   * since (a change makes a new record object, so identity says "unchanged").
   */
  private unconfirmed: Set<ContactRecord> | null = null;

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
        begin: (ctx) => {
          this.begin(ctx);
        },
        apply: (record) => {
          this.applyBytes(record);
        },
        end: (ctx, ok) => {
          this.end(ctx, ok);
        },
      },
    });
  }

  /** Whether the store's writes right now are this node's own (and so must be sent). */
  get sending(): boolean {
    return this.quiet === 0;
  }

  /** Run `fn` without replicating the writes it makes (applies, sync sweeps, backup purges). */
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
      const op = decodeDelete(p.payload);
      if (typeof op === 'string') {
        this.bad(op, p.source);
        return;
      }
      const done = this.local(() => this.store.applyDelete(op.aor, op.key, op.rev, op.reason));
      this.count(done);
      return;
    }
    this.bad(`packet type ${String(p.type)}`, p.source);
  }

  /**
   * Donor: every binding held (expired ones too: their owner removes them and replicates that),
   * or those owned by `ctx.scope`. Each AoR's short list is copied before its records are
   * emitted, so a removal during an await cannot make the walk skip a binding the receiver
   * would then sweep; the AoR map itself is walked live (a Map iterator survives changes).
   */
  async donate(ctx: SyncContext, emit: (record: Buffer) => void | Promise<void>): Promise<void> {
    for (const list of this.store.lists()) {
      const recs = list.length > 1 ? list.slice() : list;
      for (const rec of recs) {
        if (ctx.scope === null || rec.owner === ctx.scope) {
          await emit(encodeRecord(rec));
        }
      }
    }
  }

  /** Receiver: remember what is held in scope now, to drop at `end` what nobody confirmed. */
  begin(ctx: SyncContext): void {
    const held = new Set<ContactRecord>();
    for (const rec of this.store.records()) {
      if (ctx.scope === null || rec.owner === ctx.scope) {
        held.add(rec);
      }
    }
    this.unconfirmed = held;
  }

  /** One record from a donor (or a live PUT). */
  applyBytes(bytes: Buffer): void {
    const rec = decodeContact(bytes);
    if (typeof rec === 'string') {
      this.bad(rec, null);
      return;
    }
    const pending = this.unconfirmed;
    if (pending !== null && pending.size > 0) {
      const held = this.store.getContact(rec.aor, contactKey(rec));
      if (held !== null) {
        pending.delete(held);
      }
    }
    this.count(this.local(() => this.store.applyRecord(rec)));
  }

  /**
   * Receiver: a verified transfer drops the bindings held at `begin` that the donor did not
   * send and that did not change since (deletions missed while away); a failed one keeps all.
   * The sweep is this node catching up, not news: it is not replicated.
   */
  end(ctx: SyncContext, ok: boolean): void {
    const pending = this.unconfirmed;
    this.unconfirmed = null;
    if (!ok || pending === null) {
      return;
    }
    let swept = 0;
    this.local(() => {
      for (const rec of pending) {
        const key = contactKey(rec);
        // Still the very record held at begin: nothing wrote it since, and the donor lacks it.
        if (this.store.getContact(rec.aor, key) === rec) {
          this.store.applyDelete(rec.aor, key, rec.rev + 1, 'sync');
          swept++;
        }
      }
    });
    this.stats.sync_swept += swept;
    if (swept > 0) {
      this.logger.info(
        { swept, donor: ctx.node },
        'usrloc: bindings the donor no longer had dropped',
      );
    }
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
