/**
 * Headers with small grammars (RFC 3261 §20, §25.1; RFC 6665 §8.2): token lists, token with
 * parameters, media types, delta-seconds, Max-Forwards and Call-ID.
 */

import { SipParseError } from '../../core/errors.js';
import type { SipErrorCode } from '../../core/errors.js';
import { bytesOf, scanSetB, skipWsB, trimEndWsB } from '../bytes.js';
import { TOKEN, WORD, lowerSlice, scanSet, skipWs, trimEndWs } from '../chars.js';
import { parseParams } from '../params.js';
import type { Params, TokenWithParams } from '../types.js';

/** A media type (RFC 3261 §20.15): `m-type "/" m-subtype *( SEMI m-parameter )`. */
export interface MediaType {
  /** Lower-cased: media types are case-insensitive (RFC 2045 §5.1). */
  type: string;
  /** Lower-cased. */
  subtype: string;
  /** Parameters as {@link parseParams} stores them (quoted values keep their quotes). */
  params: Params;
}

/**
 * Parse `token *(COMMA token)` (Supported, Require, Proxy-Require, Unsupported, Allow). An empty
 * or whitespace-only value gives `[]` (Supported and Allow may be empty, §20.37, §20.5); an
 * empty element or a non-token character throws `code`. Tokens are kept as written.
 */
export function parseTokenList(
  value: string,
  code: SipErrorCode = 'SIP_ERR_HEADER_VALUE',
): string[] {
  const out: string[] = [];
  const n = value.length;
  let i = skipWs(value, 0);
  if (i === n) {
    return out;
  }
  for (;;) {
    const ts = i;
    i = scanSet(value, i, TOKEN);
    if (i === ts) {
      throw new SipParseError(
        code,
        i === n || value.charCodeAt(i) === 0x2c ? 'Empty list element' : 'Bad token in list',
      );
    }
    out.push(value.slice(ts, i));
    i = skipWs(value, i);
    if (i === n) {
      return out;
    }
    if (value.charCodeAt(i) !== 0x2c) {
      throw new SipParseError(code, 'Bad token in list');
    }
    i = skipWs(value, i + 1);
  }
}

/** The token at the start of `value` (after whitespace) and its end; throws when absent. */
function leadingToken(value: string, code: SipErrorCode, what: string): [number, number] {
  const ts = skipWs(value, 0);
  const te = scanSet(value, ts, TOKEN);
  if (te === ts) {
    throw new SipParseError(code, `Missing ${what}`);
  }
  return [ts, te];
}

/**
 * Parse `token *( SEMI generic-param )`: Event (RFC 6665 §8.2.1; `event-type` may hold dots,
 * `presence.winfo`, which token allows), Subscription-State (§8.2.3), Content-Disposition
 * (RFC 3261 §20.11). The token is kept as written; parameter errors throw SIP_ERR_PARAM.
 */
export function parseTokenWithParams(
  value: string,
  code: SipErrorCode = 'SIP_ERR_HEADER_VALUE',
): TokenWithParams {
  const [ts, te] = leadingToken(value, code, 'header value token');
  const p = parseParams(value, te, 'SIP_ERR_PARAM');
  if (p.end !== value.length) {
    throw new SipParseError(code, 'Unexpected character after header value token');
  }
  return { value: value.slice(ts, te), params: p.params };
}

/**
 * Parse a media type: `m-type SLASH m-subtype *( SEMI m-parameter )`, SLASH = SWS "/" SWS. Type
 * and subtype are lower-cased. `m-parameter = m-attribute EQUAL m-value`, so a parameter without
 * a value throws SIP_ERR_PARAM.
 */
export function parseContentType(value: string): MediaType {
  const code = 'SIP_ERR_HEADER_VALUE';
  const [ts, te] = leadingToken(value, code, 'media type');
  const slash = skipWs(value, te);
  if (value.charCodeAt(slash) !== 0x2f) {
    throw new SipParseError(code, 'Missing / in media type');
  }
  const ss = skipWs(value, slash + 1);
  const se = scanSet(value, ss, TOKEN);
  if (se === ss) {
    throw new SipParseError(code, 'Missing media subtype');
  }
  const p = parseParams(value, se, 'SIP_ERR_PARAM');
  if (p.end !== value.length) {
    throw new SipParseError(code, 'Unexpected character in media type');
  }
  for (const v of p.params.values()) {
    if (v === null) {
      throw new SipParseError('SIP_ERR_PARAM', 'Media type parameter without value');
    }
  }
  return {
    type: lowerSlice(value, ts, te),
    subtype: lowerSlice(value, ss, se),
    params: p.params,
  };
}

