/**
 * Address headers: From, To, Contact, Route, Record-Route, Path, Reply-To, Refer-To,
 * P-Asserted-Identity (RFC 3261 §20.10, §20.20, §20.30, §20.34, §20.39, §25.1).
 *
 * ```
 * from-spec    = ( name-addr / addr-spec ) *( SEMI from-param )
 * name-addr    = [ display-name ] LAQUOT addr-spec RAQUOT
 * display-name = *(token LWS) / quoted-string
 * LAQUOT       = SWS "<"    RAQUOT = ">" SWS
 * ```
 */

import { SipParseError } from '../../core/errors.js';
import { bytesOf, scanSetB, skipWsB, trimEndWsB } from '../bytes.js';
import { TOKEN, quoteString, unquoteRange } from '../chars.js';
import {
  WANT_NO_VALUE,
  findParamAt,
  formatParams,
  paramsEnd,
  parseParamsAt,
  quotedEndB,
  wantedFrom,
  wantedTo,
} from '../params.js';
import { formatUri, parseUriAt } from '../uri.js';
import { EMPTY_PARAMS, type ContactValue, type NameAddr, type Params } from '../types.js';

function fail(reason: string): never {
  throw new SipParseError('SIP_ERR_NAME_ADDR', reason);
}

/** Every byte but `stops`: the table for a run that ends at the first of them. */
function allBut(stops: string): Uint8Array {
  const t = new Uint8Array(256).fill(1);
  for (let k = 0; k < stops.length; k++) {
    t[stops.charCodeAt(k)] = 0;
  }
  return t;
}

/** What may run inside `<...>`: it ends at ">", and whitespace there is an error. */
const IN_ANGLES = allBut('> \t');
/** What may run in an unbracketed addr-spec: ";", "," or whitespace ends it, "?" is an error. */
const IN_BARE = allBut(';, \t?');

// What the last scanAddress call found (module slots rather than a result object: the tag
// readers run on every message and need none of it).
let aDisplay: string | null = null;
let aQuoted = false;
let aUriFrom = 0;
let aUriTo = 0;
let aBracketed = false;
let aParams: Params = EMPTY_PARAMS;

/**
 * Scan one address element starting at `start` in `b[.., n)` and return the index after it and
 * the whitespace following it. With `full`, the display name and the parameter map are built
 * (in the slots above); without, the syntax is still checked in full but only the range of the
 * header parameter `want` is kept (see findParamAt). The URI is located, never parsed here. URI
 * errors surface as SIP_ERR_URI when the caller parses it and header parameter errors as
 * SIP_ERR_PARAM; everything else about the address is SIP_ERR_NAME_ADDR.
 */
function scanAddress(
  s: string,
  b: Uint8Array,
  start: number,
  n: number,
  full: boolean,
  want: string,
): number {
  const tok = TOKEN;
  let i = skipWsB(b, start, n);
  aDisplay = null;
  aQuoted = false;
  const c = i < n ? b[i]! : -1;
  if (c === 0x22) {
    const e = quotedEndB(b, i, n, 'SIP_ERR_NAME_ADDR');
    if (full) {
      aDisplay = unquoteRange(s, i + 1, e - 1);
    }
    aQuoted = true;
    i = skipWsB(b, e, n);
    if (i >= n || b[i] !== 0x3c) {
      fail('Missing < after quoted display name');
    }
  } else if (c !== 0x3c) {
    const ts = i;
    i = scanSetB(b, i, n, tok);
    if (i === ts) {
      fail(i === n || c === 0x2c ? 'Empty address' : 'Bad character at start of address');
    }
    if (i < n && b[i] === 0x3a) {
      // A token followed by ":" is a URI scheme: the addr-spec form, without angle brackets.
      return scanBare(s, b, ts, n, full, want);
    }
    // display-name = *(token LWS): runs of whitespace fold to one SP; the name is rebuilt only
    // when a separator is not already a single SP, so the usual case is one slice.
    let tokenEnd = i;
    let name: string | null = null;
    for (;;) {
      i = skipWsB(b, tokenEnd, n);
      const d = i < n ? b[i]! : -1;
      if (d === 0x3c) {
        break;
      }
      if (d < 0 || tok[d] !== 1) {
        fail(i === n ? 'Missing <addr-spec> after display name' : 'Bad character in display name');
      }
      const tokenStart = i;
      i = scanSetB(b, i, n, tok);
      if (!full) {
        // Only the syntax matters.
      } else if (name !== null) {
        name += ' ' + s.slice(tokenStart, i);
      } else if (tokenStart - tokenEnd !== 1 || b[tokenEnd] !== 0x20) {
        name = s.slice(ts, tokenEnd) + ' ' + s.slice(tokenStart, i);
      }
      tokenEnd = i;
    }
    if (full) {
      aDisplay = name ?? s.slice(ts, tokenEnd);
    }
  }
  // LAQUOT addr-spec RAQUOT: nothing but the URI between the brackets (RFC 4475 badaspec).
  const us = i + 1;
  const j = scanSetB(b, us, n, IN_ANGLES);
  if (j === n) {
    fail('Unterminated <addr-spec>');
  }
  if (b[j] !== 0x3e) {
    fail('Whitespace inside <addr-spec>');
  }
  aUriFrom = us;
  aUriTo = j;
  aBracketed = true;
  return scanHeaderParams(s, b, j + 1, n, full, want);
}

