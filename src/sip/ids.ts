/**
 * Identifiers Tandem mints: Via branches, From/To tags and Call-IDs. RFC 3261 §8.1.1.7 and
 * §19.3 ask for cryptographically random, globally unique values; each carries 96 bits or more
 * from the OS CSPRNG. Bytes are drawn in bulk and hex-encoded in bulk, because one
 * `randomFillSync` of 4 KiB costs about as much as a handful of 12-byte calls, and one encode of
 * the batch about as much as a few per-token encodes; a token is then one slice of the text.
 *
 * Lower-case hex, as OpenSIPS and Kamailio write theirs, rather than the shorter base64url: a
 * token with upper case can spell a header name, and peers that look for headers with a plain
 * substring search then misread the message. sipp finds the CSeq method with
 * `strstr(msg, "CSeq")`: about one To tag in 1.9 million (12 base64url characters holding
 * "CSeq") failed a registration in `bench:register`, one 30 s step at 10,000 REGISTER/s in
 * seven.
 */
import { randomFillSync } from 'node:crypto';

/** The largest token, in bytes. */
const MAX_BYTES = 4096;
/** Bytes drawn and encoded per refill: room for the largest token. */
const BATCH_BYTES = MAX_BYTES;
const pool = Buffer.allocUnsafe(BATCH_BYTES);
/** The hex text of the current batch, and the next unused byte of it. */
let batch = '';
let offset = BATCH_BYTES;

/**
 * `n` random bytes as `2n` lower-case hex characters (token characters only, RFC 3261 §25.1),
 * carrying `8n` random bits, never reused.
 */
export function randomToken(n = 12): string {
  if (n <= 0 || n > MAX_BYTES) {
    throw new RangeError(`randomToken: byte count ${n} out of range`);
  }
  if (offset + n > BATCH_BYTES) {
    randomFillSync(pool);
    batch = pool.toString('hex', 0, BATCH_BYTES);
    // The bytes live on only as text, handed out once each; the buffer keeps none of them.
    pool.fill(0);
    offset = 0;
  }
  const from = offset * 2;
  offset += n;
  return batch.slice(from, from + 2 * n);
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
