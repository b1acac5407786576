/**
 * The one interface CDR sinks implement (the JSON-lines file and the Redis stream). A sink is
 * only ever called by the write queue (sinks/queue.ts), one write at a time, off the SIP path.
 */
import type { Cdr } from '../cdr.js';

export interface CdrSink {
  /** What the sink is, for logs (`file /var/lib/tandem/acc/cdr.jsonl`, `redis tandem:cdr`). */
  readonly description: string;
  /**
   * Write `batch` in order. On failure it rejects with a {@link SinkWriteError} saying how many
   * of the batch's first records are written for good, so a retry writes only the rest.
   */
  write(batch: readonly Cdr[]): Promise<void>;
  /** Release the sink (the queue has written what it could). */
  close(): Promise<void>;
}

/** A failed write: the first `written` records of the batch are stored, the others are not. */
export class SinkWriteError extends Error {
  constructor(
    readonly written: number,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'SinkWriteError';
  }
}
