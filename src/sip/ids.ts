/**
 * Identifiers Tandem mints: Via branches, From/To tags and Call-IDs. RFC 3261 §8.1.1.7 and
 * §19.3 ask for cryptographically random, globally unique values; each carries 96 bits or more
 * from the OS CSPRNG. Bytes are drawn in bulk and base64url-encoded in bulk, because one
 * `randomFillSync` of 4 KiB costs about as much as a handful of 12-byte calls, and one encode of
 * the batch about as much as a few per-token encodes; a token is then one slice of the text.
 */
import { randomFillSync } from 'node:crypto';

/** The largest token, in bytes. */
const MAX_BYTES = 4096;
/**
 * Bytes drawn and encoded per refill: whole 3-byte groups (every 3 bytes are exactly 4
 * characters), and room for the largest token rounded up to a group.
 */
const BATCH_BYTES = 3 * Math.ceil(MAX_BYTES / 3);
const pool = Buffer.allocUnsafe(BATCH_BYTES);
/** The base64url text of the current batch, and the next unused byte of it. */
let batch = '';
let offset = BATCH_BYTES;

/**
 * `n` random bytes' worth of base64url (token characters only, RFC 3261 §25.1): the
 * `ceil(4n / 3)` characters `n` bytes encode to, carrying at least `8n` random bits, never
 * reused.
 */
export function randomToken(n = 12): string {
  if (n <= 0 || n > MAX_BYTES) {
    throw new RangeError(`randomToken: byte count ${n} out of range`);
  }
  // Whole groups, so that every token starts on a group boundary of the batch.
  const groups = Math.ceil(n / 3);
  if (offset + groups * 3 > BATCH_BYTES) {
    randomFillSync(pool);
    batch = pool.toString('base64url', 0, BATCH_BYTES);
    // The bytes live on only as text, handed out once each; the buffer keeps none of them.
    pool.fill(0);
    offset = 0;
  }
  const from = (offset / 3) * 4;
  offset += groups * 3;
  return batch.slice(from, from + Math.ceil((4 * n) / 3));
}

/** RFC 3261 §8.1.1.7: "The branch ID inserted by an element compliant with this specification
 * MUST always begin with the characters "z9hG4bK"." */
export const MAGIC_COOKIE = 'z9hG4bK';

/** A new Via branch: the magic cookie and 96 random bits. */
export function newBranch(): string {
  return MAGIC_COOKIE + randomToken(12);
}

/** A new From/To tag (RFC 3261 §19.3: at least 32 bits of randomness; we use 96). */
export function newTag(): string {
  return randomToken(12);
}

/** A new Call-ID (RFC 3261 §8.1.1.4), 144 random bits, optionally `@host`. */
export function newCallId(host?: string): string {
  const id = randomToken(18);
  return host === undefined ? id : `${id}@${host}`;
}
