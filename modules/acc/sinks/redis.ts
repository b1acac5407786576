/**
 * The Redis stream sink (`sink: redis`), through ioredis: each CDR is one stream entry,
 * `XADD <stream> MAXLEN ~ <n> * field value ...` (fields in record order, see cdr.ts), for billing
 * systems that read with XREAD or a consumer group.
 *
 * A batch goes as one MULTI/EXEC pipeline, so it is in the stream entirely or not at all and a
 * retry after a failure does not add a CDR twice. (If the connection drops after Redis ran the
 * EXEC but before its reply arrives, the retry does add the batch again; consumers that must be
 * exact key on `dialog_id`.) While Redis is unreachable commands fail at once (no offline queue):
 * the records stay in the module's queue and ioredis keeps reconnecting.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../../../src/module/index.js';
import { cdrFieldValues, type Cdr } from '../cdr.js';
import { SinkWriteError, type CdrSink } from './types.js';

export interface RedisSinkOptions {
  readonly url: string;
  readonly stream: string;
  /** Approximate bound of the stream (`MAXLEN ~`); 0: untrimmed. */
  readonly maxlen: number;
  /** Monotonic ms (rate of connection-error logs). */
  readonly now: () => number;
  readonly logger: Logger;
}

const LOG_EVERY_MS = 10_000;
/** How long a write waits for a connection under way before failing (and being retried). */
const READY_WAIT_MS = 2_000;

export class RedisSink implements CdrSink {
  readonly description: string;
  private readonly client: Redis;
  private readonly trim: readonly string[];
  private lastErrorLog = -Infinity;

  constructor(private readonly opts: RedisSinkOptions) {
    this.description = `redis stream ${opts.stream}`;
    this.trim = opts.maxlen > 0 ? ['MAXLEN', '~', String(opts.maxlen)] : [];
    this.client = new Redis(opts.url, {
      // Fail commands at once while disconnected: the queue keeps the CDRs and retries.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 5_000,
      retryStrategy: (times) => Math.min(times * 200, 5_000),
    });
    this.client.on('error', (err: Error) => {
      const now = this.opts.now();
      if (now - this.lastErrorLog >= LOG_EVERY_MS) {
        this.lastErrorLog = now;
        this.opts.logger.warn({ err, url: this.opts.url }, 'acc: redis connection error');
      }
    });
  }

  async write(batch: readonly Cdr[]): Promise<void> {
    try {
      await this.ready();
    } catch (err) {
      throw new SinkWriteError(0, err);
    }
    const m = this.client.multi();
    for (const c of batch) {
      m.xadd(this.opts.stream, ...this.trim, '*', ...cdrFieldValues(c));
    }
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await m.exec();
    } catch (err) {
      throw new SinkWriteError(0, err);
    }
    if (replies === null) {
      throw new SinkWriteError(0, new Error('the MULTI transaction was aborted'));
    }
    // Commands of a transaction fail one by one (Redis has no rollback): the ones before the
    // first failure are in. Those after it fail for the same cause (one key: a key of another
    // type, out of memory) in practice.
    const first = replies.findIndex(([err]) => err !== null);
    if (first >= 0) {
      throw new SinkWriteError(first, replies[first]![0]);
    }
  }

  /**
   * Wait (a bounded while) for a connection being made: at start and at a clean stop, a write
   * would otherwise fail only because the client has not finished connecting.
   */
  private ready(): Promise<void> {
    if (this.client.status === 'ready') {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.client.off('ready', done);
        reject(new Error(`redis is not connected (${this.client.status})`));
      }, READY_WAIT_MS);
      this.client.on('ready', done);
    });
  }

  close(): Promise<void> {
    this.client.disconnect();
    return Promise.resolve();
  }
}
