/**
 * A small stub resolver on `dns-packet` and `node:dgram`. Node's `dns.Resolver` hides the TTLs
 * of SRV and NAPTR records, and RFC 3263 resolution must cache by TTL, so Tandem asks its
 * recursive servers itself: UDP with per-server timeouts and retries, TCP when an answer comes
 * back truncated, answers matched by random id, source and question, a TTL cache with negative
 * entries, and one network query for any number of identical concurrent lookups.
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { systemClock, type Clock } from '../core/clock.js';
import { CoreError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import {
  DEFAULT_TTL_LIMITS,
  DnsCache,
  cacheKey,
  interpret,
  type AnyDnsResult,
  type DnsRecordType,
  type DnsResult,
  type TtlLimits,
} from './dns-cache.js';

export type {
  AddressHint,
  DnsRecordData,
  DnsRecordType,
  DnsResult,
  NaptrRecord,
  SrvRecord,
} from './dns-cache.js';

export interface DnsClientOptions {
  /** Recursive servers as `ip`, `ip:port` or `[ipv6]:port`; default: /etc/resolv.conf. */
  servers?: readonly string[];
  clock?: Clock;
  /** Time to wait for one server's answer to one try (ms). */
  timeoutMs?: number;
  /** Rounds over the server list before giving up. */
  attempts?: number;
  logger?: Logger;
  /** Most (name, type) answers kept. */
  cacheSize?: number;
  ttlLimits?: Partial<TtlLimits>;
  /** Hosts file consulted before DNS for A/AAAA (as `files dns` in nsswitch); null: none. */
  hostsFile?: string | null;
  /** Where to read `nameserver` lines when `servers` is not given. */
  resolvConf?: string;
}

/** Counters, for metrics and for tests that check caching. */
export interface DnsStats {
  /** Lookups that went to the network (after the cache and coalescing). */
  queries: number;
  udpSent: number;
  tcpQueries: number;
  truncated: number;
  timeouts: number;
  /** Datagrams dropped: undecodable, unknown id, wrong source or question. */
  ignored: number;
  cacheHits: number;
  /** Lookups that joined an identical one already on the wire. */
  coalesced: number;
  /** Lookups that failed on every server. */
  failures: number;
}

interface PendingQuery {
  readonly server: DnsServer;
  readonly name: string;
  readonly type: DnsRecordType;
  readonly timer: { cancel(): void };
  resolve(packet: dnsPacket.DecodedPacket): void;
  reject(err: Error): void;
}

/** More outstanding UDP queries than this is a flood; refuse rather than search for a free id. */
const MAX_PENDING = 16_384;

