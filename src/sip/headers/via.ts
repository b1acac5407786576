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
  boundedNumberB,
  bytesOf,
  hostHadUpper,
  scanHostB,
  scanSetB,
  skipWsB,
  trimEndWsB,
} from '../bytes.js';
import { DIGIT, TOKEN, isIPv4, lowerSlice, parseIPv6, upperSlice } from '../chars.js';
import { formatParams, paramsEnd, parseParamsAt } from '../params.js';
import type { Params, Via } from '../types.js';

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
function slashAfter(b: Uint8Array, e: number, n: number): number {
  const k = skipWsB(b, e, n);
  if (k >= n || b[k] !== 0x2f) {
    fail('Missing / in Via sent-protocol');
  }
  return k;
}

/** The end of the sent-protocol token at `i`, which must not be empty. */
function tokenEnd(b: Uint8Array, i: number, n: number, what: string): number {
  const e = scanSetB(b, i, n, TOKEN);
  if (e === i) {
    fail(`Missing ${what} in Via sent-protocol`);
  }
  return e;
}

/**
 * The interned name of a common transport written in upper case at `b[a, e)`, if it is one:
 * UDP, TCP, TLS, SCTP, WS, WSS.
 */
function knownTransport(b: Uint8Array, a: number, e: number): string | undefined {
  const c0 = b[a];
  switch (e - a) {
    case 2:
      return c0 === 0x57 && b[a + 1] === 0x53 ? 'WS' : undefined;
    case 3: {
      const c1 = b[a + 1];
      const c2 = b[a + 2];
      if (c0 === 0x55) {
        return c1 === 0x44 && c2 === 0x50 ? 'UDP' : undefined;
      }
      if (c0 === 0x54) {
        return c1 === 0x43 && c2 === 0x50 ? 'TCP' : c1 === 0x4c && c2 === 0x53 ? 'TLS' : undefined;
      }
      return c0 === 0x57 && c1 === 0x53 && c2 === 0x53 ? 'WSS' : undefined;
    }
    case 4:
      return c0 === 0x53 && b[a + 1] === 0x43 && b[a + 2] === 0x54 && b[a + 3] === 0x50
        ? 'SCTP'
        : undefined;
    default:
      return undefined;
  }
}

/** `SIP/2.0/` at `i` (before `n`), exactly as nearly every element writes it. */
function isSip20Slash(b: Uint8Array, i: number, n: number): boolean {
  return (
    i + 8 < n &&
    b[i] === 0x53 &&
    b[i + 1] === 0x49 &&
    b[i + 2] === 0x50 &&
    b[i + 3] === 0x2f &&
    b[i + 4] === 0x32 &&
    b[i + 5] === 0x2e &&
    b[i + 6] === 0x30 &&
    b[i + 7] === 0x2f
  );
}

/**
 * The known parameters must have their grammar; extensions are generic-params. Most Vias carry
 * branch and perhaps rport or received, so the checks stop as soon as every parameter present
 * has been looked at.
 */
function checkParams(p: Params): void {
  const size = p.size;
  let seen = 0;
  // via-branch = "branch" EQUAL token
  const branch = p.get('branch');
  if (branch !== undefined) {
    // parseParams stores a token, a quoted-string or an IPv6reference; the first byte tells.
    if (branch === null || TOKEN[branch.charCodeAt(0)] !== 1) {
      fail('Bad Via branch');
    }
    if (++seen === size) {
      return;
    }
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
    if (++seen === size) {
      return;
    }
  }
  // response-port = "rport" [EQUAL 1*DIGIT] (RFC 3581 §3)
  const rport = p.get('rport');
  if (rport !== undefined) {
    if (rport !== null && boundedNumber(rport, 65535) < 0) {
      fail('Bad Via rport');
    }
    if (seen + 1 === size) {
      return;
    }
  }
  // ttl = 1*3DIGIT ; 0 to 255
  const ttl = p.get('ttl');
  if (ttl !== undefined && (ttl === null || ttl.length > 3 || boundedNumber(ttl, 255) < 0)) {
    fail('Bad Via ttl');
  }
  // via-maddr = "maddr" EQUAL host
  const maddr = p.get('maddr');
  if (
    maddr !== undefined &&
    (maddr === null || scanHostB(maddr, bytesOf(maddr), 0, maddr.length) !== maddr.length)
  ) {
    fail('Bad Via maddr');
  }
}

