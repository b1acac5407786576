/**
 * URIs: sip/sips (RFC 3261 §19.1, §25.1; IPv6 per RFC 5118 and RFC 5954), tel (RFC 3966) and
 * any other absoluteURI kept opaque. Parsing is one left-to-right pass over lookup tables (plus
 * one linear look-ahead for the "@" that tells whether userinfo is present).
 */

import { SipParseError } from '../core/errors.js';
import {
  ALPHA,
  DIGIT,
  HEX,
  HNV,
  PARAMCHAR,
  PASSWORD,
  SCHEME,
  USER,
  asciiLower,
  lowerSlice,
  table,
  parseIPv6,
} from './chars.js';
import { bytesOf, hostHadUpper, scanHostB, scanSetB } from './bytes.js';
import { commonParamName, formatParams } from './params.js';
import {
  EMPTY_HEADERS,
  EMPTY_PARAMS,
  type Params,
  type SipUri,
  type TelUri,
  type Uri,
} from './types.js';

function fail(reason: string): never {
  throw new SipParseError('SIP_ERR_URI', reason);
}

/** `base` plus `chars`. */
function widen(base: Uint8Array, chars: string): Uint8Array {
  const t = table(chars);
  for (let c = 0; c < 256; c++) {
    if (base[c] === 1) {
      t[c] = 1;
    }
  }
  return t;
}

/** Everything userinfo may hold (user, ":" password, escapes): the look-ahead for "@". */
const USERINFO = widen(USER, ':%');
/** phonedigit = DIGIT / visual-separator (RFC 3966 §3). */
const PHONEDIGIT = widen(DIGIT, '-.()');
/** phonedigit-hex = HEXDIG / "*" / "#" / visual-separator. */
const PHONEDIGIT_HEX = widen(HEX, '-.()*#');
/** pname = 1*( alphanum / "-" ) (RFC 3966 §3). */
const TEL_PNAME = table('-', [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
]);
/** Opaque rest of another scheme: visible ASCII except the delimiters `<`, `>` and DQUOTE. */
const OPAQUE = table('!', [
  [0x23, 0x3b],
  [0x3d, 0x3d],
  [0x3f, 0x7e],
]);

/**
 * Index of the first byte at or after `i` (before `end`) that is neither in `allowed` nor part of
 * an escape; `escaped = "%" HEXDIG HEXDIG`, so a `%` not followed by two hex digits throws.
 */
function scanEscaped(b: Uint8Array, i: number, end: number, allowed: Uint8Array, what: string) {
  while (i < end) {
    const c = b[i]!;
    if (allowed[c] === 1) {
      i++;
    } else if (c === 0x25) {
      if (i + 2 >= end || HEX[b[i + 1]!] !== 1 || HEX[b[i + 2]!] !== 1) {
        fail(`Bad escape in ${what}`);
      }
      i += 3;
    } else {
      break;
    }
  }
  return i;
}

/**
 * Parse a URI. sip and sips give a {@link SipUri}, tel a {@link TelUri}, any other scheme an
 * {@link OtherUri}. Whitespace, `<`, `>` and anything else the grammar does not allow throw
 * SIP_ERR_URI with a reason naming the part that is wrong.
 */
export function parseUri(text: string): Uri {
  return parseUriAt(text, bytesOf(text), 0, text.length);
}

/** {@link parseUri} over exactly `b[from, to)` (see src/sip/bytes.ts for the `(s, b)` pair). */
export function parseUriAt(s: string, b: Uint8Array, from: number, to: number): Uri {
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
  if (from >= to || ALPHA[b[from]!] !== 1) {
    fail('Bad URI scheme');
  }
  const i = scanSetB(b, from + 1, to, SCHEME);
  if (i >= to || b[i] !== 0x3a) {
    fail('Missing URI scheme');
  }
  const len = i - from;
  const c0 = b[from]! | 0x20;
  const c1 = b[from + 1]! | 0x20;
  const c2 = b[from + 2]! | 0x20;
  if (c0 === 0x73 && c1 === 0x69 && c2 === 0x70) {
    if (len === 3) {
      return parseSip(s, b, 'sip', i + 1, to);
    }
    if (len === 4 && (b[from + 3]! | 0x20) === 0x73) {
      return parseSip(s, b, 'sips', i + 1, to);
    }
  } else if (len === 3 && c0 === 0x74 && c1 === 0x65 && c2 === 0x6c) {
    return parseTel(s, b, i + 1, to);
  }
  // Any other absoluteURI: kept opaque, but never with whitespace or delimiters in it.
  const j = scanSetB(b, i + 1, to, OPAQUE);
  if (j === i + 1 || j < to) {
    fail('Bad character in URI');
  }
  return { kind: 'other', scheme: lowerSlice(s, from, i), rest: s.slice(i + 1, to) };
}

