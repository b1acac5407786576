/**
 * Scanning over bytes. The header grammars run over the received Buffer rather than over latin1
 * strings: in optimised code here a Buffer read with a table lookup costs ~1.2 ns per byte and a
 * `charCodeAt` ~3–5 ns per character, and a value's grammar reads every byte of it.
 *
 * Every grammar function takes the pair `(s, b)` with `b[i] === s.charCodeAt(i)` for every index
 * it may read, plus a range `[from, to)`: it scans `b` and cuts results out of `s` with the same
 * offsets. For a received header, `s` is the decoded header block and `b` the received bytes
 * (the parser decodes from byte 0, so offsets agree); for a string from elsewhere (a value
 * Tandem built, a folded line, a test), `b` is `bytesOf(s)`. Results never depend on which.
 *
 * The helpers take an index and return an index, never allocate and never throw: the callers own
 * the error codes.
 */
import {
  HOST_CLASS,
  IPV6CHAR,
  QDTEXT,
  QPAIR,
  QUOTE_BAD_CHAR,
  QUOTE_UNTERMINATED,
  parseIPv6,
} from './chars.js';

const WIDE = /[\u0100-\uffff]/;

/**
 * The bytes of a binary (latin1) string: one byte per character. A character above 0xFF (a
 * JavaScript string that was never encoded, say) becomes LF, which no grammar admits anywhere,
 * so it is rejected exactly where the string grammars rejected it.
 */
export function bytesOf(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  if (WIDE.test(s)) {
    for (let k = 0; k < s.length; k++) {
      if (s.charCodeAt(k) > 0xff) {
        b[k] = 0x0a;
      }
    }
  }
  return b;
}

/** Index of the first byte at or after `i` (before `n`) that is not SP or HTAB. */
export function skipWsB(b: Uint8Array, i: number, n: number): number {
  while (i < n) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09) {
      break;
    }
    i++;
  }
  return i;
}

/** Index after the last byte before `end` that is not SP or HTAB (never below `start`). */
export function trimEndWsB(b: Uint8Array, start: number, end: number): number {
  while (end > start) {
    const c = b[end - 1];
    if (c !== 0x20 && c !== 0x09) {
      break;
    }
    end--;
  }
  return end;
}

/** Index of the first byte at or after `i` (before `n`) that is not in `set`. */
export function scanSetB(b: Uint8Array, i: number, n: number, set: Uint8Array): number {
  // Four bytes a round: optimised code checks the maps of `b` and `set`, computes their data
  // pointers, checks the counter for overflow and polls for interrupts once per loop iteration,
  // so those ~15 instructions are paid once per four bytes instead of once per byte.
  while (i + 4 <= n) {
    if (set[b[i]!] !== 1) {
      return i;
    }
    if (set[b[i + 1]!] !== 1) {
      return i + 1;
    }
    if (set[b[i + 2]!] !== 1) {
      return i + 2;
    }
    if (set[b[i + 3]!] !== 1) {
      return i + 3;
    }
    i += 4;
  }
  while (i < n && set[b[i]!] === 1) {
    i++;
  }
  return i;
}

/**
 * Scan a quoted-string whose opening DQUOTE is at `i`: `DQUOTE *(qdtext / quoted-pair) DQUOTE`
 * (RFC 3261 §25.1). Returns the index after the closing DQUOTE, or QUOTE_UNTERMINATED /
 * QUOTE_BAD_CHAR (src/sip/chars.ts). One pass, so 20,000 `\"` pairs cost 40,000 reads.
 */
export function scanQuotedB(b: Uint8Array, i: number, n: number): number {
  const qd = QDTEXT;
  for (let j = i + 1; j < n; j++) {
    const c = b[j]!;
    if (c === 0x22) {
      return j + 1;
    }
    if (c === 0x5c) {
      j++;
      if (j >= n) {
        return QUOTE_UNTERMINATED;
      }
      if (QPAIR[b[j]!] !== 1) {
        return QUOTE_BAD_CHAR;
      }
    } else if (qd[c] !== 1) {
      return QUOTE_BAD_CHAR;
    }
  }
  return QUOTE_UNTERMINATED;
}

