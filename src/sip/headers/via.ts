/**
 * Via (RFC 3261 §20.42, §25.1; rport RFC 3581; IPv6 RFC 5118 §4.5).
 *
 * ```
 * via-parm      = sent-protocol LWS sent-by *( SEMI via-params )
 * sent-protocol = protocol-name SLASH protocol-version SLASH transport
 * sent-by       = host [ COLON port ]
 * via-params    = via-ttl / via-maddr / via-received / via-branch / response-port / via-extension
 * SLASH = SWS "/" SWS    COLON = SWS ":" SWS
 * ```
 *
 * Every error is SIP_ERR_VIA, parameter errors included: a message whose Via cannot be read
 * cannot be answered (§18.2.1 routes responses by Via), and the caller needs to know that.
 */

import { SipParseError } from '../../core/errors.js';
import {
  DIGIT,
  TOKEN,
  isIPv4,
  parseIPv6,
  scanHost,
  scannedHost,
  scanSet,
  skipWs,
  upperSlice,
} from '../chars.js';
import { formatParams, parseParams } from '../params.js';
import type { Via } from '../types.js';

function fail(reason: string): never {
  throw new SipParseError('SIP_ERR_VIA', reason);
}

/** The RFC 3261 §8.1.1.7 magic cookie that starts every branch of an RFC 3261 client. */
export const BRANCH_COOKIE = 'z9hG4bK';

/** Parse `1*DIGIT` over the whole of `s` up to `max`, or return -1. */
function boundedNumber(s: string, max: number): number {
  const n = s.length;
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k);
    if (DIGIT[c] !== 1) {
      return -1;
    }
    v = v * 10 + c - 0x30;
    if (v > max) {
      return -1;
    }
  }
  return n === 0 ? -1 : v;
}

/** The index of the SLASH (`SWS "/" SWS`) after a sent-protocol token ending at `e`. */
function slashAfter(s: string, e: number): number {
  const k = skipWs(s, e);
  if (s.charCodeAt(k) !== 0x2f) {
    fail('Missing / in Via sent-protocol');
  }
  return k;
}

/** The end of the sent-protocol token at `i`, which must not be empty. */
function tokenEnd(s: string, i: number, what: string): number {
  const e = scanSet(s, i, TOKEN);
  if (e === i) {
    fail(`Missing ${what} in Via sent-protocol`);
  }
  return e;
}

const TRANSPORTS = ['UDP', 'TCP', 'TLS', 'SCTP', 'WS', 'WSS'];

/** The interned name of a common transport written in upper case at `s[a, b)`, if it is one. */
function knownTransport(s: string, a: number, b: number): string | undefined {
  const len = b - a;
  for (const t of TRANSPORTS) {
    if (t.length === len) {
      let k = 0;
      while (k < len && s.charCodeAt(a + k) === t.charCodeAt(k)) {
        k++;
      }
      if (k === len) {
        return t;
      }
    }
  }
  return undefined;
}

/** `SIP/2.0/` at `i`, exactly as nearly every element writes it. Character compares: in
 * optimised code they beat `startsWith`, which is a call into the runtime here. */
function isSip20Slash(s: string, i: number): boolean {
  return (
    s.charCodeAt(i) === 0x53 &&
    s.charCodeAt(i + 1) === 0x49 &&
    s.charCodeAt(i + 2) === 0x50 &&
    s.charCodeAt(i + 3) === 0x2f &&
    s.charCodeAt(i + 4) === 0x32 &&
    s.charCodeAt(i + 5) === 0x2e &&
    s.charCodeAt(i + 6) === 0x30 &&
    s.charCodeAt(i + 7) === 0x2f
  );
}

/** The known parameters must have their grammar; extensions are generic-params. */
function checkParams(via: Via): void {
  const p = via.params;
  // via-branch = "branch" EQUAL token
  const branch = p.get('branch');
  // parseParams stores a token, a quoted-string or an IPv6reference; the first byte tells which.
  if (branch !== undefined && (branch === null || TOKEN[branch.charCodeAt(0)] !== 1)) {
    fail('Bad Via branch');
  }
  // via-received = "received" EQUAL (IPv4address / IPv6address), or an IPv6reference (RFC 5118)
  const received = p.get('received');
  if (received !== undefined) {
    const r = received ?? '';
    const ok =
      r.charCodeAt(0) === 0x5b
        ? r.charCodeAt(r.length - 1) === 0x5d && parseIPv6(r, 1, r.length - 1, null)
        : isIPv4(r) || parseIPv6(r, 0, r.length, null);
    if (!ok) {
      fail('Bad Via received');
    }
  }
  // response-port = "rport" [EQUAL 1*DIGIT] (RFC 3581 §3)
  const rport = p.get('rport');
  if (rport !== undefined && rport !== null && boundedNumber(rport, 65535) < 0) {
    fail('Bad Via rport');
  }
  // ttl = 1*3DIGIT ; 0 to 255
  const ttl = p.get('ttl');
  if (ttl !== undefined && (ttl === null || ttl.length > 3 || boundedNumber(ttl, 255) < 0)) {
    fail('Bad Via ttl');
  }
  // via-maddr = "maddr" EQUAL host
  const maddr = p.get('maddr');
  if (maddr !== undefined && (maddr === null || scanHost(maddr, 0) !== maddr.length)) {
    fail('Bad Via maddr');
  }
}

