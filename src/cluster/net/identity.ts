/**
 * Node identity on `bins:` links and node URLs. TLS with `rejectUnauthorized` already proves
 * the peer holds a certificate the cluster CA signed; this adds that the certificate names the
 * node the peer claims to be, so one node's key cannot impersonate another.
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { CoreError } from '../../core/errors.js';
import type { NodeInfo } from '../types.js';

/** The name a node's certificate must carry (CN or DNS SAN). */
export function expectedTlsName(node: Pick<NodeInfo, 'nodeId' | 'tlsName'>): string {
  return node.tlsName ?? `node-${node.nodeId}`;
}

/** DNS names in a certificate's subjectAltName (`DNS:a, IP Address:1.2.3.4, DNS:b`). */
function dnsNames(cert: PeerCertificate): string[] {
  const san = cert.subjectaltname;
  if (typeof san !== 'string' || san === '') {
    return [];
  }
  return san
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
}

/**
 * Whether the peer of an authorised TLS socket presented a certificate naming `name`. False
 * for an unauthorised socket or a socket without a certificate.
 */
export function certificateNames(socket: TLSSocket, name: string): boolean {
  if (!socket.authorized) {
    return false;
  }
  const cert = socket.getPeerCertificate();
  // An empty object means no certificate was presented.
  if (Object.keys(cert).length === 0) {
    return false;
  }
  const cn = cert.subject.CN;
  const cns: string[] = Array.isArray(cn) ? cn : typeof cn === 'string' ? [cn] : [];
  return cns.includes(name) || dnsNames(cert).includes(name);
}

/** A parsed node URL. */
export interface NodeUrl {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
}

/** Parse `bin:IP:PORT` / `bins:IP:PORT` (IPv6 in brackets); throws a config error otherwise. */
export function parseNodeUrl(url: string): NodeUrl {
  const m = /^(bins?):(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(url.trim());
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || !(port > 0 && port < 65536)) {
    throw new CoreError('TANDEM_ERR_CONFIG', `bad cluster node url ${JSON.stringify(url)}`);
  }
  const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
  return { tls: m[1] === 'bins', host, port };
}
