/**
 * Digest arithmetic (RFC 7616 §3.4, RFC 8760 for SIP, RFC 3261 §22.4): HA1, HA2 and the
 * request-digest for MD5 and SHA-256 and their `-sess` variants, and a constant-time comparison
 * of the response a client sent with the one we expect.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** The algorithms we verify and can offer (RFC 7616 §6.1 registry, RFC 8760 §2.1). */
export const DIGEST_ALGORITHMS = ['SHA-256', 'SHA-256-sess', 'MD5', 'MD5-sess'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

/** The hash behind an algorithm: which HA1 the subscriber store must hold for it. */
export type HashName = 'md5' | 'sha256';

/** Quality of protection values we verify (RFC 7616 §3.3). */
export type Qop = 'auth' | 'auth-int';

/** Algorithm token as written by a client, matched case-insensitively (RFC 7616 §3.3). */
export function parseAlgorithm(token: string | undefined): DigestAlgorithm | null {
  // RFC 7616 §3.4: "If the algorithm parameter is not present, it is assumed to be MD5."
  if (token === undefined) {
    return 'MD5';
  }
  const upper = token.toUpperCase();
  for (const a of DIGEST_ALGORITHMS) {
    if (a.toUpperCase() === upper) {
      return a;
    }
  }
  return null;
}

export function hashOf(algorithm: DigestAlgorithm): HashName {
  return algorithm.startsWith('SHA-256') ? 'sha256' : 'md5';
}

export function isSess(algorithm: DigestAlgorithm): boolean {
  return algorithm.endsWith('-sess');
}

/** Lower-case hex digest of `data` (strings hashed as UTF-8, RFC 7616 §3.4.1 with charset). */
export function h(hash: HashName, data: string | Buffer): string {
  return createHash(hash).update(data).digest('hex');
}

/** HA1 as stored: H(username ":" realm ":" password) (RFC 7616 §3.4.2). */
export function computeHa1(hash: HashName, user: string, realm: string, password: string): string {
  return h(hash, `${user}:${realm}:${password}`);
}

/** What the request-digest is computed over. */
export interface DigestInput {
  readonly algorithm: DigestAlgorithm;
  /** The stored HA1 for the algorithm's hash (hex). */
  readonly ha1: string;
  readonly nonce: string;
  readonly method: string;
  /** The digest-uri the client sent (not the Request-URI: the client hashed what it wrote). */
  readonly uri: string;
  /** null for the RFC 2069 form without qop. */
  readonly qop: Qop | null;
  readonly nc: string;
  readonly cnonce: string;
  /** The message body, needed for qop=auth-int only. */
  readonly body: Buffer;
}

/** The expected `response` value (lower-case hex). */
export function requestDigest(d: DigestInput): string {
  const hash = hashOf(d.algorithm);
  // RFC 7616 §3.4.2: for a "-sess" algorithm HA1 = H(H(user:realm:pass) ":" nonce ":" cnonce).
  const ha1 = isSess(d.algorithm) ? h(hash, `${d.ha1}:${d.nonce}:${d.cnonce}`) : d.ha1;
  // RFC 7616 §3.4.3: A2 = Method ":" request-uri, plus ":" H(entity-body) for auth-int.
  const a2 =
    d.qop === 'auth-int' ? `${d.method}:${d.uri}:${h(hash, d.body)}` : `${d.method}:${d.uri}`;
  const ha2 = h(hash, a2);
  if (d.qop === null) {
    // RFC 2069 §2.1.2 (kept by RFC 7616 §3.4.1 for backwards compatibility): no nc, no cnonce.
    return h(hash, `${ha1}:${d.nonce}:${ha2}`);
  }
  // RFC 7616 §3.4.1: response = KD(H(A1), nonce:nc:cnonce:qop:H(A2)).
  return h(hash, `${ha1}:${d.nonce}:${d.nc}:${d.cnonce}:${d.qop}:${ha2}`);
}

/**
 * Compare a client's response with the expected one without leaking where they differ. Hex
 * case is ignored (RFC 7616 §3.4.1 says lower case, some clients send upper case).
 */
export function sameDigest(expected: string, received: string): boolean {
  const a = Buffer.from(expected, 'latin1');
  const b = Buffer.from(received.toLowerCase(), 'latin1');
  if (a.length !== b.length) {
    // Still spend a comparison so a wrong length costs what a wrong value costs.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
