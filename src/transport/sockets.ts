/**
 * Listen specs and the {@link SocketInfo} each bound socket is described by: parsing
 * `udp:127.0.0.1:5060` / `tls:[::1]:5061` strings, socket ids, and the address helpers the rest
 * of the transport shares (IPv6 brackets, address families, connection-table keys).
 */
import { isIP } from 'node:net';
import { CoreError } from '../core/errors.js';
import { PROTOCOLS, type ListenSpec, type Protocol, type SocketInfo } from './types.js';

/**
 * RFC 3261 §19.1.2 / §18.2.1: port 5060 for UDP and TCP, 5061 for TLS when a sent-by or URI
 * names none. RFC 7118 §7 leaves WebSocket ports to HTTP: 80 for ws, 443 for wss.
 */
export function defaultPort(protocol: Protocol): number {
  switch (protocol) {
    case 'tls':
      return 5061;
    case 'ws':
      return 80;
    case 'wss':
      return 443;
    case 'udp':
    case 'tcp':
      return 5060;
  }
}

/** The default port for a Via transport token (`UDP`, `TLS`, ...), as §18.2.2 applies it. */
export function defaultPortForVia(transport: string): number {
  const p = transport.toLowerCase();
  return (PROTOCOLS as readonly string[]).includes(p) ? defaultPort(p as Protocol) : 5060;
}

/** The family of an IP literal; the transport only ever sees literals, so a colon means IPv6. */
export function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

/** `host` with brackets when it is an IPv6 literal (for ids, Via sent-by and URLs). */
export function bracketHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** `host` without the brackets of an IPv6 reference. */
export function unbracketHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * An IP literal in one canonical spelling (IPv6 compressed and lower-cased, no brackets), so
 * that `[2001:DB8:0::1]` and `2001:db8::1` compare equal. Names and IPv4 come back as given
 * (lower-cased), which keeps the common IPv4 case free of work.
 */
export function canonicalAddress(address: string): string {
  const a = unbracketHost(address).toLowerCase();
  if (!a.includes(':')) {
    return a;
  }
  try {
    // WHATWG URL parsing is the one IPv6 canonicaliser Node ships (RFC 5952 form).
    return unbracketHost(new URL(`http://[${a}]/`).hostname);
  } catch {
    return a;
  }
}

/** True when two addresses (either may be bracketed) name the same IP. */
export function sameAddress(a: string, b: string): boolean {
  if (a === b) {
    return true;
  }
  // The fast compare failed: only IPv6 spellings or brackets can still make them equal.
  return (a.includes(':') || b.includes(':')) && canonicalAddress(a) === canonicalAddress(b);
}

/** `<protocol>:<host>:<port>` with IPv6 in brackets, as {@link SocketInfo.id} is defined. */
export function socketId(protocol: Protocol, host: string, port: number): string {
  return `${protocol}:${bracketHost(host)}:${port}`;
}

/** The key of a stream connection (or an alias of one) in the connection table. */
export function connectionKey(protocol: Protocol, address: string, port: number): string {
  return `${protocol} ${canonicalAddress(address)} ${port}`;
}

function isProtocol(s: string): s is Protocol {
  return (PROTOCOLS as readonly string[]).includes(s);
}

function parsePort(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new CoreError('TANDEM_ERR_CONFIG', `${what}: port must be 0..65535, got "${text}"`);
  }
  return Number(text);
}

/** Split `host:port` or `[v6]:port` (port optional when `portOptional`). */
function splitHostPort(
  text: string,
  what: string,
  portOptional: boolean,
): { host: string; port: number | null } {
  let host: string;
  let rest: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) {
      throw new CoreError('TANDEM_ERR_CONFIG', `${what}: unterminated IPv6 reference`);
    }
    host = text.slice(1, close);
    rest = text.slice(close + 1);
  } else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    rest = colon < 0 ? '' : text.slice(colon);
    if (host.includes(':')) {
      throw new CoreError('TANDEM_ERR_CONFIG', `${what}: write IPv6 addresses in brackets`);
    }
  }
  if (host.length === 0) {
    throw new CoreError('TANDEM_ERR_CONFIG', `${what}: missing host`);
  }
  if (rest === '') {
    if (!portOptional) {
      throw new CoreError('TANDEM_ERR_CONFIG', `${what}: missing port`);
    }
    return { host, port: null };
  }
  if (!rest.startsWith(':')) {
    throw new CoreError('TANDEM_ERR_CONFIG', `${what}: expected ":port" after the host`);
  }
  return { host, port: parsePort(rest.slice(1), what) };
}

