/**
 * Splitting a header field value into its comma-separated elements (RFC 3261 §7.3.1: a header
 * whose grammar is a comma-separated list may be written as one line or as several).
 */

import { SipParseError } from '../core/errors.js';
import { quotedEnd } from './params.js';
import { skipWs, trimEndWs } from './chars.js';

/**
 * Split `value` at its top-level commas: commas inside a quoted-string (with `\"` escapes) or
 * inside `<...>` do not split. Each element is trimmed of surrounding SP/HTAB. An empty or
 * whitespace-only value gives `[]`; an empty element (`a,,b`, `a,`, `,a`) throws
 * SIP_ERR_HEADER_VALUE (RFC 3261 §7.3.1 defines no empty list element), and so does an
 * unterminated quoted-string or `<`.
 *
 * Parsers of specific headers walk their lists in place; this is for headers without their own
 * grammar (extension headers, Accept, ...).
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  const n = value.length;
  let start = skipWs(value, 0);
  if (start === n) {
    return out;
  }
  let i = start;
  for (;;) {
    const c = value.charCodeAt(i);
    if (i === n || c === 0x2c) {
      const end = trimEndWs(value, start, i);
      if (end === start) {
        throw new SipParseError('SIP_ERR_HEADER_VALUE', 'Empty list element');
      }
      out.push(value.slice(start, end));
      if (i === n) {
        return out;
      }
      start = skipWs(value, i + 1);
      i = start;
    } else if (c === 0x22) {
      i = quotedEnd(value, i, 'SIP_ERR_HEADER_VALUE');
    } else if (c === 0x3c) {
      // LAQUOT addr-spec RAQUOT: the URI may hold commas (user part, headers), never ">".
      const close = value.indexOf('>', i + 1);
      if (close < 0) {
        throw new SipParseError('SIP_ERR_HEADER_VALUE', 'Unterminated <');
      }
      i = close + 1;
    } else {
      i++;
    }
  }
}
