/**
 * Identifiers Tandem mints: Via branches, From/To tags and Call-IDs. RFC 3261 §8.1.1.7 and
 * §19.3 ask for cryptographically random, globally unique values; each carries 96 bits or more
 * from the OS CSPRNG. Bytes are drawn from a pool refilled in bulk, because one
 * `randomFillSync` of 4 KiB costs about as much as a handful of 12-byte calls.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/** `n` random bytes as base64url (token characters only, RFC 3261 §25.1), never reused. */
export function randomToken(n = 12): string {
  if (n <= 0 || n > POOL_SIZE) {
    throw new RangeError(`randomToken: byte count ${n} out of range`);
  }
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const s = pool.toString('base64url', offset, offset + n);
  // Zero what was handed out so the pool never holds a value that has left the process.
  pool.fill(0, offset, offset + n);
  offset += n;
  return s;
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
