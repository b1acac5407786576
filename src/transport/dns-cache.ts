/**
 * What a DNS answer means and how long it may be kept: decoding a response into a
 * {@link DnsResult}, its TTL (RFC 2181 §5.2 for positive answers, RFC 2308 for NXDOMAIN and
 * NODATA), and the cache itself, whose entries expire on the injected {@link Clock} and whose
 * size is bounded by evicting the least recently used entry.
 */
import type * as dnsPacket from 'dns-packet';
import type { Clock } from '../core/clock.js';

/** Bounds on how long answers stay cached, in seconds. */
export interface TtlLimits {
  /** Upper bound on a positive answer's TTL (a record may say a week; we re-ask sooner). */
  maxTtl: number;
  /** Upper bound on a negative answer's TTL (RFC 2308 §5 suggests 1–3 hours; SIP wants less). */
  maxNegativeTtl: number;
  /** Negative TTL when the answer carries no SOA record to take it from. */
  defaultNegativeTtl: number;
}

export const DEFAULT_TTL_LIMITS: TtlLimits = {
  maxTtl: 86_400,
  maxNegativeTtl: 300,
  defaultNegativeTtl: 30,
};

interface Entry<V> {
  value: V;
  /** Clock time (ms) after which the entry is stale. */
  expiresAt: number;
}

/**
 * A TTL- and size-bounded map. A `Map` keeps insertion order, so re-inserting on every hit
 * makes its first key the least recently used one: eviction is O(1) without a linked list.
 */
export class DnsCache<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #clock: Clock;
  readonly #maxEntries: number;

  constructor(clock: Clock, maxEntries: number) {
    this.#clock = clock;
    this.#maxEntries = Math.max(1, maxEntries);
  }

  /** Number of entries held, stale ones included until they are next touched. */
  get size(): number {
    return this.#entries.size;
  }

  /** The live value for `key`, or undefined when absent or expired (an expired entry is dropped). */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      return undefined;
    }
    this.#entries.delete(key);
    if (this.#clock.now() >= entry.expiresAt) {
      return undefined;
    }
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Store `value` for `ttlSeconds`; a TTL of 0 means "use once, do not cache" (RFC 1035 §3.2.1). */
  set(key: string, value: V, ttlSeconds: number): void {
    this.#entries.delete(key);
    if (!(ttlSeconds > 0)) {
      return;
    }
    this.#entries.set(key, { value, expiresAt: this.#clock.now() + ttlSeconds * 1000 });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) {
        break;
      }
      this.#entries.delete(oldest);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** The cache key of a question: DNS names compare case-insensitively (RFC 4343). */
export function cacheKey(name: string, type: string): string {
  return `${type} ${name.toLowerCase()}`;
}

/** The TTL of a positive answer: the smallest TTL among the records used, bounded. */
export function positiveTtl(
  ttls: readonly number[],
  limits: TtlLimits = DEFAULT_TTL_LIMITS,
): number {
  let ttl = limits.maxTtl;
  for (const t of ttls) {
    ttl = Math.min(ttl, t);
  }
  return Math.max(0, ttl);
}

/** The parts of an SOA record that negative caching reads. */
export interface SoaTtl {
  /** TTL of the SOA record itself. */
  ttl: number;
  /** The SOA MINIMUM field. */
  minimum: number;
}

/**
 * The TTL of a negative answer. RFC 2308 §5: "the TTL of this record is set from the minimum
 * of the MINIMUM field of the SOA record and the TTL of the SOA itself"; without an SOA the
 * answer says nothing about its lifetime, so a short default applies.
 */
export function negativeTtl(soa: SoaTtl | null, limits: TtlLimits = DEFAULT_TTL_LIMITS): number {
  if (soa === null) {
    return limits.defaultNegativeTtl;
  }
  return Math.max(0, Math.min(soa.ttl, soa.minimum, limits.maxNegativeTtl));
}
/** The record types SIP server location asks for (RFC 3263 §4). */
export type DnsRecordType = 'A' | 'AAAA' | 'SRV' | 'NAPTR';

/** An SRV record's data (RFC 2782). */
export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  /** Lower-cased, without the trailing dot; `.` means "no service here". */
  target: string;
}

/** A NAPTR record's data (RFC 3403 §4.1). */
export interface NaptrRecord {
  order: number;
  preference: number;
  flags: string;
  services: string;
  regexp: string;
  /** Lower-cased, without the trailing dot. */
  replacement: string;
}

/** What each record type's data decodes to. */
export interface DnsRecordData {
  A: string;
  AAAA: string;
  SRV: SrvRecord;
  NAPTR: NaptrRecord;
}

