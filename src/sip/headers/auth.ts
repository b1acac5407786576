/**
 * Authorization, Proxy-Authorization, WWW-Authenticate, Proxy-Authenticate (RFC 3261 §20.7,
 * §20.27, §20.28, §20.44, §25.1; RFC 7616 Digest; RFC 7235 §2.1 token68; RFC 8898 Bearer).
 *
 * ```
 * credentials = ("Digest" LWS digest-response) / other-response
 * challenge   = ("Digest" LWS digest-cln *(COMMA digest-cln)) / other-challenge
 * auth-param  = auth-param-name EQUAL ( token / quoted-string )
 * ```
 */

import { SipParseError } from '../../core/errors.js';
import {
  TOKEN,
  TOKEN68,
  asciiLower,
  isToken,
  lowerSlice,
  quoteString,
  scanSet,
  skipWs,
  unquoteRange,
} from '../chars.js';
import { quotedEnd } from '../params.js';
import type { AuthValue } from '../types.js';

function fail(reason: string): never {
  throw new SipParseError('SIP_ERR_AUTH', reason);
}

/**
 * Parse credentials or a challenge: the scheme, then either comma-separated
 * `name=token|quoted-string` parameters (names lower-cased, quoted values unquoted with
 * quoted-pairs resolved) or a single token68. A repeated parameter name throws (RFC 7235 §2.1:
 * each parameter name MUST only occur once per challenge), as do empty list elements.
 */
export function parseAuth(value: string): AuthValue {
  const n = value.length;
  const ss = skipWs(value, 0);
  const se = scanSet(value, ss, TOKEN);
  if (se === ss) {
    fail('Missing auth scheme');
  }
  const scheme = value.slice(ss, se);
  const params = new Map<string, string>();
  let i = skipWs(value, se);
  if (i === n) {
    return { scheme, params };
  }
  if (i === se) {
    fail('Missing whitespace after auth scheme');
  }
  // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=", alone to the end.
  const t68 = scanSet(value, i, TOKEN68);
  let pad = t68;
  while (value.charCodeAt(pad) === 0x3d) {
    pad++;
  }
  if (t68 > i && skipWs(value, pad) === n) {
    return { scheme, params, token68: value.slice(i, pad) };
  }
  for (;;) {
    const ns = i;
    i = scanSet(value, i, TOKEN);
    if (i === ns) {
      fail(
        i === n || value.charCodeAt(i) === 0x2c
          ? 'Empty auth parameter'
          : 'Bad auth parameter name',
      );
    }
    const name = lowerSlice(value, ns, i);
    i = skipWs(value, i);
    if (value.charCodeAt(i) !== 0x3d) {
      fail('Missing = after auth parameter name');
    }
    i = skipWs(value, i + 1);
    let v: string;
    if (value.charCodeAt(i) === 0x22) {
      const e = quotedEnd(value, i, 'SIP_ERR_AUTH');
      v = unquoteRange(value, i + 1, e - 1);
      i = e;
    } else {
      const vs = i;
      i = scanSet(value, i, TOKEN);
      if (i === vs) {
        fail('Bad auth parameter value');
      }
      v = value.slice(vs, i);
    }
    if (params.has(name)) {
      fail('Duplicate auth parameter');
    }
    params.set(name, v);
    i = skipWs(value, i);
    if (i === n) {
      return { scheme, params };
    }
    if (value.charCodeAt(i) !== 0x2c) {
      fail('Missing comma between auth parameters');
    }
    i = skipWs(value, i + 1);
  }
}

/** Digest parameters whose grammar is a bare token (RFC 7616 §3.3, §3.4; RFC 3261 §25.1). */
const TOKEN_PARAMS = new Set(['algorithm', 'stale', 'nc', 'userhash', 'charset']);

/**
 * Write credentials or a challenge as `Scheme name=value, name="value"`.
 *
 * Rule: a parameter is written bare when RFC 7616 defines it as a token — `algorithm`, `stale`,
 * `nc`, `userhash`, `charset`, and `qop` in credentials (`qop=auth`) — and its value is a token;
 * every other parameter is a quoted-string: `realm`, `nonce`, `opaque`, `domain`, `username`,
 * `uri`, `response`, `cnonce`, `qop` in a challenge (`qop="auth,auth-int"`), and any unknown
 * parameter (RFC 7235 §2.2: recipients accept both forms, and the quoted form holds anything).
 *
 * @param kind `challenge` for WWW-/Proxy-Authenticate, `credentials` for (Proxy-)Authorization.
 */
export function formatAuth(
  v: AuthValue,
  kind: 'credentials' | 'challenge' = 'credentials',
): string {
  if (v.token68 !== undefined) {
    return v.scheme + ' ' + v.token68;
  }
  let out = v.scheme;
  let sep = ' ';
  for (const [name, value] of v.params) {
    const bare =
      (TOKEN_PARAMS.has(name) || (name === 'qop' && kind === 'credentials')) && isToken(value);
    out += sep + name + '=' + (bare ? value : quoteString(value));
    sep = ', ';
  }
  return out;
}

/** True for the Digest scheme, whatever its case. */
export function isDigest(v: AuthValue): boolean {
  return asciiLower(v.scheme) === 'digest';
}