/** 2**32 - 1, the largest delta-seconds RFC 3261 §20.19 allows. */
export const MAX_DELTA_SECONDS = 0xffffffff;

/**
 * The digits of `value` (whitespace around allowed) as a number clamped to `max`, or -1 when
 * `value` is not 1*DIGIT. The loop stops growing at `max`, so 10,000 digits cost 10,000 reads.
 */
function digits(value: string, max: number): number {
  const a = skipWs(value, 0);
  const b = trimEndWs(value, a, value.length);
  let v = 0;
  for (let k = a; k < b; k++) {
    const c = value.charCodeAt(k);
    if (c < 0x30 || c > 0x39) {
      return -1;
    }
    if (v <= max) {
      v = v * 10 + c - 0x30;
    }
  }
  return b === a ? -1 : Math.min(v, max + 1);
}

/**
 * Parse delta-seconds (`1*DIGIT`: Expires, Min-Expires, the Contact `expires` parameter).
 * Values above 2**32-1 are clamped to 2**32-1: §20.19 bounds the range, RFC 4475 scalar02 sends
 * 10**100, and clamping keeps the request answerable while no timer can run that long anyway.
 */
export function parseDeltaSeconds(
  value: string,
  code: SipErrorCode = 'SIP_ERR_HEADER_VALUE',
): number {
  const v = digits(value, MAX_DELTA_SECONDS);
  if (v < 0) {
    throw new SipParseError(code, 'Bad delta-seconds');
  }
  return Math.min(v, MAX_DELTA_SECONDS);
}

/** Parse Max-Forwards: `1*DIGIT` in 0..255 (RFC 3261 §20.22); leading zeros allowed (`0068`). */
export function parseMaxForwards(value: string): number {
  return parseMaxForwardsAt(bytesOf(value), 0, value.length);
}

/** {@link parseMaxForwards} over `b[from, to)`; whitespace around allowed. */
export function parseMaxForwardsAt(b: Uint8Array, from: number, to: number): number {
  const a = skipWsB(b, from, to);
  const e = trimEndWsB(b, a, to);
  let v = 0;
  for (let k = a; k < e; k++) {
    const d = b[k]! - 0x30;
    if (d < 0 || d > 9) {
      throw new SipParseError('SIP_ERR_MAX_FORWARDS', 'Max-Forwards is not a number');
    }
    // Stop growing past the limit; the digits still have to be digits.
    if (v <= 255) {
      v = v * 10 + d;
    }
  }
  if (e === a) {
    throw new SipParseError('SIP_ERR_MAX_FORWARDS', 'Max-Forwards is not a number');
  }
  if (v > 255) {
    throw new SipParseError('SIP_ERR_MAX_FORWARDS', 'Max-Forwards above 255');
  }
  return v;
}

/**
 * Parse a Call-ID: `callid = word [ "@" word ]` (RFC 3261 §25.1), returned without surrounding
 * whitespace. word allows `"`, `<`, `>`, `\`, `[`, `]`, `?`, `{`, `}` and more, so RFC 4475
 * intmeth's `intmeth.word%ZK-!.*_+'@word\`~)(><:\/"][?}{` is valid.
 */
export function parseCallId(value: string): string {
  return parseCallIdAt(value, bytesOf(value), 0, value.length);
}

/** {@link parseCallId} over `b[from, to)`; whitespace around allowed. */
export function parseCallIdAt(s: string, b: Uint8Array, from: number, to: number): string {
  const a = skipWsB(b, from, to);
  const e = trimEndWsB(b, a, to);
  let i = scanSetB(b, a, e, WORD);
  if (i > a && i < e && b[i] === 0x40) {
    const ws = i + 1;
    i = scanSetB(b, ws, e, WORD);
    if (i === ws) {
      i = -1;
    }
  }
  if (i === a || i !== e) {
    throw new SipParseError('SIP_ERR_CALL_ID', 'Bad Call-ID');
  }
  return s.slice(a, e);
}
