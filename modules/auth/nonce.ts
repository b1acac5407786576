/**
 * Stateless nonces and the per-node `nc` replay guard.
 *
 * A nonce is base64url(version || issued-at ms (6 bytes) || 8 random bytes || HMAC-SHA256(secret,
 * version || issued-at || random || realm) truncated to 16 bytes). Any node holding the same
 * secret verifies it without shared state; the HMAC binds it to its realm and time, so a nonce
 * cannot be moved to another realm or have its age rewritten.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 1;
const TS_BYTES = 6;
const RANDOM_BYTES = 8;
const MAC_BYTES = 16;
const BODY_BYTES = 1 + TS_BYTES + RANDOM_BYTES;
const NONCE_BYTES = BODY_BYTES + MAC_BYTES;
/** base64url length of {@link NONCE_BYTES} bytes without padding. */
const NONCE_CHARS = Math.ceil((NONCE_BYTES * 4) / 3);
/**
 * Random bytes are drawn this many nonces at a time: one synchronous `randomBytes` call costs
 * ~5 µs whatever its size up to a few KB, which was half the cost of issuing a nonce.
 */
const POOL_NONCES = 512;
/**
 * Nonces this node issued lately, remembered with their realm so that their answer (which
 * usually comes within a round trip) is verified without recomputing the HMAC (~5 µs). Older
 * ones, and those of other nodes, are checked by their MAC as before.
 */
const RECENT_NONCES = 4096;

/** What {@link NonceService.verify} found. */
export type NonceCheck =
  | { readonly status: 'fresh'; readonly issuedAt: number; readonly expiresAt: number }
  | { readonly status: 'expired'; readonly issuedAt: number; readonly expiresAt: number }
  | { readonly status: 'invalid' };

export class NonceService {
  private readonly secret: Buffer;
  /** CSPRNG output not yet used; each byte goes into one nonce only. */
  private pool = Buffer.alloc(0);
  private poolAt = 0;
  /** Recently issued nonce -> its realm. */
  private readonly recent = new Map<string, string>();
  /** The same nonces in issue order, as a ring: the slot to fill next holds the oldest. */
  private readonly recentRing: (string | undefined)[] = new Array<string | undefined>(
    RECENT_NONCES,
  );
  private ringAt = 0;

  /**
   * @param secret shared by every node that must accept the others' nonces
   * @param expireMs how long a nonce is fresh
   * @param now wall-clock ms (nodes compare issue times, so not a monotonic clock)
   */
  constructor(
    secret: string | Buffer,
    private readonly expireMs: number,
    private readonly now: () => number,
  ) {
    this.secret = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
  }

  /** A new nonce for `realm`. */
  issue(realm: string): string {
    const buf = Buffer.allocUnsafe(NONCE_BYTES);
    buf[0] = VERSION;
    buf.writeUIntBE(Math.max(0, Math.floor(this.now())), 1, TS_BYTES);
    if (this.poolAt + RANDOM_BYTES > this.pool.length) {
      this.pool = randomBytes(RANDOM_BYTES * POOL_NONCES);
      this.poolAt = 0;
    }
    this.pool.copy(buf, 1 + TS_BYTES, this.poolAt, this.poolAt + RANDOM_BYTES);
    this.poolAt += RANDOM_BYTES;
    this.mac(buf.subarray(0, BODY_BYTES), realm).copy(buf, BODY_BYTES, 0, MAC_BYTES);
    const nonce = buf.toString('base64url');
    const oldest = this.recentRing[this.ringAt];
    if (oldest !== undefined) {
      this.recent.delete(oldest);
    }
    this.recentRing[this.ringAt] = nonce;
    this.ringAt = (this.ringAt + 1) % RECENT_NONCES;
    this.recent.set(nonce, realm);
    return nonce;
  }