/** Parse one via-parm starting at `start`; `end` is after it and its trailing whitespace. */
function parseAt(s: string, start: number): { via: Via; end: number } {
  const n = s.length;
  const ps = skipWs(s, start);
  if (ps === n || s.charCodeAt(ps) === 0x2c) {
    fail('Empty Via');
  }
  let protocol: string;
  let transport: string;
  let te: number;
  if (isSip20Slash(s, ps) && TOKEN[s.charCodeAt(ps + 8)] === 1) {
    // The form nearly every element writes: no case folding, and a constant for the usual
    // transports instead of a slice.
    const ts = ps + 8;
    te = scanSet(s, ts, TOKEN);
    protocol = 'SIP/2.0';
    transport = knownTransport(s, ts, te) ?? upperSlice(s, ts, te);
  } else {
    const ne = tokenEnd(s, ps, 'protocol name');
    const s1 = slashAfter(s, ne);
    const vs = skipWs(s, s1 + 1);
    const ve = tokenEnd(s, vs, 'protocol version');
    const s2 = slashAfter(s, ve);
    const ts = skipWs(s, s2 + 1);
    te = tokenEnd(s, ts, 'transport');
    protocol = upperSlice(s, ps, ne) + '/' + upperSlice(s, vs, ve);
    transport = upperSlice(s, ts, te);
  }
  // LWS sent-by
  const hs = skipWs(s, te);
  if (hs === te) {
    fail('Missing whitespace before Via sent-by');
  }
  const he = scanHost(s, hs);
  if (he < 0) {
    fail('Bad Via sent-by host');
  }
  const host = scannedHost(s, hs, he);
  let port: number | null = null;
  let i = skipWs(s, he);
  if (s.charCodeAt(i) === 0x3a) {
    const ds = skipWs(s, i + 1);
    const de = scanSet(s, ds, DIGIT);
    port = boundedNumber(s.slice(ds, de), 65535);
    if (port < 0) {
      fail('Bad Via sent-by port');
    }
    i = de;
  }
  const p = parseParams(s, i, 'SIP_ERR_VIA', 'received');
  const via: Via = { protocol, transport, host, port, params: p.params };
  if (p.params.size > 0) {
    checkParams(via);
  }
  return { via, end: p.end };
}

/** Parse a single Via value; anything after it (a second value, say) throws SIP_ERR_VIA. */
export function parseVia(value: string): Via {
  const r = parseAt(value, 0);
  if (r.end !== value.length) {
    fail('Unexpected character in Via');
  }
  return r.via;
}

/**
 * Parse a Via header value holding one or more comma-separated via-parms. RFC 4475 badinv01
 * (`SIP/2.0/UDP 192.0.2.15;;,;,,`) fails on its empty parameter name.
 */
export function parseViaList(value: string): Via[] {
  const out: Via[] = [];
  const n = value.length;
  let i = 0;
  for (;;) {
    const r = parseAt(value, i);
    out.push(r.via);
    if (r.end === n) {
      return out;
    }
    if (value.charCodeAt(r.end) !== 0x2c) {
      fail('Unexpected character in Via');
    }
    i = r.end + 1;
  }
}

/** Write a Via value: `SIP/2.0/UDP host:port;params`. */
export function formatVia(via: Via): string {
  const sentBy = via.port !== null ? `${via.host}:${via.port}` : via.host;
  return via.protocol + '/' + via.transport + ' ' + sentBy + formatParams(via.params);
}

/** The branch parameter, or null. */
export function viaBranch(via: Via): string | null {
  return via.params.get('branch') ?? null;
}

/** The received parameter as written (IPv6 with or without brackets), or null. */
export function viaReceived(via: Via): string | null {
  return via.params.get('received') ?? null;
}

/**
 * The rport parameter (RFC 3581): its port when it has one, `true` when present without a value
 * (the client asks for it to be filled in), null when absent.
 */
export function viaRport(via: Via): number | true | null {
  const v = via.params.get('rport');
  if (v === undefined) {
    return null;
  }
  return v === null ? true : Number(v);
}

/** `host[:port]` of the sent-by. */
export function viaSentBy(via: Via): string {
  return via.port !== null ? `${via.host}:${via.port}` : via.host;
}

/** True when the branch starts with the RFC 3261 magic cookie (§8.1.1.7, §17.2.3). */
export function hasRfc3261Branch(via: Via): boolean {
  const b = via.params.get('branch');
  return b !== undefined && b !== null && b.startsWith(BRANCH_COOKIE);
}
