/**
 * What the sync engine keeps per registered capability: whether it is synced and how, the
 * transfer it is receiving and the live packets held back meanwhile, the transfers it serves,
 * the sequence numbers it takes per destination and the ones it last saw per source (gap
 * detection). The engine (engine.ts) drives the state; `clusterer:list_cap` reads it.
 */
import type { Hash } from 'node:crypto';
import type { TimerHandle } from '../../core/clock.js';
import type { CapabilityDefinition, CapabilityPacket } from '../../module/define-module.js';

/** `clusterer:list_cap` state of a capability on this node. */
export type SyncState = 'synced' | 'not synced' | 'sync pending' | 'syncing';

/** A transfer this node is receiving. */
export interface Receiving {
  readonly syncId: number;
  readonly donor: number;
  readonly scope: string | null;
  nextIndex: number;
  received: number;
  readonly hash: Hash;
  stall: TimerHandle;
  /** Clock time of the request (the transfer's duration is shown in list_cap). */
  readonly startedAt: number;
}

/** Where a source's live packets stand: its boot id and the last sequence number seen. */
interface SourceSeq {
  boot: number;
  last: number;
}

/** True when `a` comes after `b` in u32 sequence arithmetic (RFC 1982 style). */
export function seqAfter(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
}

/** What a gap check found: nothing, or how many packets were skipped. */
export type SeqCheck = 0 | { readonly missed: number };

export class CapSync {
  enabled = true;
  /** Packets dropped: another data version, disabled, too short, or the handler threw. */
  dropped = 0;
  synced: boolean;
  /** `donor <id>`, `seed fallback`, `no sync needed`, or '' before the first sync. */
  syncedBy: string;
  transfer: Receiving | null = null;
  /** Transfers asked for and not started: null = the whole data set, else a scope. */
  wants: (string | null)[] = [];
  /** A gap seen from this source: ask it first. */
  prefer: number | null = null;
  retry: TimerHandle | null = null;
  backoffMs: number;
  /** Donors that failed lately, with when (skipped while others are available). */
  readonly failedAt = new Map<number, number>();
  /** Live packets held back while a transfer runs. */
  held: CapabilityPacket[] = [];
  heldBytes = 0;
  gaps = 0;
  recordsSent = 0;
  transfersServed = 0;
  serving = 0;
  recordsReceived = 0;
  recordsExpected: number | null = null;
  lastFailure: string | null = null;
  /** How long the last verified transfer took, request to END (ms); null before one. */
  lastSyncMs: number | null = null;
  /** Test hook: live packets still to drop after they took their sequence numbers. */
  dropNext = 0;
  private readonly sendSeq = new Map<number, number>();
  private readonly recvSeq = new Map<number, SourceSeq>();

  constructor(
    readonly def: CapabilityDefinition,
    readonly backoffMinMs: number,
  ) {
    this.backoffMs = backoffMinMs;
    const needs = def.sync !== undefined && def.sync.startupSync !== false;
    this.synced = !needs;
    this.syncedBy = needs ? '' : 'no sync needed';
    if (needs) {
      this.wants.push(null);
    }
  }

  get name(): string {
    return this.def.name;
  }

  state(ready: boolean): SyncState {
    if (this.synced) {
      return 'synced';
    }
    if (this.transfer !== null) {
      return 'syncing';
    }
    return ready ? 'sync pending' : 'not synced';
  }

  /** Take the next sequence number for a destination. */
  nextSeq(dest: number): number {
    const seq = ((this.sendSeq.get(dest) ?? 0) + 1) >>> 0;
    this.sendSeq.set(dest, seq);
    return seq;
  }

  /** The last sequence number taken for a destination (0 before any). */
  lastSeq(dest: number): number {
    return this.sendSeq.get(dest) ?? 0;
  }

  /**
   * A live packet `seq` from `source` of boot `boot`: a new boot (or the first packet seen)
   * starts the count over; a skipped number is a gap. An older number (a reordering through a
   * relay) is no gap: the revision rule makes its late delivery harmless.
   */
  seen(source: number, boot: number, seq: number): SeqCheck {
    const s = this.recvSeq.get(source);
    if (s?.boot !== boot) {
      this.recvSeq.set(source, { boot, last: seq });
      return 0;
    }
    if (!seqAfter(seq, s.last)) {
      return 0;
    }
    const missed = ((seq - s.last) >>> 0) - 1;
    s.last = seq;
    return missed === 0 ? 0 : { missed };
  }

  /**
   * A STATUS from `source` says it took `lastSeq` for this node: more than was received is a
   * gap (packets it could not send, or that were lost).
   */
  told(source: number, boot: number, lastSeq: number): SeqCheck {
    const s = this.recvSeq.get(source);
    if (s?.boot !== boot) {
      this.recvSeq.set(source, { boot, last: lastSeq });
      return 0;
    }
    if (!seqAfter(lastSeq, s.last)) {
      return 0;
    }
    const missed = (lastSeq - s.last) >>> 0;
    s.last = lastSeq;
    return { missed };
  }

  /** Is a full transfer running or asked for (it will cover whatever a gap missed)? */
  fullWanted(): boolean {
    return this.wants.includes(null);
  }

  /** Ask for a transfer (deduplicated: a whole-set request covers every scope). */
  want(scope: string | null): void {
    if (scope === null) {
      this.wants = [null];
    } else if (!this.wants.includes(null) && !this.wants.includes(scope)) {
      this.wants.push(scope);
    }
  }
}
