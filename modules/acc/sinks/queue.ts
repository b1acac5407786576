/**
 * The CDR write queue between the dialog module's end callback and a sink. Enqueueing is
 * synchronous and never fails the caller (SIP processing); the flush job writes batches in
 * order, one write at a time. A failed write keeps its records at the head of the queue and
 * backs off (doubling from the flush interval up to 30 s); the queue is bounded and counts what
 * it drops.
 */
import type { Logger } from '../../../src/module/index.js';
import type { Cdr } from '../cdr.js';
import { SinkWriteError, type CdrSink } from './types.js';

export interface QueueOptions {
  readonly sink: CdrSink;
  /** Most CDRs held; past it new ones are dropped and counted. */
  readonly limit: number;
  /** Most CDRs per sink write. */
  readonly batch: number;
  /** The flush interval (ms): the first back-off step. */
  readonly intervalMs: number;
  /** Monotonic ms (back-off deadlines). */
  readonly now: () => number;
  readonly logger: Logger;
}

/** The queue's counters (the module's statistics read them). */
export interface QueueStats {
  /** CDRs written to the sink. */
  written: number;
  /** Of those, missed calls. */
  missed: number;
  /** Failed sink writes (each retried). */
  errors: number;
  /** CDRs dropped because the queue was full. */
  dropped: number;
}

const MAX_BACKOFF_MS = 30_000;
/** At most one error line per this long while the sink stays down; the counters say how often. */
const LOG_EVERY_MS = 10_000;

export class CdrQueue {
  readonly stats: QueueStats = { written: 0, missed: 0, errors: 0, dropped: 0 };
  private items: Cdr[] = [];
  private flushing: Promise<void> | null = null;
  private backoffMs = 0;
  private retryAt = 0;
  private lastErrorLog = -Infinity;
  private lastDropLog = -Infinity;

  constructor(private readonly opts: QueueOptions) {}

  /** CDRs waiting to be written. */
  get queued(): number {
    return this.items.length;
  }

  /** Queue a CDR; false (counted, logged) when the queue is full. */
  push(cdr: Cdr): boolean {
    if (this.items.length >= this.opts.limit) {
      this.stats.dropped++;
      const now = this.opts.now();
      if (now - this.lastDropLog >= LOG_EVERY_MS) {
        this.lastDropLog = now;
        this.opts.logger.error(
          {
            dropped: this.stats.dropped,
            queued: this.items.length,
            sink: this.opts.sink.description,
          },
          'acc: CDR queue full, CDRs dropped',
        );
      }
      return false;
    }
    this.items.push(cdr);
    return true;
  }

  /** The flush job's tick: write what is queued unless a failure's back-off is still running. */
  tick(): Promise<void> {
    if (this.items.length === 0 || this.opts.now() < this.retryAt) {
      return Promise.resolve();
    }
    return this.flush().catch(() => undefined);
  }

  /**
   * Write everything queued now (MI `cdr_flush`, shutdown), ignoring the back-off. Resolves
   * once the queue is empty; rejects, keeping the records, when the sink fails.
   */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Wait for a write under way, write the rest, release the sink. */
  async close(): Promise<void> {
    await this.flushing?.catch(() => undefined);
    try {
      await this.flush();
    } catch {
      this.opts.logger.error(
        { lost: this.items.length, sink: this.opts.sink.description },
        'acc: CDRs not written at shutdown (the sink failed)',
      );
    } finally {
      await this.opts.sink.close();
    }
  }

  private async drain(): Promise<void> {
    while (this.items.length > 0) {
      const batch = this.items.slice(0, this.opts.batch);
      let done: number;
      let failure: SinkWriteError | null = null;
      try {
        await this.opts.sink.write(batch);
        done = batch.length;
      } catch (err) {
        failure = err instanceof SinkWriteError ? err : new SinkWriteError(0, err);
        done = Math.min(failure.written, batch.length);
      }
      this.items.splice(0, done);
      this.stats.written += done;
      for (let i = 0; i < done; i++) {
        if (batch[i]?.missed === true) {
          this.stats.missed++;
        }
      }
      if (failure !== null) {
        this.failed(failure);
        throw failure;
      }
      this.backoffMs = 0;
      this.retryAt = 0;
    }
  }

  private failed(err: unknown): void {
    this.stats.errors++;
    const now = this.opts.now();
    this.backoffMs = Math.min(Math.max(this.backoffMs * 2, this.opts.intervalMs), MAX_BACKOFF_MS);
    this.retryAt = now + this.backoffMs;
    if (now - this.lastErrorLog >= LOG_EVERY_MS) {
      this.lastErrorLog = now;
      this.opts.logger.warn(
        {
          err,
          errors: this.stats.errors,
          queued: this.items.length,
          retryInMs: this.backoffMs,
          sink: this.opts.sink.description,
        },
        'acc: writing CDRs failed; will retry',
      );
    }
  }
}