/** Whether the host found by the last {@link scanHostB} call had upper-case letters. */
export let hostHadUpper = false;

/**
 * End of the host (hostname / IPv4address / IPv6reference) that starts at `i`, or -1 when no
 * valid host starts there; the host ends at the first byte that cannot belong to it (or at `n`)
 * and the caller checks what follows. One pass checks the hostname grammar (RFC 3261 §25.1):
 *
 * ```
 * hostname    = *( domainlabel "." ) toplabel [ "." ]
 * domainlabel = alphanum / alphanum *( alphanum / "-" ) alphanum
 * toplabel    = ALPHA / ALPHA *( alphanum / "-" ) alphanum
 * ```
 *
 * A run of digits and dots is an IPv4address (RFC 5954 §4.1: each part 0-255) or nothing, since
 * its last label cannot be a toplabel. Sets {@link hostHadUpper}.
 */
export function scanHostB(s: string, b: Uint8Array, i: number, n: number): number {
  hostHadUpper = false;
  if (i >= n) {
    return -1;
  }
  if (b[i] === 0x5b) {
    // IPv6reference = "[" IPv6address "]"
    const j = scanSetB(b, i + 1, n, IPV6CHAR);
    if (j >= n || b[j] !== 0x5d || !parseIPv6(s, i + 1, j, null)) {
      return -1;
    }
    // Hex digits may be upper case; hosts compare case-insensitively.
    hostHadUpper = true;
    return j + 1;
  }
  const cls = HOST_CLASS;
  let k = i;
  // The class of the previous byte; a virtual "." precedes the first label.
  let prev = 4;
  let topAlpha = false;
  let numeric = true;
  let upper = false;
  for (; k < n; k++) {
    let c = cls[b[k]!]!;
    if (c === 0) {
      break;
    }
    if (c === 5) {
      upper = true;
      c = 2;
    }
    if (c === 4) {
      // An empty label, or a label ending in "-".
      if (prev === 4 || prev === 3) {
        return -1;
      }
    } else if (prev === 4) {
      // A label starts: not with "-"; the last one to start is the toplabel.
      if (c === 3) {
        return -1;
      }
      topAlpha = c === 2;
    }
    if (c === 2 || c === 3) {
      numeric = false;
    }
    prev = c;
  }
  if (k === i) {
    return -1;
  }
  hostHadUpper = upper;
  if (numeric) {
    return isIPv4B(b, i, k) ? k : -1;
  }
  // A trailing "." (fully qualified name) is fine; a trailing "-" is not.
  return prev !== 3 && topAlpha ? k : -1;
}

/**
 * The unsigned decimal `1*DIGIT` at `b[from, to)` exactly, or -1 when the range is empty, holds
 * a non-digit, or exceeds `max`. Stops reading at the first problem.
 */
export function boundedNumberB(b: Uint8Array, from: number, to: number, max: number): number {
  if (to <= from) {
    return -1;
  }
  let v = 0;
  for (let k = from; k < to; k++) {
    const d = b[k]! - 0x30;
    if (d < 0 || d > 9) {
      return -1;
    }
    v = v * 10 + d;
    if (v > max) {
      return -1;
    }
  }
  return v;
}

/**
 * IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet over `b[from, to)`. RFC 3261
 * wrote 1*3DIGIT; RFC 5954 §4.1 narrows each part to 0-255, which is what an address can hold.
 */
export function isIPv4B(b: Uint8Array, from: number, to: number): boolean {
  let dots = 0;
  let digits = 0;
  let v = 0;
  for (let k = from; k < to; k++) {
    const c = b[k]!;
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) {
        return false;
      }
      dots++;
      digits = 0;
      v = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      v = v * 10 + c - 0x30;
      if (++digits > 3 || v > 255) {
        return false;
      }
    } else {
      return false;
    }
  }
  return dots === 3 && digits > 0;
}