/**
 * Parse a listen string: `proto:host:port`, IPv6 in brackets (`tls:[::1]:5061`). The host must
 * be an IP literal (`0.0.0.0` and `::` bind every address); an advertised address is set apart,
 * with {@link parseAdvertise}. Errors are CoreError('TANDEM_ERR_CONFIG') naming the text and
 * what was expected.
 */
export function parseListenSpec(text: string): ListenSpec {
  const colon = text.indexOf(':');
  const proto = colon < 0 ? '' : text.slice(0, colon).toLowerCase();
  if (!isProtocol(proto)) {
    throw new CoreError(
      'TANDEM_ERR_CONFIG',
      `listen "${text}": expected <${PROTOCOLS.join('|')}>:<ip>:<port>`,
    );
  }
  const { host, port } = splitHostPort(text.slice(colon + 1), `listen "${text}"`, false);
  if (isIP(host) === 0) {
    throw new CoreError('TANDEM_ERR_CONFIG', `listen "${text}": host must be an IP literal`);
  }
  return { protocol: proto, host, port: port ?? 0 };
}

/** Parse an advertise value `host[:port]` (a name, an IPv4 or a bracketed IPv6). */
export function parseAdvertise(text: string): { host: string; port?: number } {
  const { host, port } = splitHostPort(text, `advertise "${text}"`, true);
  return port === null ? { host } : { host, port };
}

/** Check a spec the caller built as an object; throws TANDEM_ERR_CONFIG naming the problem. */
export function checkListenSpec(spec: ListenSpec): void {
  const what = `listen ${spec.protocol}:${bracketHost(spec.host)}:${spec.port}`;
  if (!isProtocol(spec.protocol)) {
    throw new CoreError('TANDEM_ERR_CONFIG', `${what}: unknown protocol`);
  }
  if (isIP(spec.host) === 0) {
    throw new CoreError('TANDEM_ERR_CONFIG', `${what}: host must be an IP literal`);
  }
  if (!Number.isInteger(spec.port) || spec.port < 0 || spec.port > 65535) {
    throw new CoreError('TANDEM_ERR_CONFIG', `${what}: port must be 0..65535`);
  }
  const adv = spec.advertise;
  if (adv !== undefined) {
    if (adv.host.length === 0 || /[\s;,]/.test(adv.host)) {
      throw new CoreError('TANDEM_ERR_CONFIG', `${what}: bad advertise host "${adv.host}"`);
    }
    if (
      adv.port !== undefined &&
      (!Number.isInteger(adv.port) || adv.port < 1 || adv.port > 65535)
    ) {
      throw new CoreError('TANDEM_ERR_CONFIG', `${what}: advertise port must be 1..65535`);
    }
  }
}

/** The SocketInfo of a socket bound for `spec` on `port` (the real one when 0 was asked). */
export function makeSocketInfo(spec: ListenSpec, port: number): SocketInfo {
  const family = isIP(spec.host) === 6 ? 6 : 4;
  const adv = spec.advertise;
  return Object.freeze({
    id: socketId(spec.protocol, spec.host, port),
    protocol: spec.protocol,
    host: spec.host,
    port,
    family,
    sentByHost: bracketHost(adv?.host ?? spec.host),
    sentByPort: adv?.port ?? port,
  });
}

/** True for `0.0.0.0` and `::`, which bind every local address. */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || canonicalAddress(host) === '::';
}