  /** Is `nonce` one of ours for `realm`, and is it still fresh? */
  verify(nonce: string, realm: string): NonceCheck {
    if (nonce.length !== NONCE_CHARS || !/^[A-Za-z0-9_-]+$/.test(nonce)) {
      return { status: 'invalid' };
    }
    const buf = Buffer.from(nonce, 'base64url');
    if (buf.length !== NONCE_BYTES || buf[0] !== VERSION) {
      return { status: 'invalid' };
    }
    // A nonce we issued ourselves for this realm carries the MAC we computed then (the text
    // is the whole nonce, MAC included); anything else is checked against the secret.
    if (this.recent.get(nonce) !== realm) {
      const mac = this.mac(buf.subarray(0, BODY_BYTES), realm).subarray(0, MAC_BYTES);
      if (!timingSafeEqual(mac, buf.subarray(BODY_BYTES))) {
        return { status: 'invalid' };
      }
    }
    const issuedAt = buf.readUIntBE(1, TS_BYTES);
    const expiresAt = issuedAt + this.expireMs;
    const now = this.now();
    // A nonce issued "in the future" by more than one lifetime comes from a node whose clock is
    // far off (or a forged time, which the MAC already excludes): refuse rather than let it live
    // for longer than nonce_expire.
    if (issuedAt > now + this.expireMs) {
      return { status: 'invalid' };
    }
    return now >= expiresAt
      ? { status: 'expired', issuedAt, expiresAt }
      : { status: 'fresh', issuedAt, expiresAt };
  }

  private mac(body: Buffer, realm: string): Buffer {
    return createHmac('sha256', this.secret).update(body).update(realm, 'utf8').digest();
  }
}

/** What {@link NcTracker.accept} decided. */
export type NcVerdict = 'ok' | 'replay';

interface NcEntry {
  nc: number;
  readonly expiresAt: number;
  readonly issuedAt: number;
}

/**
 * The highest `nc` seen per nonce (RFC 7616 §3.4: the server SHOULD refuse a repeated nc to
 * protect against replay). Per node and in memory: entries go when their nonce expires; the
 * map is bounded, and when a live entry has to be dropped for room, every nonce issued no
 * later than it is refused from then on (the client is challenged again with stale=true), so
 * dropping history never re-opens a replay.
 */
export class NcTracker {
  private readonly seen = new Map<string, NcEntry>();
  /** Nonces issued at or before this time have lost their history: refused. */
  private forgottenUpTo = -1;

  constructor(
    private readonly capacity: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  /**
   * Record `nc` for `nonce` if it is higher than any seen before. `nc` null (RFC 2069 form,
   * no counter) allows one use of the nonce.
   */
  accept(nonce: string, nc: number | null, issuedAt: number, expiresAt: number): NcVerdict {
    const value = nc ?? Number.MAX_SAFE_INTEGER;
    const entry = this.seen.get(nonce);
    if (entry !== undefined) {
      if (value <= entry.nc) {
        return 'replay';
      }
      entry.nc = value;
      return 'ok';
    }
    if (issuedAt <= this.forgottenUpTo) {
      return 'replay';
    }
    this.prune();
    while (this.seen.size >= this.capacity) {
      const [oldest, e] = this.seen.entries().next().value as [string, NcEntry];
      this.seen.delete(oldest);
      this.forgottenUpTo = Math.max(this.forgottenUpTo, e.issuedAt);
      if (issuedAt <= this.forgottenUpTo) {
        return 'replay';
      }
    }
    this.seen.set(nonce, { nc: value, expiresAt, issuedAt });
    return 'ok';
  }

  /**
   * Drop entries whose nonce has expired (an expired nonce is refused before its nc is
   * looked at). Entries are in first-use order, which follows issue order closely, so the
   * walk stops at the first live entry; a straggler goes on a later call.
   */
  prune(): void {
    const now = this.now();
    for (const [nonce, e] of this.seen) {
      if (e.expiresAt > now) {
        break;
      }
      this.seen.delete(nonce);
    }
  }

  clear(): void {
    this.seen.clear();
  }
}