/** Where the last {@link parseAt} call stopped: after the via-parm and its trailing whitespace. */
let parsedEnd = 0;

/** Parse one via-parm starting at `start` in `b[.., n)`; {@link parsedEnd} is set after it. */
function parseAt(s: string, b: Uint8Array, start: number, n: number): Via {
  const ps = skipWsB(b, start, n);
  if (ps === n || b[ps] === 0x2c) {
    fail('Empty Via');
  }
  let protocol: string;
  let transport: string;
  let te: number;
  if (isSip20Slash(b, ps, n) && TOKEN[b[ps + 8]!] === 1) {
    // The form nearly every element writes: no case folding, and a constant for the usual
    // transports instead of a slice.
    const ts = ps + 8;
    te = scanSetB(b, ts, n, TOKEN);
    protocol = 'SIP/2.0';
    transport = knownTransport(b, ts, te) ?? upperSlice(s, ts, te);
  } else {
    const ne = tokenEnd(b, ps, n, 'protocol name');
    const s1 = slashAfter(b, ne, n);
    const vs = skipWsB(b, s1 + 1, n);
    const ve = tokenEnd(b, vs, n, 'protocol version');
    const s2 = slashAfter(b, ve, n);
    const ts = skipWsB(b, s2 + 1, n);
    te = tokenEnd(b, ts, n, 'transport');
    protocol = upperSlice(s, ps, ne) + '/' + upperSlice(s, vs, ve);
    transport = upperSlice(s, ts, te);
  }
  // LWS sent-by
  const hs = skipWsB(b, te, n);
  if (hs === te) {
    fail('Missing whitespace before Via sent-by');
  }
  const he = scanHostB(s, b, hs, n);
  if (he < 0) {
    fail('Bad Via sent-by host');
  }
  const host = hostHadUpper ? lowerSlice(s, hs, he) : s.slice(hs, he);
  let port: number | null = null;
  let i = skipWsB(b, he, n);
  if (i < n && b[i] === 0x3a) {
    const ds = skipWsB(b, i + 1, n);
    const de = scanSetB(b, ds, n, DIGIT);
    port = boundedNumberB(b, ds, de, 65535);
    if (port < 0) {
      fail('Bad Via sent-by port');
    }
    i = de;
  }
  const params = parseParamsAt(s, b, i, n, 'SIP_ERR_VIA', 'received');
  parsedEnd = paramsEnd;
  if (params.size > 0) {
    checkParams(params);
  }
  return { protocol, transport, host, port, params };
}

/** Parse a single Via value; anything after it (a second value, say) throws SIP_ERR_VIA. */
export function parseVia(value: string): Via {
  const via = parseAt(value, bytesOf(value), 0, value.length);
  if (parsedEnd !== value.length) {
    fail('Unexpected character in Via');
  }
  return via;
}

/**
 * Parse a Via header value holding one or more comma-separated via-parms. RFC 4475 badinv01
 * (`SIP/2.0/UDP 192.0.2.15;;,;,,`) fails on its empty parameter name.
 */
export function parseViaList(value: string): Via[] {
  return parseViaListAt(value, bytesOf(value), 0, value.length);
}

/** {@link parseViaList} over `b[from, to)` (see src/sip/bytes.ts); whitespace around allowed. */
export function parseViaListAt(s: string, b: Uint8Array, from: number, to: number): Via[] {
  const n = trimEndWsB(b, from, to);
  const out: Via[] = [];
  let i = from;
  for (;;) {
    out.push(parseAt(s, b, i, n));
    const end = parsedEnd;
    if (end === n) {
      return out;
    }
    if (b[end] !== 0x2c) {
      fail('Unexpected character in Via');
    }
    i = end + 1;
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
