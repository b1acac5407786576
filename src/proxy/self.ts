/**
 * Which addresses are "this proxy": every listen socket (bound and advertised) plus configured
 * aliases. Route preprocessing (RFC 3261 §16.4), loop detection (§16.3 item 4) and the default
 * script's "is this OPTIONS for me?" all ask the same question.
 */
import { networkInterfaces } from 'node:os';
import type { SipUri } from '../sip/index.js';
import type { Protocol, SocketInfo } from '../transport/types.js';

/** One address the proxy answers to; port null means "any port". */
interface SelfEntry {
  host: string;
  port: number | null;
}

/** Default port of a URI whose port is absent (RFC 3263 §4.2: 5061 for sips and TLS). */
export function defaultPort(secure: boolean): number {
  return secure ? 5061 : 5060;
}

/** `[v6]` for an IPv6 literal, the host otherwise, lower-cased. */
export function normaliseHost(host: string): string {
  const h = host.toLowerCase();
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

/** Parse an alias `host[:port]` (`[v6]:port` for IPv6). */
function parseAlias(alias: string): SelfEntry {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(alias.trim());
  if (!m) {
    return { host: normaliseHost(alias.trim()), port: null };
  }
  return { host: normaliseHost(m[1]!), port: m[2] === undefined ? null : Number(m[2]) };
}

export class SelfAddresses {
  private entries: SelfEntry[] = [];
  private readonly aliases: readonly SelfEntry[];

  /** `aliases`: `host[:port]` strings (IPv6 in brackets) or `{ host, port }` objects. */
  constructor(
    sockets: readonly SocketInfo[],
    aliases: readonly (string | { host: string; port?: number })[] = [],
  ) {
    this.aliases = aliases.map((a) =>
      typeof a === 'string' ? parseAlias(a) : { host: normaliseHost(a.host), port: a.port ?? null },
    );
    this.setSockets(sockets);
  }

  /** The sockets changed (bound at start-up, where port 0 becomes a real port). */
  setSockets(sockets: readonly SocketInfo[]): void {
    const entries: SelfEntry[] = [];
    for (const s of sockets) {
      if (s.host === '0.0.0.0' || s.host === '::') {
        // A wildcard bind answers on every local address of its family.
        for (const addr of localAddresses(s.family)) {
          entries.push({ host: normaliseHost(addr), port: s.port });
        }
      }
      entries.push({ host: normaliseHost(s.host), port: s.port });
      entries.push({ host: normaliseHost(s.sentByHost), port: s.sentByPort });
    }
    this.entries = [...entries, ...this.aliases];
  }

  /** Is `host:port` one of ours? A missing port means the default for the scheme/transport. */
  isSelf(host: string, port: number | null, secure = false): boolean {
    const h = normaliseHost(host);
    const p = port ?? defaultPort(secure);
    for (const e of this.entries) {
      if (e.host === h && (e.port === null || e.port === p)) {
        return true;
      }
    }
    return false;
  }

  /** Is this SIP URI addressed to us (host and port)? */
  isSelfUri(uri: SipUri): boolean {
    const transport = uri.params.get('transport');
    const secure = uri.scheme === 'sips' || transport?.toLowerCase() === 'tls';
    return this.isSelf(uri.host, uri.port, secure);
  }
}

/** The transport a URI asks for, if it names one we know (RFC 3261 §19.1.1 `transport`). */
export function uriProtocol(uri: SipUri): Protocol | null {
  const t = uri.params.get('transport')?.toLowerCase();
  switch (t) {
    case 'udp':
    case 'tcp':
    case 'tls':
    case 'ws':
    case 'wss':
      return t;
    case undefined:
    default:
      return null;
  }
}

function localAddresses(family: 4 | 6): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if ((a.family === 'IPv4' ? 4 : 6) === family) {
        out.push(a.address);
      }
    }
  }
  return out;
}
