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

// The text, bytes and range of the value the last valueOf call located.
let vs = '';
let vb: Uint8Array = Buffer.alloc(0);
let vFrom = 0;
let vTo = 0;

/** Locate the value of `h`: in the received bytes when it has them, else in its value string. */
function valueOf(h: HeaderField): void {
  const src = h.source;
  if (h.valueFrom >= 0 && src !== null) {
    vs = src.text;
    vb = src.buf;
    vFrom = h.valueFrom;
    vTo = h.end;
  } else {
    const v = h.value;
    vs = v;
    vb = bytesOf(v);
    vFrom = 0;
    vTo = v.length;
  }
}

/** The Via values of one Via line. */
export function viaListOf(h: HeaderField): Via[] {
  valueOf(h);
  return parseViaListAt(vs, vb, vFrom, vTo);
}

/** The single address of a From or To line. */
export function nameAddrOf(h: HeaderField): NameAddr {
  valueOf(h);
  return parseNameAddrAt(vs, vb, vFrom, vTo);
}

/** The addresses of one Route, Record-Route or Path line. */
export function nameAddrListOf(h: HeaderField): NameAddr[] {
  valueOf(h);
  return parseNameAddrListAt(vs, vb, vFrom, vTo);
}

/**
 * The `tag` of a From or To line (null when absent or valueless), with the address syntax
 * checked but the URI not parsed.
 */
export function tagOf(h: HeaderField): string | null {
  valueOf(h);
  return addressParamAt(vs, vb, vFrom, vTo, 'tag') ?? null;
}

/** One Contact line. */
export function contactOf(h: HeaderField): ContactValue {
  valueOf(h);
  return parseContactAt(vs, vb, vFrom, vTo);
}

/** Check the syntax of one Contact line without parsing its URIs. */
export function checkContactOf(h: HeaderField): void {
  valueOf(h);
  checkContactSyntaxAt(vs, vb, vFrom, vTo);
}

export function callIdOf(h: HeaderField): string {
  valueOf(h);
  return parseCallIdAt(vs, vb, vFrom, vTo);
}

export function cseqOf(h: HeaderField): CSeq {
  valueOf(h);
  return parseCSeqAt(vs, vb, vFrom, vTo);
}

export function maxForwardsOf(h: HeaderField): number {
  valueOf(h);
  return parseMaxForwardsAt(vb, vFrom, vTo);
}
