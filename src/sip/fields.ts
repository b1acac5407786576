/**
 * Typed readers of one header line. A received, unfolded line is parsed straight from the
 * received bytes (src/sip/bytes.ts explains why); a line Tandem created or unfolded is parsed
 * from its value string. Either way the result and the errors are the same.
 */
import { bytesOf } from './bytes.js';
import type { HeaderField } from './header-field.js';
import { parseCSeqAt } from './headers/cseq.js';
import {
  addressParamAt,
  checkContactSyntaxAt,
  parseContactAt,
  parseNameAddrAt,
  parseNameAddrListAt,
} from './headers/name-addr.js';
import { parseCallIdAt, parseMaxForwardsAt } from './headers/simple.js';
import { parseViaListAt } from './headers/via.js';
import type { ContactValue, CSeq, NameAddr, Via } from './types.js';

// Each reader takes the received bytes when the line has them; results go straight back to
// the caller (holding them in module variables would cost a write barrier per store).

/** The Via values of one Via line. */
export function viaListOf(h: HeaderField): Via[] {
  const src = h.source;
  if (h.valueFrom >= 0 && src !== null) {
    return parseViaListAt(src.text, src.buf, h.valueFrom, h.end);
  }
  const v = h.value;
  return parseViaListAt(v, bytesOf(v), 0, v.length);
}

/** The single address of a From or To line. */
export function nameAddrOf(h: HeaderField): NameAddr {
  const src = h.source;
  if (h.valueFrom >= 0 && src !== null) {
    return parseNameAddrAt(src.text, src.buf, h.valueFrom, h.end);
  }
  const v = h.value;
  return parseNameAddrAt(v, bytesOf(v), 0, v.length);
}

/** The addresses of one Route, Record-Route or Path line. */
export function nameAddrListOf(h: HeaderField): NameAddr[] {
  const src = h.source;
  if (h.valueFrom >= 0 && src !== null) {
    return parseNameAddrListAt(src.text, src.buf, h.valueFrom, h.end);
  }
  const v = h.value;
  return parseNameAddrListAt(v, bytesOf(v), 0, v.length);
}

/**
 * The `tag` of a From or To line (null when absent or valueless), with the address syntax
 * checked but the URI not parsed.
 */
export function tagOf(h: HeaderField): string | null {
  const src = h.source;
  if (h.valueFrom >= 0 && src !== null) {
    return addressParamAt(src.text, src.buf, h.valueFrom, h.end, 'tag') ?? null;
  }
  const v = h.value;
  return addressParamAt(v, bytesOf(v), 0, v.length, 'tag') ?? null;
}

/** One Contact line. */
export function contactOf(h: HeaderField): ContactValue {
  const src = h.source;
  if (h.valueFrom >= 0 && src !== null) {
    return parseContactAt(src.text, src.buf, h.valueFrom, h.end);
  }
  const v = h.value;
  return parseContactAt(v, bytesOf(v), 0, v.length);
}

/** Check the syntax of one Contact line without parsing its URIs. */
export function checkContactOf(h: HeaderField): void {
  const src = h.source;
  if (h.valueFrom >= 0 && src !== null) {
    checkContactSyntaxAt(src.text, src.buf, h.valueFrom, h.end);
  } else {
    const v = h.value;
    checkContactSyntaxAt(v, bytesOf(v), 0, v.length);
  }
}

export function callIdOf(h: HeaderField): string {
  const src = h.source;
  if (h.valueFrom >= 0 && src !== null) {
    return parseCallIdAt(src.text, src.buf, h.valueFrom, h.end);
  }
  const v = h.value;
  return parseCallIdAt(v, bytesOf(v), 0, v.length);
}

export function cseqOf(h: HeaderField): CSeq {
  const src = h.source;
  if (h.valueFrom >= 0 && src !== null) {
    return parseCSeqAt(src.text, src.buf, h.valueFrom, h.end);
  }
  const v = h.value;
  return parseCSeqAt(v, bytesOf(v), 0, v.length);
}

export function maxForwardsOf(h: HeaderField): number {
  const src = h.source;
  if (h.valueFrom >= 0 && src !== null) {
    return parseMaxForwardsAt(src.buf, h.valueFrom, h.end);
  }
  const v = h.value;
  return parseMaxForwardsAt(bytesOf(v), 0, v.length);
}
