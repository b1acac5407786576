/**
 * CSeq (RFC 3261 §20.16, §25.1): `CSeq = "CSeq" HCOLON 1*DIGIT LWS Method`.
 */

import { SipParseError } from '../../core/errors.js';
import { bytesOf, scanSetB, skipWsB, trimEndWsB } from '../bytes.js';
import { TOKEN } from '../chars.js';
import type { CSeq } from '../types.js';

function fail(reason: string): never {
  throw new SipParseError('SIP_ERR_CSEQ', reason);
}

/** RFC 3261 §8.1.1.5: the sequence number MUST be less than 2**31. */
const SEQ_LIMIT = 0x80000000;

/**
 * Parse a CSeq value. Leading zeros are fine (`0009`, RFC 4475 wsinv) and the LWS between number
 * and method may be any run of SP/HTAB (a folded line arrives as a space). The number must be
 * below 2**31 (RFC 4475 scalar02 has one above 2**64); the method is a token, kept as written
 * since methods are case-sensitive (§7.1).
 */
export function parseCSeq(value: string): CSeq {
  return parseCSeqAt(value, bytesOf(value), 0, value.length);
}

/** {@link parseCSeq} over `b[from, to)` (see src/sip/bytes.ts); whitespace around allowed. */
export function parseCSeqAt(s: string, b: Uint8Array, from: number, to: number): CSeq {
  const n = trimEndWsB(b, from, to);
  const ds = skipWsB(b, from, n);
  let i = ds;
  let seq = 0;
  for (; i < n; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) {
      break;
    }
    // Stop growing once out of range; the digits still have to be digits.
    if (seq < SEQ_LIMIT) {
      seq = seq * 10 + d;
    }
  }
  if (i === ds) {
    fail('Missing CSeq number');
  }
  if (seq >= SEQ_LIMIT) {
    fail('CSeq number not below 2**31');
  }
  const ms = skipWsB(b, i, n);
  if (ms >= n) {
    fail('Missing CSeq method');
  }
  if (ms === i) {
    fail('Bad character in CSeq number');
  }
  const me = scanSetB(b, ms, n, TOKEN);
  if (me === ms || me !== n) {
    fail('Bad CSeq method');
  }
  return { seq, method: methodAt(s, b, ms, me) };
}

/** The methods of RFC 3261 and its extensions, as interned constants. */
const METHODS = [
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'OPTIONS',
  'REGISTER',
  'PRACK',
  'SUBSCRIBE',
  'NOTIFY',
  'PUBLISH',
  'INFO',
  'REFER',
  'MESSAGE',
  'UPDATE',
];

/**
 * The method token at `b[from, to)`: a constant for the standard methods (no slice, and later
 * comparisons with the request method compare pointers), else a slice. Methods are
 * case-sensitive (RFC 3261 §7.1), so the match is exact.
 */
export function methodAt(s: string, b: Uint8Array, from: number, to: number): string {
  const len = to - from;
  const first = b[from];
  for (const m of METHODS) {
    if (m.length === len && m.charCodeAt(0) === first) {
      let k = 1;
      while (k < len && b[from + k] === m.charCodeAt(k)) {
        k++;
      }
      if (k === len) {
        return m;
      }
    }
  }
  return s.slice(from, to);
}

/** Write a CSeq value: `seq method`. */
export function formatCSeq(cseq: CSeq): string {
  return `${cseq.seq} ${cseq.method}`;
}
