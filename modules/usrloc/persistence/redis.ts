/**
 * The Redis store (`db_mode: redis`), through ioredis. Data model: one hash per AoR,
 * `<prefix>aor:<aor>`, field = the binding's key (`contactKey`), value = the record as JSON, and
 * a set `<prefix>aors` of the AoRs, which the load walks with SSCAN and pipelined HGETALLs.
 *
 * Write-through with batching: writes are queued (coalesced per binding) and sent as one
 * pipeline per flush tick, or as soon as `batch` writes wait; no call on the REGISTER path waits
 * for Redis. When Redis is down the batch goes back to the queue, the failure is counted and
 * logged, and the next attempts back off (doubling up to 30 s); the queue is bounded and counts
 * what it drops.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../../../src/module/index.js';
import { contactKey } from '../api.js';
import { decodeRecord } from '../record.js';
import {
  newStats,
  WriteQueue,
  type LoadReport,
  type LoadSink,
  type Persistence,
  type WriteOp,
} from './types.js';

export interface RedisOptions {
  readonly url: string;
  /** Prefix of every key. */
  readonly prefix: string;
  /** Send a pipeline as soon as this many writes wait. */
  readonly batch: number;
  readonly queueLimit: number;
  readonly logger: Logger;
  /** Wall-clock ms (back-off deadlines). */
  readonly now: () => number;
}

const MAX_BACKOFF_MS = 30_000;
/** AoRs per SSCAN step and pipelined HGETALL round at load. */
const LOAD_STEP = 500;

export class RedisPersistence implements Persistence {
  readonly stats = newStats();
  private readonly queue: WriteQueue;
  private readonly client: Redis;
  private flushing: Promise<void> | null = null;
  private backoffMs = 0;
  private retryAt = 0;
  private lastErrorLog = 0;

  constructor(private readonly opts: RedisOptions) {
    this.queue = new WriteQueue(opts.queueLimit, this.stats);
    this.client = new Redis(opts.url, {
      lazyConnect: true,
      // Fail commands at once while disconnected: the queue keeps the writes and retries.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 5_000,
      retryStrategy: (times) => Math.min(times * 200, 5_000),
    });
    this.client.on('error', (err: Error) => {
      this.logError(err, 'usrloc: redis connection error');
    });
  }

  private get aorsKey(): string {
    return `${this.opts.prefix}aors`;
  }

  private hashKey(aor: string): string {
    return `${this.opts.prefix}aor:${aor}`;
  }

  async load(sink: LoadSink): Promise<LoadReport> {
    await this.client.connect();
    let cursor = '0';
    let records = 0;
    let skipped = 0;
    do {
      const [next, aors] = await this.client.sscan(this.aorsKey, cursor, 'COUNT', LOAD_STEP);
      cursor = next;
      const p = this.client.pipeline();
      for (const aor of aors) {
        p.hgetall(this.hashKey(aor));
      }
      const replies = (await p.exec()) ?? [];
      for (const [err, value] of replies) {
        if (err !== null) {
          throw err;
        }
        for (const json of Object.values(value as Record<string, string>)) {
          const rec = decodeRecord(json);
          if (typeof rec === 'string') {
            skipped++;
            this.opts.logger.debug({ reason: rec }, 'usrloc: unreadable redis entry skipped');
          } else {
            records++;
            sink.record(rec);
          }
        }
      }
    } while (cursor !== '0');
    if (skipped > 0) {
      this.opts.logger.warn({ skipped }, 'usrloc: unreadable redis entries skipped');
    }
    return { records, deletes: 0, skipped };
  }

  write(op: WriteOp): void {
    this.queue.push(op);
    if (this.queue.size >= this.opts.batch && this.flushing === null) {
      this.flush().catch(() => undefined);
    }
  }

  /** Send what is queued; resolves once written, rejects (keeping the writes) if Redis failed. */
  flush(): Promise<void> {
    this.flushing ??= this.send().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** The periodic tick: like `flush()`, but waits out the back-off after a failure. */
  tick(): Promise<void> {
    if (this.opts.now() < this.retryAt) {
      return Promise.resolve();
    }
    return this.flush().catch(() => undefined);
  }

  compact(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.flushing?.catch(() => undefined);
    try {
      await this.flush();
    } finally {
      this.client.disconnect();
    }
  }

  private async send(): Promise<void> {
    const ops = this.queue.take();
    if (ops.length === 0) {
      return;
    }
    const p = this.client.pipeline();
    for (const op of ops) {
      switch (op.op) {
        case 'put':
          p.hset(this.hashKey(op.rec.aor), contactKey(op.rec), JSON.stringify(op.rec));
          p.sadd(this.aorsKey, op.rec.aor);
          break;
        case 'del':
          p.hdel(this.hashKey(op.aor), op.key);
          break;
        case 'aor-del':
          p.srem(this.aorsKey, op.aor);
          break;
      }
    }
    try {
      const replies = (await p.exec()) ?? [];
      const failed = replies.find(([err]) => err !== null);
      if (failed !== undefined) {
        throw failed[0] as Error;
      }
    } catch (err) {
      this.stats.errors++;
      this.queue.restore(ops);
      this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 250), MAX_BACKOFF_MS);
      this.retryAt = this.opts.now() + this.backoffMs;
      this.logError(err, 'usrloc: writing to redis failed; will retry');
      throw err;
    }
    this.stats.written += ops.length;
    this.backoffMs = 0;
    this.retryAt = 0;
  }

  private logError(err: unknown, msg: string): void {
    // At most one line per 10 s while Redis is down; the counters say how often.
    const now = this.opts.now();
    if (now - this.lastErrorLog >= 10_000) {
      this.lastErrorLog = now;
      this.opts.logger.warn({ err, errors: this.stats.errors, queued: this.queue.size }, msg);
    }
  }
}
