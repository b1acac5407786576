/**
 * Header parameters: `*( SEMI generic-param )` (RFC 3261 §25.1), shared by Via, the name-addr
 * headers, Event, Subscription-State, Content-Type and Content-Disposition.
 *
 * ```
 * generic-param  =  token [ EQUAL gen-value ]
 * gen-value      =  token / host / quoted-string
 * SEMI           =  SWS ";" SWS
 * EQUAL          =  SWS "=" SWS
 * ```
 *
 * A quoted-string value is stored WITH its quotes and escapes, exactly as written, so that a
 * header rebuilt from the map says what the sender said (`;+sip.instance="<urn:uuid:...>"` must
 * not lose its quotes, and `;x="a"` and `;x=a` are different values to some peers). Use
 * {@link unquoteParam} to read the text inside.
 */

import { SipParseError } from '../core/errors.js';
import type { SipErrorCode } from '../core/errors.js';
import {
  IPV6CHAR,
  QUOTE_UNTERMINATED,
  TOKEN,
  asciiLower,
  parseIPv6,
  scanQuoted,
  scanSet,
  skipWs,
  unquoteRange,
} from './chars.js';
import { EMPTY_PARAMS, type Params } from './types.js';

/** Result of {@link parseParams}: the parameters and the index where parsing stopped. */
export interface ParsedParams {
  params: Params;
  /** Index of the first character after the parameters and any whitespace following them. */
  end: number;
}

/** token plus ":" — the characters of an unbracketed IPv6address or IPv4address value. */
const TOKEN_COLON = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  TOKEN_COLON[c] = TOKEN[c] === 1 || c === 0x3a ? 1 : 0;
}

/**
 * Scan the quoted-string whose opening DQUOTE is at `i` and return the index after its closing
 * DQUOTE, or throw `code` naming the problem (unterminated, or a character quoted-strings forbid).
 */
export function quotedEnd(s: string, i: number, code: SipErrorCode): number {
  const e = scanQuoted(s, i);
  if (e === QUOTE_UNTERMINATED) {
    throw new SipParseError(code, 'Unterminated quoted-string');
  }
  if (e < 0) {
    throw new SipParseError(code, 'Bad character in quoted-string');
  }
  return e;
}

/**
 * Parse `*( SEMI generic-param )` starting at `start` (whitespace before the first `;` allowed).
 * Stops at the first character after whitespace that is not `;` and reports its index in `end`;
 * the caller decides whether that character (`,`, end of value, ...) is acceptable.
 *
 * Names are lower-cased, values kept as written (quoted-strings with their quotes), a name
 * without `=value` maps to null, and the first of repeated names wins. `;;`, a `;` with no name
 * and `name=` with no value throw `code`.
 *
 * @param bareIpv6Name a parameter whose value may be an unbracketed IPv6address: Via `received`
 *   (RFC 3261 §20.42 `via-received = "received" EQUAL (IPv4address / IPv6address)`).
 */
export function parseParams(
  s: string,
  start: number,
  code: SipErrorCode = 'SIP_ERR_PARAM',
  bareIpv6Name?: string,
): ParsedParams {
  // Most elements carry no parameters or one; the Map is made when the first one appears.
  let params: Map<string, string | null> | null = null;
  const n = s.length;
  let i = skipWs(s, start);
  while (i < n && s.charCodeAt(i) === 0x3b) {
    i = skipWs(s, i + 1);
    const ns = i;
    let upper = false;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (TOKEN[c] !== 1) {
        break;
      }
      upper ||= c >= 0x41 && c <= 0x5a;
    }
    if (i === ns) {
      throw new SipParseError(code, 'Empty parameter name');
    }
    // Names are case-insensitive (RFC 3261 §7.3.1); lower-case only when there is something to.
    const name = upper ? asciiLower(s.slice(ns, i)) : s.slice(ns, i);
    i = skipWs(s, i);
    let value: string | null = null;
    if (i < n && s.charCodeAt(i) === 0x3d) {
      i = skipWs(s, i + 1);
      const vs = i;
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i = quotedEnd(s, i, code);
      } else if (c === 0x5b) {
        // host = IPv6reference = "[" IPv6address "]" (RFC 5118 §4.5: received=[2001:db8::9:255])
        const j = scanSet(s, i + 1, IPV6CHAR);
        if (s.charCodeAt(j) !== 0x5d || !parseIPv6(s, i + 1, j, null)) {
          throw new SipParseError(code, 'Bad IPv6 reference in parameter value');
        }
        i = j + 1;
      } else {
        // token, and hostname / IPv4address, which are made of token characters.
        i = scanSet(s, i, bareIpv6Name === name ? TOKEN_COLON : TOKEN);
      }
      if (i === vs) {
        throw new SipParseError(code, 'Empty parameter value');
      }
      value = s.slice(vs, i);
      i = skipWs(s, i);
    }
    if (params === null) {
      params = new Map<string, string | null>();
      params.set(name, value);
    } else if (!params.has(name)) {
      params.set(name, value);
    }
  }
  return { params: params ?? EMPTY_PARAMS, end: i };
}

/**
 * Format parameters as `;name` / `;name=value`, values exactly as stored (quoted-strings keep
 * their quotes). Also used for URI parameters, whose values are stored escaped.
 */
export function formatParams(params: Params): string {
  let out = '';
  for (const [name, value] of params) {
    out += value === null ? ';' + name : ';' + name + '=' + value;
  }
  return out;
}

/**
 * The text of a stored parameter value: a quoted-string loses its quotes and has its quoted-pairs
 * resolved; anything else is returned unchanged.
 */
export function unquoteParam(value: string): string {
  const n = value.length;
  if (n >= 2 && value.charCodeAt(0) === 0x22 && value.charCodeAt(n - 1) === 0x22) {
    return unquoteRange(value, 1, n - 1);
  }
  return value;
}
