/**
 * A tiny authoritative DNS responder for resolver tests: UDP and TCP on the same
 * 127.0.0.1 (or ::1) port, answering from a record table the test gives and changes at will,
 * counting queries per (transport, name, type) so tests can assert what was cached.
 * Behaviours per question simulate the failures a client must survive.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';

/** What the server does with one question instead of a plain answer. */
export type Behaviour =
  /** Never answer (UDP or TCP). */
  | 'silent'
  /** Over UDP: TC bit set and no records; the full answer only over TCP. */
  | 'truncate'
  /** rcode SERVFAIL. */
  | 'servfail'
  /**
   * First a reply with another id, one with another question, garbage, and a forged answer
   * (right id and question, address 6.6.6.6) from another port; then the real answer.
   */
  | 'spoof-first';

export interface DnsServerOptions {
  /** The zone: any dns-packet answers (A, AAAA, SRV, NAPTR, CNAME...). */
  records?: dnsPacket.Answer[];
  /** SOA put in the authority section of NXDOMAIN and NODATA answers; null for none. */
  soa?: { name: string; ttl: number; minimum: number } | null;
  /** Put the A/AAAA records of SRV targets in the additional section. */
  additionals?: boolean;
  /** Bind address; default 127.0.0.1. */
  host?: string;
  /** Delay before each answer (ms). */
  delayMs?: number;
}

const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;

const lc = (s: string): string => s.toLowerCase().replace(/\.$/, '');

