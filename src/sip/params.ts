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
  unquoteRange,
} from './chars.js';
import { bytesOf, scanQuotedB, scanSetB, skipWsB } from './bytes.js';
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
  const params = parseParamsAt(s, bytesOf(s), start, s.length, code, bareIpv6Name);
  return { params, end: paramsEnd };
}

/** Where the last {@link parseParamsAt} or {@link findParamAt} call stopped. */
export let paramsEnd = 0;

// What scanParam found: the name's range and whether it has upper case, the value's range
// (`pValueFrom` -1 when the parameter has no value).
let pNameFrom = 0;
let pNameTo = 0;
let pNameUpper = false;
let pValueFrom = -1;
let pValueTo = -1;

/**
 * {@link parseParams} over `b[start, n)` (see src/sip/bytes.ts for the `(s, b)` pair); the
 * index where it stopped is left in {@link paramsEnd}.
 */
export function parseParamsAt(
  s: string,
  b: Uint8Array,
  start: number,
  n: number,
  code: SipErrorCode = 'SIP_ERR_PARAM',
  bareIpv6Name?: string,
): Params {
  // Most elements carry no parameters or one; the Map is made when the first one appears.
  let params: Map<string, string | null> | null = null;
  let i = skipWsB(b, start, n);
  while (i < n && b[i] === 0x3b) {
    i = scanParam(s, b, i, n, code, bareIpv6Name);
    // Names are case-insensitive (RFC 3261 §7.3.1); lower-case only when there is something to.
    let name = commonParamName(b, pNameFrom, pNameTo);
    if (name === undefined) {
      const raw = s.slice(pNameFrom, pNameTo);
      name = pNameUpper ? asciiLower(raw) : raw;
    }
    const value = pValueFrom < 0 ? null : s.slice(pValueFrom, pValueTo);
    if (params === null) {
      params = new Map<string, string | null>();
      params.set(name, value);
    } else if (!params.has(name)) {
      params.set(name, value);
    }
  }
  paramsEnd = i;
  return params ?? EMPTY_PARAMS;
}

/**
 * Check `*( SEMI generic-param )` over `b[start, n)` as {@link parseParamsAt} does, without
 * building the map, and locate the first parameter named `want` (lower-case): its value's range
 * is left in {@link wantedFrom} and {@link wantedTo}. Returns the index where parsing stopped.
 * What a proxy reads of From and To on every message is the tag alone.
 */
export function findParamAt(
  s: string,
  b: Uint8Array,
  start: number,
  n: number,
  code: SipErrorCode,
  want: string,
): number {
  wantedFrom = WANT_ABSENT;
  let i = skipWsB(b, start, n);
  while (i < n && b[i] === 0x3b) {
    i = scanParam(s, b, i, n, code, undefined);
    if (wantedFrom === WANT_ABSENT && nameIs(b, pNameFrom, pNameTo, want)) {
      wantedFrom = pValueFrom < 0 ? WANT_NO_VALUE : pValueFrom;
      wantedTo = pValueTo;
    }
  }
  return i;
}

/** {@link wantedFrom} when the parameter is absent. */
export const WANT_ABSENT = -1;
/** {@link wantedFrom} when the parameter is present without a value. */
export const WANT_NO_VALUE = -2;
/** Where the value {@link findParamAt} found starts, or WANT_ABSENT / WANT_NO_VALUE. */
export let wantedFrom = WANT_ABSENT;
/** Where the value {@link findParamAt} found ends. */
export let wantedTo = 0;

/** Parameter names seen on nearly every message (Via, From, To, Route, Contact). */
const COMMON_PARAMS = [
  'branch',
  'tag',
  'rport',
  'received',
  'lr',
  'transport',
  'expires',
  'maddr',
  'ttl',
  'user',
  'q',
];