/** SIP-URI = "sip:" [ userinfo ] hostport uri-parameters [ headers ] (and SIPS-URI). */
function parseSip(
  s: string,
  b: Uint8Array,
  scheme: 'sip' | 'sips',
  start: number,
  n: number,
): SipUri {
  let user: string | null = null;
  let password: string | null = null;
  let i = start;
  // The user part may hold ";", "?", "=" and "," (RFC 4475 §3.1.1.9 semiuri, §3.1.1.2 intmeth), so only
  // an "@" reached before any character userinfo cannot contain says that userinfo is present.
  const at = scanSetB(b, start, n, USERINFO);
  if (at < n && b[at] === 0x40) {
    // userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
    const colon = scanEscaped(b, start, at, USER, 'URI user');
    if (colon === start) {
      fail('Empty URI user');
    }
    user = s.slice(start, colon);
    if (colon < at) {
      // The user part stops only at ":" (the look-ahead admitted nothing else it lacks).
      if (scanEscaped(b, colon + 1, at, PASSWORD, 'URI password') !== at) {
        fail('Bad character in URI password');
      }
      password = s.slice(colon + 1, at);
    }
    i = at + 1;
  }
  // hostport = host [ ":" port ]
  const hostEnd = scanHostB(s, b, i, n);
  if (hostEnd < 0) {
    fail('Bad URI host');
  }
  const host = hostHadUpper ? lowerSlice(s, i, hostEnd) : s.slice(i, hostEnd);
  i = hostEnd;
  let port: number | null = null;
  if (i < n && b[i] === 0x3a) {
    const ps = ++i;
    let v = 0;
    while (i < n && v <= 65535) {
      const d = b[i]! - 0x30;
      if (d < 0 || d > 9) {
        break;
      }
      v = v * 10 + d;
      i++;
    }
    if (i === ps || v > 65535) {
      fail('Bad URI port');
    }
    port = v;
  }
  // uri-parameters = *( ";" uri-parameter ); other-param = pname [ "=" pvalue ]
  let params: Params = EMPTY_PARAMS;
  if (i < n && b[i] === 0x3b) {
    const m = new Map<string, string | null>();
    i = parseUriParams(s, b, i, n, false, m);
    params = m;
  }
  // headers = "?" header *( "&" header ); header = hname "=" hvalue
  let headers: ReadonlyMap<string, string> = EMPTY_HEADERS;
  if (i < n && b[i] === 0x3f) {
    const h = new Map<string, string>();
    headers = h;
    do {
      const ns = ++i;
      i = scanEscaped(b, i, n, HNV, 'URI header');
      if (i === ns || i >= n || b[i] !== 0x3d) {
        fail('Bad URI header');
      }
      const vs = ++i;
      i = scanEscaped(b, i, n, HNV, 'URI header');
      const name = s.slice(ns, vs - 1);
      if (!h.has(name)) {
        h.set(name, s.slice(vs, i));
      }
    } while (i < n && b[i] === 0x26);
  }
  if (i < n) {
    fail('Bad character in SIP URI');
  }
  return { kind: 'sip', scheme, user, password, host, port, params, headers };
}

/**
 * `*( ";" pname [ "=" pvalue ] )` into `params`, returning the index after them. pvalue is
 * 1*paramchar in both grammars; pname is 1*paramchar for SIP (RFC 3261 §25.1) and
 * 1*( alphanum / "-" ) for tel (RFC 3966 §3).
 */
function parseUriParams(
  s: string,
  b: Uint8Array,
  i: number,
  n: number,
  tel: boolean,
  params: Map<string, string | null>,
): number {
  while (i < n && b[i] === 0x3b) {
    const ns = ++i;
    i = tel ? scanSetB(b, i, n, TEL_PNAME) : scanEscaped(b, i, n, PARAMCHAR, 'URI parameter');
    if (i === ns) {
      fail('Empty URI parameter name');
    }
    const name = commonParamName(b, ns, i) ?? paramKey(s.slice(ns, i));
    let value: string | null = null;
    if (i < n && b[i] === 0x3d) {
      const vs = ++i;
      i = scanEscaped(b, i, n, PARAMCHAR, 'URI parameter');
      if (i === vs) {
        fail('Empty URI parameter value');
      }
      value = s.slice(vs, i);
    }
    if (!params.has(name)) {
      params.set(name, value);
    }
  }
  return i;
}

