/**
 * Address syntax shared by the config keys that name sockets and hosts: `listen` entries,
 * `advertise`, `aliases`, `dns.servers` and `mi.listen`. Pure string functions with no zod,
 * so the schema can turn each failure into an issue at the right key path.
 *
 * Forms accepted (IPv6 always in brackets when a port follows, as in a SIP URI, RFC 3261 §19.1.1):
 *   `127.0.0.1`  `127.0.0.1:5060`  `[::1]`  `[::1]:5060`  `sip.example.com:5060`
 *   `udp:127.0.0.1:5060`  `tls:[2001:db8::1]:5061`  `udp:10.0.0.5:5060 as 203.0.113.5:5060`
 */
import { isIP } from 'node:net';
import type { Protocol } from '../transport/types.js';

/** A `host[:port]` split into its parts; the port is still text so the caller can report it. */
export interface HostPortText {
  /** The host without IPv6 brackets. */
  host: string;
  port?: string;
}

/** The pieces of a `proto:host[:port][ as host[:port]]` listen string, still unvalidated. */
export interface ListenText {
  proto: string;
  host: string;
  port?: string;
  advertise?: string;
}

/** Result of a split: the parts, or the phrase for "expected …" that names what is wrong. */
export type Split<T> = { ok: true; value: T } | { ok: false; expected: string };

/** Default listen port per protocol when a listen string leaves it out (OpenSIPS does the same). */
export const DEFAULT_PORTS: Readonly<Record<Protocol, number>> = {
  udp: 5060,
  tcp: 5060,
  tls: 5061,
  ws: 80,
  wss: 443,
};

/**
 * Split `host`, `host:port`, `[v6]` or `[v6]:port`. A bare IPv6 literal without brackets is
 * accepted only when nothing follows it (it cannot carry a port unambiguously).
 */
export function splitHostPort(text: string): Split<HostPortText> {
  const expected = 'host[:port] with IPv6 in brackets, e.g. 192.0.2.1:5060 or [::1]:5060';
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) {
      return { ok: false, expected };
    }
    const host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (isIP(host) !== 6) {
      return { ok: false, expected: 'an IPv6 address inside the brackets' };
    }
    if (rest === '') {
      return { ok: true, value: { host } };
    }
    if (!rest.startsWith(':')) {
      return { ok: false, expected };
    }
    return { ok: true, value: { host, port: rest.slice(1) } };
  }
  const colon = text.indexOf(':');
  if (colon < 0) {
    return { ok: true, value: { host: text } };
  }
  if (text.indexOf(':', colon + 1) >= 0) {
    // Several colons: only a whole IPv6 literal is unambiguous.
    return isIP(text) === 6 ? { ok: true, value: { host: text } } : { ok: false, expected };
  }
  return { ok: true, value: { host: text.slice(0, colon), port: text.slice(colon + 1) } };
}

/** Split a listen string into protocol, host, port and the optional ` as ` advertised address. */
export function splitListen(text: string): Split<ListenText> {
  const expected = 'proto:host[:port], e.g. udp:127.0.0.1:5060 or tls:[::1]:5061';
  let socket = text.trim();
  let advertise: string | undefined;
  const as = / as /i.exec(socket);
  if (as) {
    advertise = socket.slice(as.index + 4).trim();
    socket = socket.slice(0, as.index).trim();
  }
  const colon = socket.indexOf(':');
  // The protocol is a word; `127.0.0.1:5060` (no protocol) fails here, not as protocol "127.0.0.1".
  if (colon <= 0 || !/^[a-z]+$/i.test(socket.slice(0, colon))) {
    return { ok: false, expected };
  }
  const address = splitHostPort(socket.slice(colon + 1));
  if (!address.ok) {
    return { ok: false, expected };
  }
  const value: ListenText = { proto: socket.slice(0, colon).toLowerCase(), ...address.value };
  if (advertise !== undefined) {
    value.advertise = advertise;
  }
  return { ok: true, value };
}

/** A port written as decimal digits becomes a number; anything else stays text for the error. */
export function portValue(text: string): number | string {
  return /^[0-9]{1,5}$/.test(text) ? Number(text) : text;
}

/** True for an IPv4 or IPv6 literal (without brackets), including `0.0.0.0` and `::`. */
export function isIpLiteral(host: string): boolean {
  return isIP(host) !== 0;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * True for an IP literal or a DNS host name (RFC 1123 labels, at most 253 characters, an
 * optional trailing dot). Labels are checked one by one, so no pattern can backtrack.
 */
export function isHostName(host: string): boolean {
  if (isIpLiteral(host)) {
    return true;
  }
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) {
    return false;
  }
  return name.split('.').every((label) => LABEL.test(label));
}

/** `host:port` with IPv6 in brackets, as error messages and socket ids write it. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