/**
 * addr-spec without brackets. RFC 3261 §20.10: parameters after it belong to the header, and a
 * URI containing a comma, question mark or semicolon must be bracketed, so the URI ends at the
 * first ";", "," or whitespace and a "?" in it is an error.
 */
function scanBare(
  s: string,
  b: Uint8Array,
  start: number,
  n: number,
  full: boolean,
  want: string,
): number {
  const j = scanSetB(b, start, n, IN_BARE);
  if (j < n && b[j] === 0x3f) {
    fail('URI with ? must be enclosed in <>');
  }
  aUriFrom = start;
  aUriTo = j;
  aBracketed = false;
  return scanHeaderParams(s, b, j, n, full, want);
}

function scanHeaderParams(
  s: string,
  b: Uint8Array,
  i: number,
  n: number,
  full: boolean,
  want: string,
): number {
  if (!full) {
    return findParamAt(s, b, i, n, 'SIP_ERR_PARAM', want);
  }
  aParams = parseParamsAt(s, b, i, n, 'SIP_ERR_PARAM');
  return paramsEnd;
}

/** The NameAddr of the element the last full scanAddress call found. */
function scanned(s: string, b: Uint8Array): NameAddr {
  return {
    displayName: aDisplay,
    quoted: aQuoted,
    uri: parseUriAt(s, b, aUriFrom, aUriTo),
    uriText: s.slice(aUriFrom, aUriTo),
    bracketed: aBracketed,
    params: aParams,
  };
}

/**
 * Parse a single address element: `[display-name] <addr-spec> *(;param)` or
 * `addr-spec *(;param)`. Anything left over (a second element after a comma, for instance)
 * throws SIP_ERR_NAME_ADDR.
 */
export function parseNameAddr(value: string): NameAddr {
  return parseNameAddrAt(value, bytesOf(value), 0, value.length);
}

/** {@link parseNameAddr} over `b[from, to)` (see src/sip/bytes.ts); whitespace around allowed. */
export function parseNameAddrAt(s: string, b: Uint8Array, from: number, to: number): NameAddr {
  const n = trimEndWsB(b, from, to);
  if (scanAddress(s, b, from, n, true, '') !== n) {
    fail('Unexpected character after address');
  }
  return scanned(s, b);
}

/**
 * The value of the header parameter `want` (lower-case) of a single address element over
 * `b[from, to)`: undefined when absent, null when written without a value. The address syntax
 * around the URI is checked in full, the URI itself only when the full address is parsed.
 */
