/**
 * CSeq (RFC 3261 §20.16, §25.1): `CSeq = "CSeq" HCOLON 1*DIGIT LWS Method`.
 */

import { SipParseError } from '../../core/errors.js';
import { TOKEN, scanSet, skipWs, trimEndWs } from '../chars.js';
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
  const n = trimEndWs(value, 0, value.length);
  const ds = skipWs(value, 0);
  let i = ds;
  let seq = 0;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) {
      break;
    }
    // Stop growing once out of range; the digits still have to be digits.
    if (seq < SEQ_LIMIT) {
      seq = seq * 10 + c - 0x30;
    }
  }
  if (i === ds) {
    fail('Missing CSeq number');
  }
  if (seq >= SEQ_LIMIT) {
    fail('CSeq number not below 2**31');
  }
  const ms = skipWs(value, i);
  if (ms >= n) {
    fail('Missing CSeq method');
  }
  if (ms === i) {
    fail('Bad character in CSeq number');
  }
  const me = scanSet(value, ms, TOKEN);
  if (me === ms || me !== n) {
    fail('Bad CSeq method');
  }
  return { seq, method: value.slice(ms, me) };
}

/** Write a CSeq value: `seq method`. */
export function formatCSeq(cseq: CSeq): string {
  return `${cseq.seq} ${cseq.method}`;
}
