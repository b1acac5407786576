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
import { TOKEN, quoteString, scanSet, skipWs, trimEndWs, unquoteRange } from '../chars.js';
import { formatParams, parseParams, quotedEnd } from '../params.js';
import { formatUri, parseUri } from '../uri.js';
import type { ContactValue, NameAddr, Params } from '../types.js';

function fail(reason: string): never {
  throw new SipParseError('SIP_ERR_NAME_ADDR', reason);
}

/** An address element with its URI still unparsed. */
interface Parsed {
  displayName: string | null;
  quoted: boolean;
  uriText: string;
  bracketed: boolean;
  params: Params;
  /** Index after the element and the whitespace following it. */
  end: number;
}

function toNameAddr(r: Parsed): NameAddr {
  return {
    displayName: r.displayName,
    quoted: r.quoted,
    uri: parseUri(r.uriText),
    uriText: r.uriText,
    bracketed: r.bracketed,
    params: r.params,
  };
}

/**
 * Parse one element starting at `start`. URI errors surface as SIP_ERR_URI and header parameter
 * errors as SIP_ERR_PARAM; everything else about the address is SIP_ERR_NAME_ADDR.
 */
function parseAt(s: string, start: number): Parsed {
  const n = s.length;
  let i = skipWs(s, start);
  let displayName: string | null = null;
  let quoted = false;
  const c = s.charCodeAt(i);
  if (c === 0x22) {
    const e = quotedEnd(s, i, 'SIP_ERR_NAME_ADDR');
    displayName = unquoteRange(s, i + 1, e - 1);
    quoted = true;
    i = skipWs(s, e);
    if (s.charCodeAt(i) !== 0x3c) {
      fail('Missing < after quoted display name');
    }
  } else if (c !== 0x3c) {
    const ts = i;
    i = scanSet(s, i, TOKEN);
    if (i === ts) {
      fail(i === n || c === 0x2c ? 'Empty address' : 'Bad character at start of address');
    }
    if (s.charCodeAt(i) === 0x3a) {
      // A token followed by ":" is a URI scheme: the addr-spec form, without angle brackets.
      return parseBare(s, ts);
    }
    // display-name = *(token LWS): runs of whitespace fold to one SP; the name is rebuilt only
    // when a separator is not already a single SP, so the usual case is one slice.
    let tokenEnd = i;
    let name: string | null = null;
    for (;;) {
      i = skipWs(s, tokenEnd);
      const d = s.charCodeAt(i);
      if (d === 0x3c) {
        break;
      }
      if (TOKEN[d] !== 1) {
        fail(i === n ? 'Missing <addr-spec> after display name' : 'Bad character in display name');
      }
      const tokenStart = i;
      i = scanSet(s, i, TOKEN);
      if (name !== null) {
        name += ' ' + s.slice(tokenStart, i);
      } else if (tokenStart - tokenEnd !== 1 || s.charCodeAt(tokenEnd) !== 0x20) {
        name = s.slice(ts, tokenEnd) + ' ' + s.slice(tokenStart, i);
      }
      tokenEnd = i;
    }
    displayName = name ?? s.slice(ts, tokenEnd);
  }
  // LAQUOT addr-spec RAQUOT: nothing but the URI between the brackets (RFC 4475 badaspec).
  const us = i + 1;
  let j = us;
  for (; j < n; j++) {
    const d = s.charCodeAt(j);
    if (d === 0x3e) {
      break;
    }
    if (d === 0x20 || d === 0x09) {
      fail('Whitespace inside <addr-spec>');
    }
  }
  if (j === n) {
    fail('Unterminated <addr-spec>');
  }
  const p = parseParams(s, j + 1, 'SIP_ERR_PARAM');
  const uriText = s.slice(us, j);
  return { displayName, quoted, uriText, bracketed: true, params: p.params, end: p.end };
}

/**
 * addr-spec without brackets. RFC 3261 §20.10: parameters after it belong to the header, and a
 * URI containing a comma, question mark or semicolon must be bracketed, so the URI ends at the
 * first ";", "," or whitespace and a "?" in it is an error.
 */
function parseBare(s: string, start: number): Parsed {
  const n = s.length;
  let j = start;
  for (; j < n; j++) {
    const d = s.charCodeAt(j);
    if (d === 0x3b || d === 0x2c || d === 0x20 || d === 0x09) {
      break;
    }
    if (d === 0x3f) {
      fail('URI with ? must be enclosed in <>');
    }
  }
  const p = parseParams(s, j, 'SIP_ERR_PARAM');
  const uriText = s.slice(start, j);
  return {
    displayName: null,
    quoted: false,
    uriText,
    bracketed: false,
    params: p.params,
    end: p.end,
  };
}

/**
 * Parse a single address element: `[display-name] <addr-spec> *(;param)` or
 * `addr-spec *(;param)`. Anything left over (a second element after a comma, for instance)
 * throws SIP_ERR_NAME_ADDR.
 */
export function parseNameAddr(value: string): NameAddr {
  return toNameAddr(parseSingle(value));
}

/**
 * The header parameters of a single address element (its `tag`, say) without parsing its URI:
 * what a proxy reads from From and To on every message. The address syntax around the URI is
 * still checked; the URI itself is checked when the full address is parsed.
 */
export function parseAddressParams(value: string): Params {
  return parseSingle(value).params;
}

function parseSingle(value: string): Parsed {
  const r = parseAt(value, 0);
  if (r.end !== value.length) {
    fail('Unexpected character after address');
  }
  return r;
}

/**
 * Parse a comma-separated list of addresses (Route, Record-Route, Path, Contact): at least one,
 * and no empty elements.
 */
export function parseNameAddrList(value: string): NameAddr[] {
  const out: NameAddr[] = [];
  const n = value.length;
  let i = 0;
  for (;;) {
    const r = parseAt(value, i);
    out.push(toNameAddr(r));
    if (r.end === n) {
      return out;
    }
    if (value.charCodeAt(r.end) !== 0x2c) {
      fail('Unexpected character after address');
    }
    i = r.end + 1;
  }
}

/**
 * Check the syntax of a Contact value (`*` or a list of addresses) without parsing the URIs, and
 * return how many addresses it holds (0 for `*`). A proxy that does not act on Contact checks
 * only this much; the registrar parses the full value.
 */
export function checkContactSyntax(value: string): number {
  const a = skipWs(value, 0);
  if (trimEndWs(value, a, value.length) === a + 1 && value.charCodeAt(a) === 0x2a) {
    return 0;
  }
  const n = value.length;
  let count = 0;
  let i = 0;
  for (;;) {
    const r = parseAt(value, i);
    count++;
    if (r.end === n) {
      return count;
    }
    if (value.charCodeAt(r.end) !== 0x2c) {
      fail('Unexpected character after address');
    }
    i = r.end + 1;
  }
}

/** Contact = "Contact" HCOLON ( STAR / (contact-param *(COMMA contact-param))) (§20.10). */
export function parseContact(value: string): ContactValue {
  const a = skipWs(value, 0);
  if (trimEndWs(value, a, value.length) === a + 1 && value.charCodeAt(a) === 0x2a) {
    return { star: true };
  }
  return { star: false, contacts: parseNameAddrList(value) };
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