/** A caching, coalescing DNS stub resolver. */
export class DnsClient {
  readonly #servers: readonly DnsServer[];
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #log: Logger;
  readonly #limits: TtlLimits;
  readonly #cache: DnsCache<AnyDnsResult>;
  readonly #hosts: ReadonlyMap<string, { v4: string[]; v6: string[] }>;
  readonly #inflight = new Map<string, Promise<AnyDnsResult>>();
  readonly #pending = new Map<number, PendingQuery>();
  readonly #tcp = new Set<net.Socket>();
  readonly #stats: DnsStats = {
    queries: 0,
    udpSent: 0,
    tcpQueries: 0,
    truncated: 0,
    timeouts: 0,
    ignored: 0,
    cacheHits: 0,
    coalesced: 0,
    failures: 0,
  };
  #udp4: dgram.Socket | null = null;
  #udp6: dgram.Socket | null = null;
  #closed = false;

  constructor(opts: DnsClientOptions = {}) {
    const specs = opts.servers ?? readServers(opts.resolvConf ?? '/etc/resolv.conf');
    if (specs.length === 0) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', 'DNS servers: empty list');
    }
    this.#servers = specs.map(parseServer);
    this.#clock = opts.clock ?? systemClock;
    this.#timeoutMs = positiveInt('timeoutMs', opts.timeoutMs ?? 2000);
    this.#attempts = positiveInt('attempts', opts.attempts ?? 2);
    this.#log = (opts.logger ?? silentLogger).child({ component: 'dns' });
    this.#limits = { ...DEFAULT_TTL_LIMITS, ...opts.ttlLimits };
    this.#cache = new DnsCache(this.#clock, positiveInt('cacheSize', opts.cacheSize ?? 4096));
    const hostsFile = opts.hostsFile === undefined ? '/etc/hosts' : opts.hostsFile;
    this.#hosts = hostsFile === null ? new Map() : parseHosts(readOptional(hostsFile));
  }

  /** The servers asked, in order. */
  get servers(): readonly DnsServer[] {
    return this.#servers;
  }

  get stats(): Readonly<DnsStats> {
    return this.#stats;
  }

  /**
   * Records of `type` for `name`, from the hosts file, the cache, a query already in flight,
   * or the network. Rejects with TANDEM_ERR_RESOLVE when no server gives a usable answer;
   * NXDOMAIN and NODATA are answers, not errors.
   */
  lookup<T extends DnsRecordType>(name: string, type: T): Promise<DnsResult<T>> {
    if (this.#closed) {
      return Promise.reject(new CoreError('TANDEM_ERR_INVALID_STATE', 'DNS client is closed'));
    }
    const qname = queryName(name);
    if (qname === null) {
      return Promise.reject(
        new CoreError('TANDEM_ERR_RESOLVE', `${name}: not a valid domain name`),
      );
    }
    if (type === 'A' || type === 'AAAA') {
      const entry = this.#hosts.get(qname);
      if (entry !== undefined) {
        const records = type === 'A' ? entry.v4 : entry.v6;
        const fromFile: AnyDnsResult = { name: qname, type, exists: true, records, additional: [] };
        return Promise.resolve(fromFile as DnsResult<T>);
      }
    }
    const key = cacheKey(qname, type);
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.#stats.cacheHits++;
      return Promise.resolve(cached as DnsResult<T>);
    }
    const running = this.#inflight.get(key);
    if (running !== undefined) {
      this.#stats.coalesced++;
      return running as Promise<DnsResult<T>>;
    }
    const fetched = this.#fetch(qname, type).finally(() => {
      this.#inflight.delete(key);
    });
    this.#inflight.set(key, fetched);
    return fetched as Promise<DnsResult<T>>;
  }

  /** Stop: pending lookups reject, sockets close, the cache empties. Idempotent. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    for (const p of this.#pending.values()) {
      p.timer.cancel();
      p.reject(new Error('DNS client closed'));
    }
    this.#pending.clear();
    for (const s of this.#tcp) {
      s.destroy();
    }
    this.#tcp.clear();
    this.#udp4?.close();
    this.#udp6?.close();
    this.#udp4 = null;
    this.#udp6 = null;
    this.#cache.clear();
  }

  async #fetch(name: string, type: DnsRecordType): Promise<AnyDnsResult> {
    this.#stats.queries++;
    const packet = await this.#exchange(name, type);
    const { result, ttl } = interpret(packet, name, type, this.#limits);
    if (!this.#closed) {
      this.#cache.set(cacheKey(name, type), result, ttl);
    }
    this.#log.debug(
      { name, type, exists: result.exists, count: result.records.length, ttl },
      'dns answer',
    );
    return result;
  }

  /**
   * RFC 1035 §4.2.1 and resolv.conf semantics: each round asks every server in turn, each for
   * `timeoutMs`; a SERVFAIL or REFUSED moves on to the next server like a timeout does.
   */
  async #exchange(name: string, type: DnsRecordType): Promise<dnsPacket.DecodedPacket> {
    let why = 'no server answered';
    for (let round = 0; round < this.#attempts; round++) {
      for (const server of this.#servers) {
        if (this.#closed) {
          throw new CoreError('TANDEM_ERR_RESOLVE', `${name}: DNS client closed`);
        }
        try {
          let packet = await this.#udpQuery(server, name, type);
          // RFC 1035 §4.2.2 / RFC 7766 §5: a truncated UDP answer is retried over TCP.
          if (packet.flag_tc) {
            this.#stats.truncated++;
            packet = await this.#tcpQuery(server, name, type);
          }
          const rcode = (packet as { rcode?: string }).rcode ?? 'NOERROR';
          if (rcode === 'NOERROR' || rcode === 'NXDOMAIN') {
            return packet;
          }
          why = `${server.label} answered ${rcode}`;
        } catch (err) {
          why = `${server.label}: ${(err as Error).message}`;
        }
        this.#log.debug({ name, type, why }, 'dns try failed');
      }
    }
    this.#stats.failures++;
    throw new CoreError('TANDEM_ERR_RESOLVE', `${name}: ${type} query failed (${why})`);
  }

  #udpQuery(
    server: DnsServer,
    name: string,
    type: DnsRecordType,
  ): Promise<dnsPacket.DecodedPacket> {
    return new Promise((resolve, reject) => {
      if (this.#pending.size >= MAX_PENDING) {
        reject(new Error('too many DNS queries in flight'));
        return;
      }
      let id = randomInt(0x10000);
      while (this.#pending.has(id)) {
        id = randomInt(0x10000);
      }
      const timer = this.#clock.setTimer(this.#timeoutMs, () => {
        this.#stats.timeouts++;
        this.#settle(id, new Error(`timed out after ${this.#timeoutMs} ms`));
      });
      this.#pending.set(id, { server, name, type, timer, resolve, reject });
      const socket = this.#udpSocket(server.family);
      socket.ref();
      this.#stats.udpSent++;
      socket.send(encodeQuery(id, name, type), server.port, server.address, (err) => {
        if (err) {
          this.#settle(id, err);
        }
      });
    });
  }

  /** Finish the UDP query `id` with an answer or an error; a no-op once it is finished. */
  #settle(id: number, outcome: dnsPacket.DecodedPacket | Error): void {
    const p = this.#pending.get(id);
    if (p === undefined) {
      return;
    }
    this.#pending.delete(id);
    p.timer.cancel();
    if (this.#pending.size === 0) {
      // An idle resolver must not keep the process alive; a query in flight does.
      this.#udp4?.unref();
      this.#udp6?.unref();
    }
    if (outcome instanceof Error) {
      p.reject(outcome);
    } else {
      p.resolve(outcome);
    }
  }

  #udpSocket(family: 4 | 6): dgram.Socket {
    const existing = family === 4 ? this.#udp4 : this.#udp6;
    if (existing !== null) {
      return existing;
    }
    const socket = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
    socket.on('message', (msg, rinfo) => {
      this.#onDatagram(msg, rinfo);
    });
    socket.on('error', (err) => {
      // A broken socket is dropped; queries on it time out and the next one opens a new socket.
      this.#log.debug({ err: err.message, family }, 'dns socket error');
      socket.close();
      if (this.#udp4 === socket) {
        this.#udp4 = null;
      } else if (this.#udp6 === socket) {
        this.#udp6 = null;
      }
    });
    if (family === 4) {
      this.#udp4 = socket;
    } else {
      this.#udp6 = socket;
    }
    return socket;
  }

  /**
   * Anti-spoofing (RFC 5452 §9.1): an answer counts only if its id is outstanding, it comes
   * from the address and port the query went to, it is a response, and it repeats the question.
   * Anything else is dropped and counted; the real answer may still arrive.
   */
  #onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    let packet: dnsPacket.DecodedPacket;
    try {
      packet = dnsPacket.decode(msg);
    } catch {
      this.#ignore('undecodable datagram', rinfo);
      return;
    }
    const p = this.#pending.get(packet.id ?? -1);
    if (p === undefined) {
      this.#ignore('unknown id', rinfo);
      return;
    }
    if (rinfo.address !== p.server.address || rinfo.port !== p.server.port) {
      this.#ignore('wrong source', rinfo);
      return;
    }
    if (!packet.flag_qr || !sameQuestion(packet, p.name, p.type)) {
      this.#ignore('question mismatch', rinfo);
      return;
    }
    this.#settle(packet.id ?? -1, packet);
  }

  #ignore(why: string, rinfo: dgram.RemoteInfo): void {
    this.#stats.ignored++;
    this.#log.debug({ why, from: `${rinfo.address}:${rinfo.port}` }, 'dns datagram ignored');
  }

  /** One query over TCP (RFC 1035 §4.2.2: two-byte length prefix), with the same checks. */
  #tcpQuery(
    server: DnsServer,
    name: string,
    type: DnsRecordType,
  ): Promise<dnsPacket.DecodedPacket> {
    this.#stats.tcpQueries++;
    return new Promise((resolve, reject) => {
      const id = randomInt(0x10000);
      const socket = net.connect({ host: server.address, port: server.port });
      this.#tcp.add(socket);
      let buffered = Buffer.alloc(0);
      let done = false;
      const finish = (outcome: dnsPacket.DecodedPacket | Error): void => {
        if (done) {
          return;
        }
        done = true;
        timer.cancel();
        this.#tcp.delete(socket);
        socket.destroy();
        if (outcome instanceof Error) {
          reject(outcome);
        } else {
          resolve(outcome);
        }
      };
      const timer = this.#clock.setTimer(this.#timeoutMs, () => {
        this.#stats.timeouts++;
        finish(new Error(`TCP timed out after ${this.#timeoutMs} ms`));
      });
      socket.on('connect', () => {
        const query = encodeQuery(id, name, type);
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(query.length);
        socket.write(Buffer.concat([prefix, query]));
      });
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) {
          return;
        }
        let packet: dnsPacket.DecodedPacket;
        try {
          packet = dnsPacket.decode(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        } catch {
          finish(new Error('undecodable TCP answer'));
          return;
        }
        if (packet.id !== id || !packet.flag_qr || !sameQuestion(packet, name, type)) {
          this.#stats.ignored++;
          finish(new Error('mismatched TCP answer'));
          return;
        }
        finish(packet);
      });
      socket.on('error', (err) => {
        finish(err);
      });
      socket.on('close', () => {
        finish(new Error('TCP connection closed before the answer'));
      });
    });
  }
}

