/**
 * Subscribers in Redis, for nodes that share them: one hash per realm,
 * `<prefix>subscriber:<realm>`, field = user, value = JSON `{"ha1":..,"ha1_sha256":..}`.
 * A lookup is one HGET; the connection is ioredis's, with a command timeout so a lookup never
 * hangs a request while Redis is away (it fails, and authorize answers the generic error).
 */
import { Redis } from 'ioredis';
import { bySubscriber, checkSubscriber, type Subscriber, type SubscriberStore } from './store.js';

export interface RedisStoreOptions {
  readonly url: string;
  readonly prefix: string;
  /** ms before a command fails (ioredis `commandTimeout`). */
  readonly commandTimeoutMs: number;
}

/** Escape glob characters for SCAN MATCH (the prefix is taken literally). */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

export class RedisSubscriberStore implements SubscriberStore {
  readonly backend = 'redis' as const;
  private known = 0;

  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Connect and count the subscribers; rejects when Redis cannot be reached. */
  static async open(o: RedisStoreOptions): Promise<RedisSubscriberStore> {
    const redis = new Redis(o.url, {
      lazyConnect: true,
      commandTimeout: o.commandTimeoutMs,
      maxRetriesPerRequest: 1,
    });
    const s = new RedisSubscriberStore(redis, `${o.prefix}subscriber:`);
    try {
      await redis.connect();
      await s.reload();
    } catch (err) {
      redis.disconnect();
      throw err;
    }
    return s;
  }

  async get(user: string, realm: string): Promise<Subscriber | null> {
    const raw = await this.redis.hget(this.prefix + realm, user);
    return raw === null ? null : this.decode(user, realm, raw);
  }

  async put(sub: Subscriber): Promise<void> {
    const added = await this.redis.hset(
      this.prefix + sub.realm,
      sub.user,
      JSON.stringify({ ha1: sub.ha1, ha1_sha256: sub.ha1_sha256 }),
    );
    this.known += added;
  }

  async remove(user: string, realm: string): Promise<boolean> {
    const n = await this.redis.hdel(this.prefix + realm, user);
    this.known = Math.max(0, this.known - n);
    return n > 0;
  }

  async list(): Promise<Subscriber[]> {
    const out: Subscriber[] = [];
    for (const k of await this.keys()) {
      const realm = k.slice(this.prefix.length);
      for (const [user, raw] of Object.entries(await this.redis.hgetall(k))) {
        const sub = this.decode(user, realm, raw);
        if (sub !== null) {
          out.push(sub);
        }
      }
    }
    this.known = out.length;
    return out.sort(bySubscriber);
  }

  /** Nothing is cached; reloading recounts. */
  async reload(): Promise<number> {
    let n = 0;
    for (const k of await this.keys()) {
      n += await this.redis.hlen(k);
    }
    this.known = n;
    return n;
  }

  size(): number {
    return this.known;
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  private async keys(): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(
        cursor,
        'MATCH',
        `${globEscape(this.prefix)}*`,
        'COUNT',
        500,
      );
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return [...new Set(found)].sort();
  }

  /** A stored value, or null when it is not a valid record (someone else wrote the key). */
  private decode(user: string, realm: string, raw: string): Subscriber | null {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return null;
    }
    const r = checkSubscriber(user, realm, parsed);
    return r.ok ? r.sub : null;
  }
}