/**
 * URI parameter names are case-insensitive and escapes in them are equivalent to the characters
 * (RFC 3261 §19.1.4; RFC 4475 esc01 writes `lr` as `%6C%72`), so the map key is the unescaped,
 * lower-cased name — unless unescaping yields a character a pname cannot hold bare, in which
 * case the escaped form stays (lower-cased) so the key can still be written back as-is.
 */
function paramKey(raw: string): string {
  const decoded = unescape(raw);
  if (decoded !== raw) {
    for (let k = 0; k < decoded.length; k++) {
      if (PARAMCHAR[decoded.charCodeAt(k)] !== 1) {
        return lowerSlice(raw, 0, raw.length);
      }
    }
  }
  return lowerSlice(decoded, 0, decoded.length);
}

/**
 * telephone-uri = "tel:" telephone-subscriber (RFC 3966 §3): global-number-digits
 * (`"+" *phonedigit DIGIT *phonedigit`) or local-number-digits (`*phonedigit-hex (HEXDIG / "*" /
 * "#") *phonedigit-hex`), then `;pname[=pvalue]` parameters. phone-context is not required of a
 * local number: many deployed UAs omit it and a proxy only needs to route the URI. Every pvalue,
 * isub included, is held to paramchar: isub's grammar (1*uric) would also admit `?`, `@`, `=`
 * and `,`, a deliberate narrowing since none is seen in practice.
 */
function parseTel(s: string, b: Uint8Array, start: number, n: number): TelUri {
  const global = start < n && b[start] === 0x2b;
  const allowed = global ? PHONEDIGIT : PHONEDIGIT_HEX;
  let i = global ? start + 1 : start;
  let digits = 0;
  for (; i < n; i++) {
    const c = b[i]!;
    if (allowed[c] !== 1) {
      break;
    }
    if (c !== 0x2d && c !== 0x2e && c !== 0x28 && c !== 0x29) {
      digits++;
    }
  }
  if (digits === 0) {
    fail('Bad tel URI number');
  }
  const number = s.slice(start, i);
  const params = new Map<string, string | null>();
  i = parseUriParams(s, b, i, n, true, params);
  if (i < n) {
    fail('Bad character in tel URI');
  }
  return { kind: 'tel', scheme: 'tel', number, params };
}

/** Write a URI back as text; `parseUri(formatUri(u))` deep-equals `u` for any parsed `u`. */
export function formatUri(uri: Uri): string {
  switch (uri.kind) {
    case 'sip': {
      let out = uri.scheme + ':';
      if (uri.user !== null) {
        out += uri.password !== null ? uri.user + ':' + uri.password + '@' : uri.user + '@';
      }
      out += uri.port !== null ? `${uri.host}:${uri.port}` : uri.host;
      out += formatParams(uri.params);
      let sep = '?';
      for (const [name, value] of uri.headers) {
        out += sep + name + '=' + value;
        sep = '&';
      }
      return out;
    }
    case 'tel':
      return 'tel:' + uri.number + formatParams(uri.params);
    case 'other':
      return uri.scheme + ':' + uri.rest;
  }
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}

/**
 * Resolve every `%HH` escape. A `%` not followed by two hex digits is left as it is (parsed
 * URIs never hold one; the function is total so callers need no guard).
 */
export function unescape(s: string): string {
  return decode(s, false);
}

/** reserved = ";" / "/" / "?" / ":" / "@" / "&" / "=" / "+" / "$" / "," (RFC 3261 §25.1) */
const RESERVED = table(';/?:@&=+$,');

/**
 * Decode escapes; with `keepReserved`, an escaped reserved character stays escaped (upper-case
 * hex), since RFC 3261 §19.1.4 makes only unreserved characters equivalent to their escapes.
 */
function decode(s: string, keepReserved: boolean): string {
  let k = s.indexOf('%');
  if (k < 0) {
    return s;
  }
  let out = '';
  let last = 0;
  const n = s.length;
  for (; k >= 0 && k + 2 < n; k = s.indexOf('%', k + 1)) {
    const h1 = s.charCodeAt(k + 1);
    const h2 = s.charCodeAt(k + 2);
    if (HEX[h1] !== 1 || HEX[h2] !== 1) {
      continue;
    }
    const c = hexValue(h1) * 16 + hexValue(h2);
    out += s.slice(last, k);
    out +=
      keepReserved && RESERVED[c] === 1 ? s.slice(k, k + 3).toUpperCase() : String.fromCharCode(c);
    last = k + 3;
    k += 2;
  }
  return out + s.slice(last);
}

