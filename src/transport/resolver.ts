/**
 * RFC 3263 server location: from a SIP or SIPS URI to the ordered list of (transport, address,
 * port) to try. NAPTR picks the transport, SRV the servers and their order (RFC 2782), A and
 * AAAA the addresses. The list returned is the failover order (§4.3): when one target fails the
 * caller tries the next. DNS goes through {@link DnsClient}, which caches by TTL.
 */
import net from 'node:net';
import { systemClock, type Clock } from '../core/clock.js';
import { CoreError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { SipUri } from '../sip/index.js';
import {
  DnsClient,
  type AddressHint,
  type DnsClientOptions,
  type NaptrRecord,
  type SrvRecord,
} from './dns-client.js';
import type { Protocol, SendTarget } from './types.js';

/** A next hop found by {@link Resolver.resolve}; usable as a {@link SendTarget}. */
export interface ResolvedTarget extends Pick<SendTarget, 'protocol' | 'address' | 'port'> {
  /**
   * The host of the URI that was resolved. RFC 5922 §4: a TLS peer must prove this name (not
   * the SRV target's), so it is what SNI and certificate checks use.
   */
  serverName: string;
}

/** The parts of a URI that server location reads, for callers that have no parsed SipUri. */
export interface ResolveInput {
  /** Name or IP literal; IPv6 may be bracketed. */
  host: string;
  port: number | null;
  /** The `transport` URI parameter, if any. */
  transport?: string;
  /** The `maddr` URI parameter, if any: it replaces the host as the target (RFC 3263 §4). */
  maddr?: string;
  /** True for a SIPS URI. */
  secure?: boolean;
}

export interface ResolverOptions extends DnsClientOptions {
  /** Transports this process can send on; others are skipped. Default udp, tcp, tls. */
  supported?: readonly Protocol[];
  /** Address families in order of preference; default IPv4 then IPv6. */
  families?: readonly (4 | 6)[];
  /** Uniform random in [0, 1) for the SRV weighted choice; tests inject a seeded one. */
  random?: () => number;
}

/** What a request to locate reduces to. */
interface Query {
  /** The TARGET (maddr or host), IPv6 without brackets, lower-cased, no trailing dot. */
  target: string;
  numeric: boolean;
  port: number | null;
  transport: Protocol | null;
  secure: boolean;
  serverName: string;
}

/** NAPTR services SIP defines (RFC 3263 §4.1, RFC 7118 §9) and the transport each names. */
const NAPTR_SERVICES: ReadonlyMap<string, Protocol> = new Map([
  ['sip+d2u', 'udp'],
  ['sip+d2t', 'tcp'],
  ['sips+d2t', 'tls'],
  ['sip+d2w', 'ws'],
  ['sips+d2w', 'wss'],
]);

/** Most targets remembered as failed; the oldest is forgotten first. */
const MAX_BLACKLIST = 1024;

/** Locates SIP servers for URIs. One per process is enough; it owns its DNS client. */
export class Resolver {
  readonly #dns: DnsClient;
  readonly #supported: ReadonlySet<Protocol>;
  readonly #families: readonly (4 | 6)[];
  readonly #random: () => number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #blacklist = new Map<string, number>();
  #closed = false;

  constructor(opts: ResolverOptions = {}) {
    this.#dns = new DnsClient(opts);
    this.#supported = new Set(opts.supported ?? ['udp', 'tcp', 'tls']);
    this.#families = opts.families ?? [4, 6];
    if (this.#families.length === 0) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', 'resolver families: empty list');
    }
    this.#random = opts.random ?? Math.random;
    this.#clock = opts.clock ?? systemClock;
    this.#log = (opts.logger ?? silentLogger).child({ component: 'resolver' });
  }

  /** The DNS client underneath (its stats count queries, cache hits, timeouts). */
  get dns(): DnsClient {
    return this.#dns;
  }

  /**
   * RFC 3263 §4: the ordered targets to try for a SIP/SIPS URI. Targets marked with
   * {@link blacklist} come last. Rejects with TANDEM_ERR_RESOLVE when nothing usable is found.
   */
  async resolve(uri: SipUri | ResolveInput): Promise<ResolvedTarget[]> {
    const q = this.#open(uri);
    // Never empty: #locate either finds a target or rejects saying why.
    const found = dedupe(await this.#locate(q));
    const now = this.#clock.now();
    const ok: ResolvedTarget[] = [];
    const listed: ResolvedTarget[] = [];
    for (const t of found) {
      (this.#isListed(t, now) ? listed : ok).push(t);
    }
    this.#log.debug(
      { target: q.target, count: found.length, blacklisted: listed.length },
      'resolved',
    );
    return ok.concat(listed);
  }

  /**
   * The target of a URI whose TARGET is an IP address, at once: RFC 3263 §4.1/§4.2 need no DNS
   * for it, so the proxy's hot path skips a promise. Null when TARGET is a name (use
   * {@link resolve}). Throws TANDEM_ERR_RESOLVE for an unusable transport, as `resolve` rejects.
   */
  resolveNumeric(uri: SipUri | ResolveInput): ResolvedTarget[] | null {
    const q = this.#open(uri);
    return q.numeric ? this.#numericTargets(q) : null;
  }

  #open(uri: SipUri | ResolveInput): Query {
    if (this.#closed) {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', 'resolver is closed');
    }
    return this.#toQuery(uri);
  }

  #numericTargets(q: Query): ResolvedTarget[] {
    const protocol = q.transport ?? this.#defaultProtocol(q);
    return [target(protocol, q.target, q.port ?? defaultPort(protocol), q.serverName)];
  }

  /**
   * Remember that `target` failed: for `ms` it is moved to the end of every resolved list
   * (not removed, so a destination whose every target failed is still tried).
   */
  blacklist(target: Pick<SendTarget, 'protocol' | 'address' | 'port'>, ms: number): void {
    const key = targetKey(target);
    this.#blacklist.delete(key);
    this.#blacklist.set(key, this.#clock.now() + ms);
    if (this.#blacklist.size > MAX_BLACKLIST) {
      const oldest = this.#blacklist.keys().next();
      if (oldest.done !== true) {
        this.#blacklist.delete(oldest.value);
      }
    }
  }

  /** True while `target` is blacklisted. */
  isBlacklisted(target: Pick<SendTarget, 'protocol' | 'address' | 'port'>): boolean {
    return this.#isListed(target, this.#clock.now());
  }

  /** Close the DNS client; pending resolutions reject. */
  close(): void {
    this.#closed = true;
    this.#dns.close();
    this.#blacklist.clear();
  }

  #isListed(target: Pick<SendTarget, 'protocol' | 'address' | 'port'>, now: number): boolean {
    const key = targetKey(target);
    const until = this.#blacklist.get(key);
    if (until === undefined) {
      return false;
    }
    if (now >= until) {
      this.#blacklist.delete(key);
      return false;
    }
    return true;
  }

  #toQuery(uri: SipUri | ResolveInput): Query {
    let host: string;
    let secure: boolean;
    let transportParam: string | null;
    let maddr: string | null;
    if ('kind' in uri) {
      host = uri.host;
      secure = uri.scheme === 'sips';
      transportParam = uri.params.get('transport') ?? null;
      maddr = uri.params.get('maddr') ?? null;
    } else {
      host = uri.host;
      secure = uri.secure === true;
      transportParam = uri.transport ?? null;
      maddr = uri.maddr ?? null;
    }
    const serverName = unbracket(host).toLowerCase().replace(/\.$/, '');
    // RFC 3263 §4: "If the URI contains an maddr parameter, TARGET is the maddr value;
    // otherwise TARGET is the host value."
    const target = maddr === null ? serverName : unbracket(maddr).toLowerCase().replace(/\.$/, '');
    const transport =
      transportParam === null ? null : this.#transportOf(transportParam, secure, target);
    return {
      target,
      numeric: net.isIP(target) !== 0,
      port: uri.port,
      transport,
      secure,
      serverName,
    };
  }

  /** The protocol a `transport` parameter names for this scheme, if we can use it. */
  #transportOf(param: string, secure: boolean, target: string): Protocol {
    const t = param.toLowerCase();
    let protocol: Protocol | null = null;
    if (t === 'udp') {
      // RFC 3261 §26.2.2 / RFC 5630 §3.1.3: a SIPS URI requires TLS on every hop; no UDP.
      if (secure) {
        throw new CoreError('TANDEM_ERR_RESOLVE', `${target}: sips URI with transport=udp`);
      }
      protocol = 'udp';
    } else if (t === 'tcp') {
      // RFC 3261 §19.1.2: transport=tcp in a SIPS URI means TLS over TCP.
      protocol = secure ? 'tls' : 'tcp';
    } else if (t === 'tls') {
      protocol = 'tls';
    } else if (t === 'ws' || t === 'wss') {
      // RFC 7118 §5.2: transport=ws; a SIPS URI (or wss) runs over secure WebSocket.
      protocol = secure || t === 'wss' ? 'wss' : 'ws';
    }
    if (protocol === null || !this.#supported.has(protocol)) {
      throw new CoreError('TANDEM_ERR_RESOLVE', `${target}: transport ${param} not supported`);
    }
    return protocol;
  }

  #defaultProtocol(q: Query): Protocol {
    // RFC 3263 §4.1: without NAPTR/SRV guidance "the client SHOULD use UDP for a SIP URI, and
    // TCP for a SIPS URI" (TCP meaning TLS over TCP for SIPS).
    const protocol: Protocol = q.secure ? 'tls' : 'udp';
    if (!this.#supported.has(protocol)) {
      throw new CoreError('TANDEM_ERR_RESOLVE', `${q.target}: transport ${protocol} not supported`);
    }
    return protocol;
  }

  async #locate(q: Query): Promise<ResolvedTarget[]> {
    // RFC 3263 §4.1/§4.2: a numeric TARGET needs no DNS; the port is the URI's or the default.
    if (q.numeric) {
      return this.#numericTargets(q);
    }
    if (q.transport !== null) {
      // §4.2: "If the TARGET was not a numeric IP address, but a port is present in the URI,
      // the client performs an A or AAAA record lookup of the domain name."
      if (q.port !== null) {
        return this.#hostTargets(q.target, q.port, q.transport, q.serverName);
      }
      // §4.2: with a transport but no port, an SRV query for that specific transport, then
      // A/AAAA with the transport's default port if there is no SRV record.
      const viaSrv = await this.#srvTargets(
        srvName(q.transport, q.target),
        q.transport,
        q.serverName,
      );
      if (viaSrv.length > 0) {
        return viaSrv;
      }
      return this.#hostTargets(q.target, defaultPort(q.transport), q.transport, q.serverName);
    }
    if (q.port !== null) {
      // §4.1: no transport, a name and an explicit port: UDP for SIP, TLS for SIPS, no SRV.
      const protocol = this.#defaultProtocol(q);
      return this.#hostTargets(q.target, q.port, protocol, q.serverName);
    }
    const naptr = await this.#naptrTargets(q);
    if (naptr === 'nxdomain') {
      // RFC 8020 §2: NXDOMAIN means nothing exists at or below the name, so its SRV names do
      // not either; only A/AAAA remain (the hosts file may still know it).
      const protocol = this.#defaultProtocol(q);
      return this.#hostTargets(q.target, defaultPort(protocol), protocol, q.serverName);
    }
    if (naptr.length > 0) {
      return naptr;
    }
    const viaSrv = await this.#srvFallback(q);
    if (viaSrv.length > 0) {
      return viaSrv;
    }
    // §4.2: no SRV records: A/AAAA at the default port of the default transport.
    const protocol = this.#defaultProtocol(q);
    return this.#hostTargets(q.target, defaultPort(protocol), protocol, q.serverName);
  }

  /**
   * RFC 3263 §4.1 NAPTR step: keep records whose service names a transport we support (only
   * SIPS+ services for a SIPS URI) with flag "S", sort by order then preference, and expand each
   * replacement through SRV. Records we cannot use are skipped, and when none is usable we fall
   * back to the SRV step as if there were no NAPTR records (as OpenSIPS and Kamailio do).
   */
  async #naptrTargets(q: Query): Promise<ResolvedTarget[] | 'nxdomain'> {
    let records: readonly NaptrRecord[];
    try {
      const res = await this.#dns.lookup(q.target, 'NAPTR');
      if (!res.exists) {
        return 'nxdomain';
      }
      records = res.records;
    } catch (err) {
      // A failed NAPTR query counts as "no NAPTR": some middleboxes drop unknown types.
      this.#log.debug({ target: q.target, err: (err as Error).message }, 'NAPTR lookup failed');
      return [];
    }
    const usable: { rec: NaptrRecord; protocol: Protocol }[] = [];
    for (const rec of records) {
      const protocol = NAPTR_SERVICES.get(rec.services.toLowerCase());
      // §4.1: "If the URI is a SIPS URI, only SIPS+ services are acceptable"; "S" says the
      // replacement is an SRV name, the only flag SIP defines a next step for.
      if (
        protocol === undefined ||
        !this.#supported.has(protocol) ||
        rec.flags.toLowerCase() !== 's' ||
        (q.secure && protocol !== 'tls' && protocol !== 'wss')
      ) {
        continue;
      }
      usable.push({ rec, protocol });
    }
    usable.sort((a, b) => a.rec.order - b.rec.order || a.rec.preference - b.rec.preference);
    const expanded = await Promise.all(
      usable.map(({ rec, protocol }) => this.#srvTargets(rec.replacement, protocol, q.serverName)),
    );
    return expanded.flat();
  }

  /**
   * RFC 3263 §4.1, no NAPTR: SRV queries for the transports we support, `_sips` for a SIPS URI
   * (TLS only). For a SIP URI TLS is tried first, then TCP, then UDP.
   */
  async #srvFallback(q: Query): Promise<ResolvedTarget[]> {
    const candidates: Protocol[] = q.secure ? ['tls'] : ['tls', 'tcp', 'udp'];
    const protocols = candidates.filter((p) => this.#supported.has(p));
    const found = await Promise.all(
      protocols.map((p) => this.#srvTargets(srvName(p, q.target), p, q.serverName)),
    );
    return found.flat();
  }

  /** SRV records of `name` in RFC 2782 order, each expanded to its addresses. */
  async #srvTargets(
    name: string,
    protocol: Protocol,
    serverName: string,
  ): Promise<ResolvedTarget[]> {
    let records: readonly SrvRecord[];
    let hints: readonly AddressHint[];
    try {
      const res = await this.#dns.lookup(name, 'SRV');
      records = res.records;
      hints = res.additional;
    } catch (err) {
      this.#log.debug({ name, err: (err as Error).message }, 'SRV lookup failed');
      return [];
    }
    // RFC 2782: 'A Target of "." means that the service is decidedly not available'.
    const ordered = orderSrv(
      records.filter((r) => r.target !== '.'),
      this.#random,
    );
    const perRecord = await Promise.all(
      ordered.map(async (r) => {
        const { addresses } = await this.#addresses(r.target, hints);
        return addresses.map((a) => target(protocol, a, r.port, serverName));
      }),
    );
    return perRecord.flat();
  }

  /** A/AAAA of a host at one port and transport; rejects when the host has no address. */
  async #hostTargets(
    host: string,
    port: number,
    protocol: Protocol,
    serverName: string,
  ): Promise<ResolvedTarget[]> {
    const { addresses, why } = await this.#addresses(host, []);
    if (addresses.length === 0) {
      throw new CoreError('TANDEM_ERR_RESOLVE', why);
    }
    return addresses.map((a) => target(protocol, a, port, serverName));
  }

  /**
   * The addresses of `host` in family preference order: from the additional section of the
   * SRV answer when it has any for this name (RFC 2782 "the additional data section ... may
   * contain the A records"), otherwise from A and AAAA lookups. `why` explains an empty list.
   */
  async #addresses(
    host: string,
    hints: readonly AddressHint[],
  ): Promise<{ addresses: string[]; why: string }> {
    if (net.isIP(host) !== 0) {
      return { addresses: [host], why: '' };
    }
    const given = hints.filter((h) => h.name === host);
    if (given.length > 0) {
      const addresses = this.#families.flatMap((f) =>
        given.filter((h) => h.family === f).map((h) => h.address),
      );
      return { addresses, why: `${host}: no address of a usable family` };
    }
    const results = await Promise.allSettled(
      this.#families.map((f) => this.#dns.lookup(host, f === 4 ? 'A' : 'AAAA')),
    );
    const addresses: string[] = [];
    let why = `${host}: no A or AAAA records`;
    let missing = 0;
    for (const r of results) {
      if (r.status === 'fulfilled') {
        addresses.push(...r.value.records);
        missing += r.value.exists ? 0 : 1;
      } else {
        why = (r.reason as Error).message.replace(/^Cannot resolve: /, '');
      }
    }
    if (missing === results.length) {
      why = `${host}: no such domain (NXDOMAIN)`;
    }
    return { addresses, why };
  }
}