/** The common names by first letter. */
const COMMON_BY_FIRST: readonly (readonly string[] | undefined)[] = (() => {
  const t: string[][] = [];
  for (const name of COMMON_PARAMS) {
    (t[name.charCodeAt(0)] ??= []).push(name);
  }
  return t;
})();

/**
 * The interned constant for a common parameter name at `b[from, to)` (any case), or undefined.
 * The names are all letters, and only a letter maps onto a letter under `| 0x20`, so any byte
 * that is not the right letter fails the match. A constant needs no slice, and its hash is computed once, not per Map insertion.
 */
export function commonParamName(b: Uint8Array, from: number, to: number): string | undefined {
  const list = COMMON_BY_FIRST[b[from]! | 0x20];
  if (list !== undefined) {
    for (let k = 0; k < list.length; k++) {
      const name = list[k]!;
      if (nameIs(b, from, to, name)) {
        return name;
      }
    }
  }
  return undefined;
}

/** The name at `b[from, to)` equals `lower` ignoring ASCII case (token bytes only). */
function nameIs(b: Uint8Array, from: number, to: number, lower: string): boolean {
  const len = to - from;
  if (len !== lower.length) {
    return false;
  }
  for (let k = 0; k < len; k++) {
    // Token bytes: only letters change under | 0x20, and `lower` holds no upper case.
    if ((b[from + k]! | 0x20) !== lower.charCodeAt(k)) {
      return false;
    }
  }
  return true;
}

/**
 * One `SEMI generic-param` with `b[i]` the ";": records the name and value ranges in the
 * module's slots and returns the index after the value and the whitespace following it.
 */
function scanParam(
  s: string,
  b: Uint8Array,
  i: number,
  n: number,
  code: SipErrorCode,
  bareIpv6Name: string | undefined,
): number {
  const tok = TOKEN;
  i = skipWsB(b, i + 1, n);
  const ns = i;
  let upper = false;
  for (; i < n; i++) {
    const c = b[i]!;
    if (tok[c] !== 1) {
      break;
    }
    upper ||= c >= 0x41 && c <= 0x5a;
  }
  if (i === ns) {
    throw new SipParseError(code, 'Empty parameter name');
  }
  pNameFrom = ns;
  pNameTo = i;
  pNameUpper = upper;
  pValueFrom = -1;
  i = skipWsB(b, i, n);
  if (i < n && b[i] === 0x3d) {
    i = skipWsB(b, i + 1, n);
    const vs = i;
    const c = b[i];
    if (c === 0x22) {
      i = quotedEndB(b, i, n, code);
    } else if (c === 0x5b) {
      // host = IPv6reference = "[" IPv6address "]" (RFC 5118 §4.5: received=[2001:db8::9:255])
      const j = scanSetB(b, i + 1, n, IPV6CHAR);
      if (j >= n || b[j] !== 0x5d || !parseIPv6(s, i + 1, j, null)) {
        throw new SipParseError(code, 'Bad IPv6 reference in parameter value');
      }
      i = j + 1;
    } else {
      // token, and hostname / IPv4address, which are made of token characters.
      const bare = bareIpv6Name !== undefined && nameIs(b, ns, pNameTo, bareIpv6Name);
      i = scanSetB(b, i, n, bare ? TOKEN_COLON : tok);
    }
    if (i === vs) {
      throw new SipParseError(code, 'Empty parameter value');
    }
    pValueFrom = vs;
    pValueTo = i;
    i = skipWsB(b, i, n);
  }
  return i;
}

/** {@link quotedEnd} over bytes: the index after the quoted-string at `b[i]`, or throw `code`. */
export function quotedEndB(b: Uint8Array, i: number, n: number, code: SipErrorCode): number {
  const e = scanQuotedB(b, i, n);
  if (e === QUOTE_UNTERMINATED) {
    throw new SipParseError(code, 'Unterminated quoted-string');
  }
  if (e < 0) {
    throw new SipParseError(code, 'Bad character in quoted-string');
  }
  return e;
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