/** `host[:port]` of a SIP URI, as a Via sent-by or a log line writes it. */
export function hostPortOf(uri: SipUri): string {
  return uri.port !== null ? `${uri.host}:${uri.port}` : uri.host;
}

/** Parameters that RFC 3261 §19.1.4 makes decisive even when only one URI has them. */
const DECISIVE = new Set(['transport', 'user', 'ttl', 'method', 'maddr']);

const V6A = new Uint16Array(8);
const V6B = new Uint16Array(8);

function hostEquals(a: string, b: string): boolean {
  const la = asciiLower(a);
  const lb = asciiLower(b);
  if (la === lb) {
    return true;
  }
  // RFC 5118 §4.3: IPv6 references are equal when the addresses are, however written.
  return (
    la.charCodeAt(0) === 0x5b &&
    lb.charCodeAt(0) === 0x5b &&
    parseIPv6(la, 1, la.length - 1, V6A) &&
    parseIPv6(lb, 1, lb.length - 1, V6B) &&
    V6A.every((g, k) => g === V6B[k])
  );
}

function valueEquals(a: string | null, b: string | null): boolean {
  if (a === null || b === null) {
    return a === b;
  }
  return asciiLower(decode(a, true)) === asciiLower(decode(b, true));
}

/**
 * Every parameter present in both maps matches (case-insensitively, escapes resolved); a
 * parameter present in only one matters only when `decisive` names it.
 */
function paramsEqual(a: Params, b: Params, decisive: ReadonlySet<string> | null): boolean {
  for (const [name, value] of a) {
    const other = b.get(name);
    if (
      other === undefined ? decisive === null || decisive.has(name) : !valueEquals(value, other)
    ) {
      return false;
    }
  }
  for (const name of b.keys()) {
    if (!a.has(name) && (decisive === null || decisive.has(name))) {
      return false;
    }
  }
  return true;
}

function headersEqual(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) {
    return false;
  }
  const theirs = new Map<string, string>();
  for (const [name, value] of b) {
    theirs.set(asciiLower(decode(name, true)), value);
  }
  for (const [name, value] of a) {
    const other = theirs.get(asciiLower(decode(name, true)));
    if (other === undefined || !valueEquals(value, other)) {
      return false;
    }
  }
  return true;
}

/** Phone number digits without visual separators, lower-cased, for RFC 3966 §4 comparison. */
function phoneDigits(s: string): string {
  let out = '';
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c !== 0x2d && c !== 0x2e && c !== 0x28 && c !== 0x29) {
      out += s.charAt(k);
    }
  }
  return asciiLower(out);
}

/** tel parameters with separators dropped from `ext` and global-number phone-context values. */
function telParams(params: Params): Params {
  const out = new Map<string, string | null>();
  for (const [name, v] of params) {
    out.set(name, v !== null && (name === 'ext' || v.charCodeAt(0) === 0x2b) ? phoneDigits(v) : v);
  }
  return out;
}

/** userinfo parts: case-sensitive, equal once unreserved escapes are resolved. */
function userEquals(a: string | null, b: string | null): boolean {
  return a === null || b === null ? a === b : decode(a, true) === decode(b, true);
}

/**
 * URI equality as RFC 3261 §19.1.4 defines it for sip/sips: same scheme; user and password equal
 * case-sensitively once unreserved escapes are resolved; host case-insensitive (IPv6 by value);
 * same port (an absent port does not equal 5060); `transport`, `user`, `ttl`, `method` and
 * `maddr` present in one URI must be present in the other, other parameters are compared only
 * when both have them; headers must match one for one. tel URIs follow RFC 3966 §4 (separators
 * ignored, same parameter names); other schemes compare exactly.
 */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a.kind === 'sip') {
    return (
      b.kind === 'sip' &&
      a.scheme === b.scheme &&
      a.port === b.port &&
      hostEquals(a.host, b.host) &&
      userEquals(a.user, b.user) &&
      userEquals(a.password, b.password) &&
      paramsEqual(a.params, b.params, DECISIVE) &&
      headersEqual(a.headers, b.headers)
    );
  }
  if (a.kind === 'tel') {
    return (
      b.kind === 'tel' &&
      phoneDigits(a.number) === phoneDigits(b.number) &&
      paramsEqual(telParams(a.params), telParams(b.params), null)
    );
  }
  return b.kind === 'other' && a.scheme === b.scheme && a.rest === b.rest;
}