function encodeQuery(id: number, name: string, type: DnsRecordType): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
  });
}

function sameQuestion(packet: dnsPacket.DecodedPacket, name: string, type: DnsRecordType): boolean {
  const qs = packet.questions ?? [];
  const q = qs[0];
  return qs.length === 1 && q?.type === type && q.class === 'IN' && q.name.toLowerCase() === name;
}

function positiveInt(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new CoreError(
      'TANDEM_ERR_INVALID_ARGUMENT',
      `${what} must be a positive integer, got ${n}`,
    );
  }
  return n;
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** `nameserver` lines of a resolv.conf; RFC-less convention: none means a local server. */
function readServers(path: string): string[] {
  const found = parseResolvConf(readOptional(path));
  return found.length > 0 ? found : ['127.0.0.1:53'];
}

/** A recursive server to ask. */
export interface DnsServer {
  /** IP literal, IPv6 without brackets and in its canonical (compressed) form. */
  address: string;
  port: number;
  family: 4 | 6;
  /** `address:port` for logs and errors. */
  label: string;
}

/** Parse `ip`, `ip:port`, `ipv6` or `[ipv6]:port` (port 53 by default). */
export function parseServer(spec: string): DnsServer {
  const bad = (why: string): CoreError =>
    new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `DNS server '${spec}': ${why}`);
  let host = spec.trim();
  let portText = '53';
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    const rest = end < 0 ? '' : host.slice(end + 1);
    if (end < 0 || (rest !== '' && !rest.startsWith(':'))) {
      throw bad('malformed IPv6 reference');
    }
    portText = rest === '' ? portText : rest.slice(1);
    host = host.slice(1, end);
  } else if (host.indexOf(':') > 0 && host.indexOf(':') === host.lastIndexOf(':')) {
    portText = host.slice(host.indexOf(':') + 1);
    host = host.slice(0, host.indexOf(':'));
  }
  const family = net.isIP(host);
  if (family === 0) {
    throw bad('not an IP address');
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw bad('bad port');
  }
  const address = family === 6 ? canonicalIpv6(host) : host;
  return {
    address,
    port,
    family: family === 6 ? 6 : 4,
    label: family === 6 ? `[${address}]:${port}` : `${address}:${port}`,
  };
}