export class TestDnsServer {
  records: dnsPacket.Answer[];
  soa: { name: string; ttl: number; minimum: number } | null;
  additionals: boolean;
  delayMs: number;
  /** Accept TCP queries but never answer them. */
  tcpSilent = false;
  /** Behaviours by `name type` (lower-case name), or `*` for every question. */
  readonly behaviours = new Map<string, Behaviour>();
  readonly #counts = new Map<string, number>();
  readonly #udp: dgram.Socket;
  readonly #spoofer: dgram.Socket;
  readonly #tcp: net.Server;
  readonly #conns = new Set<net.Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(udp: dgram.Socket, spoofer: dgram.Socket, tcp: net.Server, opts: DnsServerOptions) {
    this.records = opts.records ?? [];
    this.soa = opts.soa === undefined ? { name: 'test', ttl: 3600, minimum: 60 } : opts.soa;
    this.additionals = opts.additionals ?? false;
    this.delayMs = opts.delayMs ?? 0;
    this.#udp = udp;
    this.#spoofer = spoofer;
    this.#tcp = tcp;
    udp.on('message', (msg, rinfo) => {
      this.#onUdp(msg, rinfo);
    });
    tcp.on('connection', (sock) => {
      this.#onTcp(sock);
    });
  }

  get port(): number {
    return this.#udp.address().port;
  }

  get address(): string {
    return this.#udp.address().address;
  }

  /** `ip:port` (IPv6 bracketed) to pass as a Resolver server. */
  get spec(): string {
    return net.isIPv6(this.address)
      ? `[${this.address}]:${this.port}`
      : `${this.address}:${this.port}`;
  }

  /** Queries seen for (name, type), over one transport or both. */
  count(name: string, type: string, transport?: 'udp' | 'tcp'): number {
    const key = (t: string): string => `${t} ${lc(name)} ${type}`;
    if (transport !== undefined) {
      return this.#counts.get(key(transport)) ?? 0;
    }
    return (this.#counts.get(key('udp')) ?? 0) + (this.#counts.get(key('tcp')) ?? 0);
  }

  /** All queries seen. */
  total(): number {
    let n = 0;
    for (const v of this.#counts.values()) {
      n += v;
    }
    return n;
  }

  resetCounts(): void {
    this.#counts.clear();
  }

  async close(): Promise<void> {
    for (const t of this.#timers) {
      clearTimeout(t);
    }
    for (const c of this.#conns) {
      c.destroy();
    }
    for (const sock of [this.#udp, this.#spoofer]) {
      await new Promise<void>((resolve) => {
        sock.close(() => {
          resolve();
        });
      });
    }
    await new Promise<void>((resolve) => {
      this.#tcp.close(() => {
        resolve();
      });
    });
  }

  #later(fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, this.delayMs);
    this.#timers.add(t);
  }

  #behaviour(q: dnsPacket.Question): Behaviour | undefined {
    return this.behaviours.get(`${lc(q.name)} ${q.type}`) ?? this.behaviours.get('*');
  }

  #count(transport: string, q: dnsPacket.Question): void {
    const key = `${transport} ${lc(q.name)} ${q.type}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  #onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const query = dnsPacket.decode(msg);
    const q = query.questions?.[0];
    if (q === undefined) {
      return;
    }
    this.#count('udp', q);
    const behaviour = this.#behaviour(q);
    if (behaviour === 'silent') {
      return;
    }
    const send = (buf: Buffer): void => {
      this.#udp.send(buf, rinfo.port, rinfo.address);
    };
    this.#later(() => {
      if (behaviour === 'spoof-first') {
        const id = query.id ?? 0;
        send(dnsPacket.encode(this.#answer({ ...query, id: (id + 1) & 0xffff }, q)));
        const other = { ...q, name: `other.${q.name}` };
        send(dnsPacket.encode(this.#answer({ ...query, questions: [other] }, other)));
        send(Buffer.from([1, 2, 3]));
        const forged = this.#answer(query, q);
        forged.answers = [{ type: 'A', name: q.name, ttl: 300, data: '6.6.6.6' }];
        this.#spoofer.send(dnsPacket.encode(forged), rinfo.port, rinfo.address);
      }
      if (behaviour === 'truncate') {
        send(
          dnsPacket.encode({
            type: 'response',
            id: query.id ?? 0,
            flags: dnsPacket.TRUNCATED_RESPONSE,
            questions: [q],
          }),
        );
        return;
      }
      send(dnsPacket.encode(this.#answer(query, q)));
    });
  }

  #onTcp(sock: net.Socket): void {
    this.#conns.add(sock);
    sock.on('close', () => this.#conns.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const query = dnsPacket.decode(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        const q = query.questions?.[0];
        if (q === undefined) {
          continue;
        }
        this.#count('tcp', q);
        if (this.tcpSilent || this.#behaviour(q) === 'silent') {
          continue;
        }
        this.#later(() => {
          sock.write(dnsPacket.streamEncode(this.#answer(query, q)));
        });
      }
    });
  }

  /** The authoritative answer to `q` from the table (following one CNAME chain). */
  #answer(query: dnsPacket.Packet, q: dnsPacket.Question): dnsPacket.Packet {
    const base = { type: 'response' as const, id: query.id ?? 0, questions: [q] };
    if (this.#behaviour(q) === 'servfail') {
      return { ...base, flags: RCODE_SERVFAIL };
    }
    const answers: dnsPacket.Answer[] = [];
    let owner = lc(q.name);
    for (let hop = 0; hop < 8; hop++) {
      const found = this.records.filter((r) => lc(r.name) === owner && r.type === q.type);
      if (found.length > 0) {
        answers.push(...found);
        break;
      }
      const alias = this.records.find((r) => lc(r.name) === owner && r.type === 'CNAME');
      if (alias?.type !== 'CNAME') {
        break;
      }
      answers.push(alias);
      owner = lc(alias.data);
    }
    // RFC 8020: a name with records anywhere below it exists (an empty non-terminal: NODATA).
    const qn = lc(q.name);
    const exists = this.records.some((r) => lc(r.name) === qn || lc(r.name).endsWith(`.${qn}`));
    const soa: dnsPacket.Answer[] =
      this.soa === null
        ? []
        : [
            {
              type: 'SOA',
              name: this.soa.name,
              ttl: this.soa.ttl,
              data: { mname: 'ns.test', rname: 'admin.test', minimum: this.soa.minimum },
            },
          ];
    if (!exists) {
      return { ...base, flags: RCODE_NXDOMAIN, authorities: soa };
    }
    const hasData = answers.some((a) => a.type === q.type);
    const additionals: dnsPacket.Answer[] = [];
    if (this.additionals && q.type === 'SRV') {
      for (const a of answers) {
        if (a.type === 'SRV') {
          const target = lc(a.data.target);
          additionals.push(
            ...this.records.filter(
              (r) => lc(r.name) === target && (r.type === 'A' || r.type === 'AAAA'),
            ),
          );
        }
      }
    }
    return {
      ...base,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      answers,
      authorities: hasData ? [] : soa,
      additionals,
    };
  }
}

/** Start a server on a free port of `opts.host` (UDP and TCP share the port number). */
export async function startDnsServer(opts: DnsServerOptions = {}): Promise<TestDnsServer> {
  const host = opts.host ?? '127.0.0.1';
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const tcp = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => {
        resolve(false);
      });
      tcp.listen(udp.address().port, host, () => {
        resolve(true);
      });
    });
    if (ok) {
      const spoofer = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      await new Promise<void>((resolve) => {
        spoofer.bind(0, host, () => {
          resolve();
        });
      });
      return new TestDnsServer(udp, spoofer, tcp, opts);
    }
    await new Promise<void>((resolve) => {
      udp.close(() => {
        resolve();
      });
    });
  }
  throw new Error('no free port for the test DNS server');
}

/** Record builders, so tables read like zone files. */
export const rr = {
  a: (name: string, address: string, ttl = 300): dnsPacket.Answer => ({
    type: 'A',
    name,
    ttl,
    data: address,
  }),
  aaaa: (name: string, address: string, ttl = 300): dnsPacket.Answer => ({
    type: 'AAAA',
    name,
    ttl,
    data: address,
  }),
  cname: (name: string, target: string, ttl = 300): dnsPacket.Answer => ({
    type: 'CNAME',
    name,
    ttl,
    data: target,
  }),
  srv: (
    name: string,
    priority: number,
    weight: number,
    port: number,
    target: string,
    ttl = 300,
  ): dnsPacket.Answer => ({ type: 'SRV', name, ttl, data: { priority, weight, port, target } }),
  naptr: (
    name: string,
    order: number,
    preference: number,
    services: string,
    replacement: string,
    flags = 'S',
    ttl = 300,
  ): dnsPacket.Answer => ({
    type: 'NAPTR',
    name,
    ttl,
    data: { order, preference, flags, services, regexp: '', replacement },
  }),
};
