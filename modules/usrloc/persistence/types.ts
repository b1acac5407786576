/**
 * The one interface both persistent stores implement (the append-only file and Redis), and the
 * write queue they share: writes are queued on the hot path and written in batches by `flush()`,
 * the latest write per binding replacing any earlier one still queued (a phone that refreshes
 * twice within a flush interval costs one write).
 */
import { contactKey, type ContactRecord } from '../api.js';

/** A queued write: a binding stored, a binding deleted, or an AoR left empty. */
export type WriteOp =
  | { readonly op: 'put'; readonly rec: ContactRecord }
  | { readonly op: 'del'; readonly aor: string; readonly key: string; readonly rev: number }
  | { readonly op: 'aor-del'; readonly aor: string };

/** What a load found. */
export interface LoadReport {
  /** Records read and handed to `apply`. */
  readonly records: number;
  /** Deletions read and handed to `applyDelete`. */
  readonly deletes: number;
  /** Lines or entries that could not be read (a torn tail after a crash, corruption). */
  readonly skipped: number;
}

/** Where a load hands what it reads (the store's apply-if-newer path). */
export interface LoadSink {
  record(rec: ContactRecord): void;
  delete(aor: string, key: string, rev: number): void;
}

/** The state a compaction rewrites: every binding and tombstone held. */
export interface Snapshot {
  records(): Iterable<ContactRecord>;
  tombstones(): Iterable<readonly [string, string, number]>;
}

export interface Persistence {
  /** Read everything stored into `sink`. */
  load(sink: LoadSink): Promise<LoadReport>;
  /** Queue a write (never blocks, never throws). */
  write(op: WriteOp): void;
  /** Write everything queued now. */
  flush(): Promise<void>;
  /** Rewrite the store from `snapshot` (the file backend; Redis has nothing to compact). */
  compact(snapshot: Snapshot): Promise<void>;
  /** Flush and release the store. */
  close(): Promise<void>;
  /** Counters for statistics. */
  readonly stats: PersistenceStats;
}

export interface PersistenceStats {
  /** Operations written. */
  written: number;
  /** Flushes that failed (they are retried). */
  errors: number;
  /** Operations dropped because the queue was full. */
  dropped: number;
  /** Operations waiting. */
  queued: number;
}

/** The op's identity in the queue: the binding (a put and a del of it share one), or the AoR. */
function slot(op: WriteOp): string {
  switch (op.op) {
    case 'put':
      return `k\u0000${op.rec.aor}\u0000${contactKey(op.rec)}`;
    case 'del':
      return `k\u0000${op.aor}\u0000${op.key}`;
    case 'aor-del':
      return `a\u0000${op.aor}`;
  }
}

/**
 * Pending writes, coalesced by binding and kept in the order of their last change (a re-queued
 * binding moves to the end, so an AoR deletion followed by a new binding of the AoR stays in that
 * order). Bounded: past `limit` distinct entries new ones are dropped and counted.
 */
export class WriteQueue {
  private pending = new Map<string, WriteOp>();

  constructor(
    private readonly limit: number,
    private readonly stats: PersistenceStats,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  push(op: WriteOp): void {
    const k = slot(op);
    if (this.pending.delete(k)) {
      this.pending.set(k, op);
      return;
    }
    if (this.pending.size >= this.limit) {
      this.stats.dropped++;
      return;
    }
    this.pending.set(k, op);
    this.stats.queued = this.pending.size;
  }

  /** Take everything queued (the caller writes it or gives it back with `restore`). */
  take(): WriteOp[] {
    const ops = [...this.pending.values()];
    this.pending = new Map();
    this.stats.queued = 0;
    return ops;
  }

  /**
   * Put back ops whose write failed, ahead of what was queued since (those are newer, so a
   * binding queued again keeps its newer op).
   */
  restore(ops: readonly WriteOp[]): void {
    const newer = this.pending;
    this.pending = new Map();
    for (const op of ops) {
      this.push(op);
    }
    for (const [k, op] of newer) {
      this.pending.delete(k);
      this.pending.set(k, op);
    }
    this.stats.queued = this.pending.size;
  }

  /** Forget everything queued (a compaction's snapshot already holds it). */
  clear(): void {
    this.pending = new Map();
    this.stats.queued = 0;
  }
}

/** Fresh counters. */
export function newStats(): PersistenceStats {
  return { written: 0, errors: 0, dropped: 0, queued: 0 };
}