export function addressParamAt(
  s: string,
  b: Uint8Array,
  from: number,
  to: number,
  want: string,
): string | null | undefined {
  const n = trimEndWsB(b, from, to);
  if (scanAddress(s, b, from, n, false, want) !== n) {
    fail('Unexpected character after address');
  }
  const at = wantedFrom;
  return at >= 0 ? s.slice(at, wantedTo) : at === WANT_NO_VALUE ? null : undefined;
}

/**
 * Parse a comma-separated list of addresses (Route, Record-Route, Path, Contact): at least one,
 * and no empty elements.
 */
export function parseNameAddrList(value: string): NameAddr[] {
  return parseNameAddrListAt(value, bytesOf(value), 0, value.length);
}

/** {@link parseNameAddrList} over `b[from, to)`; whitespace around allowed. */
export function parseNameAddrListAt(
  s: string,
  b: Uint8Array,
  from: number,
  to: number,
): NameAddr[] {
  const n = trimEndWsB(b, from, to);
  const out: NameAddr[] = [];
  let i = from;
  for (;;) {
    const end = scanAddress(s, b, i, n, true, '');
    out.push(scanned(s, b));
    if (end === n) {
      return out;
    }
    if (b[end] !== 0x2c) {
      fail('Unexpected character after address');
    }
    i = end + 1;
  }
}

/**
 * Check the syntax of a Contact value over `b[from, to)` (`*` or a list of addresses, whitespace
 * around allowed) without parsing the URIs, and return how many addresses it holds (0 for `*`).
 * A proxy that does not act on Contact checks only this much; the registrar parses the full
 * value.
 */
export function checkContactSyntaxAt(s: string, b: Uint8Array, from: number, to: number): number {
  const a = skipWsB(b, from, to);
  const n = trimEndWsB(b, a, to);
  if (n === a + 1 && b[a] === 0x2a) {
    return 0;
  }
  let count = 0;
  let i = a;
  for (;;) {
    const end = scanAddress(s, b, i, n, false, '');
    count++;
    if (end === n) {
      return count;
    }
    if (b[end] !== 0x2c) {
      fail('Unexpected character after address');
    }
    i = end + 1;
  }
}

/** Contact = "Contact" HCOLON ( STAR / (contact-param *(COMMA contact-param))) (§20.10). */
export function parseContact(value: string): ContactValue {
  return parseContactAt(value, bytesOf(value), 0, value.length);
}

/** {@link parseContact} over `b[from, to)`; whitespace around allowed. */
export function parseContactAt(s: string, b: Uint8Array, from: number, to: number): ContactValue {
  const a = skipWsB(b, from, to);
  const n = trimEndWsB(b, a, to);
  if (n === a + 1 && b[a] === 0x2a) {
    return { star: true };
  }
  return { star: false, contacts: parseNameAddrListAt(s, b, a, n) };
}

/** True when `s` is tokens separated by single SPs: a display name that needs no quotes. */
function isTokenPhrase(s: string): boolean {
  const n = s.length;
  let prevSpace = true;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x20) {
      if (prevSpace) {
        return false;
      }
      prevSpace = true;
    } else if (TOKEN[c] === 1) {
      prevSpace = false;
    } else {
      return false;
    }
  }
  return !prevSpace;
}

/**
 * Write an address back. The URI is always bracketed (always valid, whatever it contains); the
 * display name is written bare when it was not quoted and is a plain token phrase, else quoted
 * with `"` and `\` escaped.
 */
export function formatNameAddr(na: NameAddr): string {
  let out = '<' + formatUri(na.uri) + '>' + formatParams(na.params);
  const dn = na.displayName;
  if (dn !== null && (na.quoted || dn !== '')) {
    out = (!na.quoted && isTokenPhrase(dn) ? dn : quoteString(dn)) + ' ' + out;
  }
  return out;
}

/** Write a Contact value: `*` or the addresses separated by `, `. */
export function formatContact(value: ContactValue): string {
  return value.star ? '*' : value.contacts.map(formatNameAddr).join(', ');
}

/** The `tag` parameter (From/To, RFC 3261 §19.3), or null when absent or valueless. */
export function tagOf(na: NameAddr): string | null {
  return na.params.get('tag') ?? null;
}