/**
 * RFC 2782 ordering: ascending priority; within one priority, repeatedly pick a record with
 * probability proportional to its weight, records of weight 0 first in the running sum so they
 * keep a small chance of going first ("a very small chance of being selected").
 */
export function orderSrv(records: readonly SrvRecord[], random: () => number): SrvRecord[] {
  const priorities = [...new Set(records.map((r) => r.priority))].sort((a, b) => a - b);
  const out: SrvRecord[] = [];
  for (const priority of priorities) {
    const group = records.filter((r) => r.priority === priority);
    const list = [...group.filter((r) => r.weight === 0), ...group.filter((r) => r.weight > 0)];
    while (list.length > 0) {
      const sum = list.reduce((s, r) => s + r.weight, 0);
      // "choose a uniform random number between 0 and the sum computed (inclusive), and select
      // the RR whose running sum value is the first in the selected order which is greater
      // than or equal to the random number selected."
      const pick = Math.min(sum, Math.floor(random() * (sum + 1)));
      let running = 0;
      let index = list.length - 1;
      for (let i = 0; i < list.length; i++) {
        running += list[i]!.weight;
        if (running >= pick) {
          index = i;
          break;
        }
      }
      out.push(list[index]!);
      list.splice(index, 1);
    }
  }
  return out;
}

