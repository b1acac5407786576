/**
 * The subscriber store behind digest authentication: per (user, realm) the HA1 hashes, never a
 * password (OpenSIPS's `subscriber` table with `calculate_ha1` off: columns `ha1` for MD5 and
 * `ha1_sha256`). Two backends implement it: a YAML file held in memory (lookups answer
 * synchronously) and Redis.
 */
import { computeHa1 } from '../digest.js';

/** One subscriber as stored: HA1 hashes in lower-case hex; null when that hash is not held. */
export interface Subscriber {
  readonly user: string;
  readonly realm: string;
  /** MD5(user:realm:password), 32 hex digits. */
  readonly ha1: string | null;
  /** SHA-256(user:realm:password), 64 hex digits. */
  readonly ha1_sha256: string | null;
}

export interface SubscriberStore {
  readonly backend: 'file' | 'redis';
  /**
   * The subscriber, or null. The file backend answers synchronously (no await on the request
   * path); Redis answers with a promise.
   */
  get(user: string, realm: string): Subscriber | null | Promise<Subscriber | null>;
  /** Add or replace a subscriber. */
  put(sub: Subscriber): Promise<void>;
  /** Remove a subscriber; false when there was none. */
  remove(user: string, realm: string): Promise<boolean>;
  /** Every subscriber, ordered by realm then user. */
  list(): Promise<Subscriber[]>;
  /** Re-read the backing data; resolves with the number of subscribers. */
  reload(): Promise<number>;
  /** Subscribers held, as last known (the Redis backend counts on reload, put and remove). */
  size(): number;
  close(): Promise<void>;
}

const MD5_HEX = /^[0-9a-f]{32}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A subscriber from a password: both HA1 hashes, the password itself is dropped. */
export function subscriberFromPassword(user: string, realm: string, password: string): Subscriber {
  return {
    user,
    realm,
    ha1: computeHa1('md5', user, realm, password),
    ha1_sha256: computeHa1('sha256', user, realm, password),
  };
}

/** Why a user or realm name cannot be stored, or null when it can. */
export function badName(what: string, value: string): string | null {
  if (value.length === 0 || value.length > 256) {
    return `${what} must be 1 to 256 characters`;
  }
  // Control characters would end up in logs and YAML keys; no SIP user or realm has them.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) {
    return `${what} contains a control character`;
  }
  return null;
}

/**
 * Check an HA1 pair read from storage; returns the normalised subscriber or why it is bad.
 * Hex is lower-cased; at least one hash must be present.
 */
export function checkSubscriber(
  user: string,
  realm: string,
  raw: unknown,
): { ok: true; sub: Subscriber } | { ok: false; reason: string } {
  const nameFault = badName('user', user) ?? badName('realm', realm);
  if (nameFault !== null) {
    return { ok: false, reason: nameFault };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, reason: 'expected a mapping with ha1 and/or ha1_sha256' };
  }
  const rec = raw as Record<string, unknown>;
  for (const key of Object.keys(rec)) {
    if (key !== 'ha1' && key !== 'ha1_sha256') {
      // A `password` key is refused on purpose: the store holds hashes only.
      return { ok: false, reason: `unknown key ${key} (only ha1 and ha1_sha256)` };
    }
  }
  const md5 = hex(rec['ha1'], MD5_HEX);
  const sha = hex(rec['ha1_sha256'], SHA256_HEX);
  if (md5 === undefined || sha === undefined) {
    return { ok: false, reason: 'ha1 must be 32 hex digits and ha1_sha256 64 hex digits' };
  }
  if (md5 === null && sha === null) {
    return { ok: false, reason: 'neither ha1 nor ha1_sha256 given' };
  }
  return { ok: true, sub: { user, realm, ha1: md5, ha1_sha256: sha } };
}

/** null when absent, undefined when malformed, the lower-cased hex otherwise. */
function hex(v: unknown, re: RegExp): string | null | undefined {
  if (v === undefined || v === null) {
    return null;
  }
  if (typeof v !== 'string') {
    return undefined;
  }
  const lower = v.toLowerCase();
  return re.test(lower) ? lower : undefined;
}

/** Order for listings: realm, then user. */
export function bySubscriber(a: Subscriber, b: Subscriber): number {
  return a.realm < b.realm
    ? -1
    : a.realm > b.realm
      ? 1
      : a.user < b.user
        ? -1
        : a.user > b.user
          ? 1
          : 0;
}