/**
 * The compressed form Node reports as a datagram's source, so a server written as
 * `0:0:0:0:0:0:0:1` still matches answers from `::1`. The WHATWG URL parser does the RFC 5952
 * canonicalisation; scoped (link-local) addresses are kept as written.
 */
function canonicalIpv6(address: string): string {
  if (address.includes('%')) {
    return address;
  }
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** The `nameserver` entries of a resolv.conf text, in order (invalid ones skipped). */
export function parseResolvConf(text: string): string[] {
  const servers: string[] = [];
  for (const raw of text.split('\n')) {
    const fields = raw
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    const value = fields[1];
    if (fields[0] === 'nameserver' && value !== undefined && net.isIP(value) !== 0) {
      servers.push(value);
    }
  }
  return servers;
}

/** Names of a hosts file (lower-cased) to their IPv4 and IPv6 addresses, in file order. */
export function parseHosts(text: string): Map<string, { v4: string[]; v6: string[] }> {
  const hosts = new Map<string, { v4: string[]; v6: string[] }>();
  for (const raw of text.split('\n')) {
    const m = /^(\S+)\s+(.+)$/.exec(raw.replace(/#.*$/, '').trim());
    const address = m?.[1] ?? '';
    const family = net.isIP(address);
    if (family === 0) {
      continue;
    }
    for (const n of m![2]!.split(/\s+/)) {
      const key = n.toLowerCase().replace(/\.$/, '');
      let entry = hosts.get(key);
      if (entry === undefined) {
        entry = { v4: [], v6: [] };
        hosts.set(key, entry);
      }
      (family === 4 ? entry.v4 : entry.v6).push(address);
    }
  }
  return hosts;
}

/**
 * A query name lower-cased without its trailing dot, or null when it cannot be asked.
 * RFC 1035 §2.3.4: labels of 1–63 octets, 255 octets in all on the wire (253 as text).
 */
export function queryName(name: string): string | null {
  const n = name.toLowerCase().replace(/\.$/, '');
  const labels = n.split('.');
  if (n.length === 0 || n.length > 253 || labels.some((l) => l.length === 0 || l.length > 63)) {
    return null;
  }
  return n;
}