/** The SRV owner name for a transport (RFC 3263 §4.1; `_ws` for WebSocket as RFC 7118 registers). */
function srvName(protocol: Protocol, host: string): string {
  switch (protocol) {
    case 'udp':
      return `_sip._udp.${host}`;
    case 'tcp':
      return `_sip._tcp.${host}`;
    case 'tls':
      return `_sips._tcp.${host}`;
    case 'ws':
      return `_sip._ws.${host}`;
    case 'wss':
      return `_sips._ws.${host}`;
  }
}

/**
 * RFC 3263 §4.2: "the default port number for the transport": 5060 for UDP and TCP, 5061 for
 * TLS. RFC 7118 defines none for WebSocket; those of RFC 6455 §3 (80 and 443) apply.
 */
export function defaultPort(protocol: Protocol): number {
  switch (protocol) {
    case 'udp':
    case 'tcp':
      return 5060;
    case 'tls':
      return 5061;
    case 'ws':
      return 80;
    case 'wss':
      return 443;
  }
}

function target(
  protocol: Protocol,
  address: string,
  port: number,
  serverName: string,
): ResolvedTarget {
  return { protocol, address, port, serverName };
}

function targetKey(t: Pick<SendTarget, 'protocol' | 'address' | 'port'>): string {
  return `${t.protocol} ${t.address} ${t.port}`;
}

function dedupe(targets: readonly ResolvedTarget[]): ResolvedTarget[] {
  const seen = new Set<string>();
  return targets.filter((t) => {
    const key = targetKey(t);
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
    return true;
  });
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