/** An address record for another name, found in an answer's additional section. */
export interface AddressHint {
  /** Lower-cased owner name. */
  name: string;
  family: 4 | 6;
  address: string;
}

/** The outcome of one lookup. A name that exists with no records of the type is NODATA. */
export interface DnsResult<T extends DnsRecordType> {
  /** The question name, lower-cased. */
  readonly name: string;
  readonly type: T;
  /** False for NXDOMAIN: the name does not exist at all. */
  readonly exists: boolean;
  /** The records of the asked type, for the name or the end of its CNAME chain. */
  readonly records: readonly DnsRecordData[T][];
  /** A and AAAA records from the additional section (RFC 2782 suggests them for SRV targets). */
  readonly additional: readonly AddressHint[];
}

/** A result of any record type, as the cache stores it. */
export type AnyDnsResult = DnsResult<DnsRecordType>;

/** CNAME hops followed inside one answer before it is treated as NODATA. */
const MAX_CNAME_HOPS = 8;

/** Turn a NOERROR/NXDOMAIN packet into a result and the number of seconds it may be cached. */
export function interpret(
  packet: dnsPacket.DecodedPacket,
  name: string,
  type: DnsRecordType,
  limits: TtlLimits = DEFAULT_TTL_LIMITS,
): { result: AnyDnsResult; ttl: number } {
  const answers = packet.answers ?? [];
  const rcode = (packet as { rcode?: string }).rcode;
  const soa = (packet.authorities ?? []).find((a) => a.type === 'SOA');
  const negative = negativeTtl(
    soa === undefined ? null : { ttl: soa.ttl ?? 0, minimum: soa.data.minimum ?? 0 },
    limits,
  );
  if (rcode === 'NXDOMAIN') {
    return { result: { name, type, exists: false, records: [], additional: [] }, ttl: negative };
  }
  // RFC 1034 §3.6.2: a recursive server answers for an alias with the CNAME chain followed by
  // the records of the canonical name; the records we want are owned by the chain's end.
  const ttls: number[] = [];
  let owner = name;
  for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
    const alias = answers.find((a) => a.type === 'CNAME' && a.name.toLowerCase() === owner);
    if (alias?.type !== 'CNAME') {
      break;
    }
    ttls.push(alias.ttl ?? 0);
    owner = alias.data.toLowerCase().replace(/\.$/, '');
  }
  const records: DnsRecordData[DnsRecordType][] = [];
  for (const a of answers) {
    const rec = a.name.toLowerCase() === owner ? recordData(a, type) : null;
    if (rec !== null) {
      records.push(rec.data);
      ttls.push(rec.ttl);
    }
  }
  if (records.length === 0) {
    // RFC 2308 §2.2: NODATA, the name exists without records of this type; cached like NXDOMAIN.
    return { result: { name, type, exists: true, records, additional: [] }, ttl: negative };
  }
  const additional: AddressHint[] = [];
  for (const a of packet.additionals ?? []) {
    if (a.type === 'A' || a.type === 'AAAA') {
      additional.push({
        name: a.name.toLowerCase(),
        family: a.type === 'A' ? 4 : 6,
        address: a.data,
      });
      ttls.push(a.ttl ?? 0);
    }
  }
  return {
    result: { name, type, exists: true, records, additional },
    ttl: positiveTtl(ttls, limits),
  };
}

/** The data and TTL of `a` if it is a record of `type`, else null. */
function recordData(
  a: dnsPacket.Answer,
  type: DnsRecordType,
): { data: DnsRecordData[DnsRecordType]; ttl: number } | null {
  switch (type) {
    case 'A':
    case 'AAAA':
      return (a.type === 'A' || a.type === 'AAAA') && a.type === type
        ? { data: a.data, ttl: a.ttl ?? 0 }
        : null;
    case 'SRV':
      if (a.type !== 'SRV') {
        return null;
      }
      return {
        data: {
          priority: a.data.priority ?? 0,
          weight: a.data.weight ?? 0,
          port: a.data.port,
          target: a.data.target.toLowerCase().replace(/\.$/, '') || '.',
        },
        ttl: a.ttl ?? 0,
      };
    case 'NAPTR':
      if (a.type !== 'NAPTR') {
        return null;
      }
      return {
        data: {
          order: a.data.order,
          preference: a.data.preference,
          flags: a.data.flags,
          services: a.data.services,
          regexp: a.data.regexp,
          replacement: a.data.replacement.toLowerCase().replace(/\.$/, ''),
        },
        ttl: a.ttl ?? 0,
      };
  }
}
