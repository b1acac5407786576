/**
 * Character classes of the SIP grammar (RFC 3261 §25.1) as lookup tables over char codes.
 * A table read costs one load; the equivalent regex or chain of comparisons costs far more on the
 * hot path, and tables cannot backtrack.
 */

/** A lookup table holding `chars` and the inclusive code `ranges`. */
export function table(chars: string, ranges: [number, number][] = []): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) {
    t[chars.charCodeAt(i)] = 1;
  }
  for (const [lo, hi] of ranges) {
    for (let c = lo; c <= hi; c++) {
      t[c] = 1;
    }
  }
  return t;
}

const ALNUM: [number, number][] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
];

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN = table("-.!%*_+`'~", ALNUM);

/** word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")" /
 * "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}" ) — used by Call-ID. */
export const WORD = table('-.!%*_+`\'~()<>:\\"/[]?{}', ALNUM);

/** unreserved = alphanum / mark */
export const UNRESERVED = table("-_.!~*'()", ALNUM);

/** user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/" */
export const USER = table("-_.!~*'()&=+$,;?/", ALNUM);

/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
export const PASSWORD = table("-_.!~*'()&=+$,", ALNUM);

/** paramchar = param-unreserved / unreserved / escaped; param-unreserved = "[" / "]" / "/" /
 * ":" / "&" / "+" / "$" */
export const PARAMCHAR = table("-_.!~*'()[]/:&+$", ALNUM);

/** hnv-unreserved / unreserved for URI header names and values: "[" / "]" / "/" / "?" / ":" /
 * "+" / "$" */
export const HNV = table("-_.!~*'()[]/?:+$", ALNUM);

/** Host name characters (alphanum, "-", "."), plus what IPv4 needs. */
export const HOSTNAME = table('-.', ALNUM);

export const DIGIT = table('0123456789');
export const HEX = table('0123456789abcdefABCDEF');

/** SP or HTAB. */
export const WSP = table(' \t');

/** True when every character of `s` is a token character; false for the empty string. */
export function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) {
    return false;
  }
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TOKEN[c] === 0) {
      return false;
    }
  }
  return true;
}

/** Decode a binary (latin1) string holding UTF-8 bytes, for display and logs only. */
export function decodeUtf8(binary: string): string {
  return Buffer.from(binary, 'latin1').toString('utf8');
}

/** Encode a JavaScript string as UTF-8 and return it as a binary string for the message model. */
export function encodeUtf8(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

// ---------------------------------------------------------------------------------------------
// Scanning helpers shared by the header parsers (src/sip/uri.ts, params.ts, headers/*). They take
// an index and return an index, never allocate, and never throw: the callers own the error codes.
// ---------------------------------------------------------------------------------------------

const ALPHA_RANGES: [number, number][] = [
  [0x41, 0x5a],
  [0x61, 0x7a],
];

export const ALPHA = table('', ALPHA_RANGES);

/** scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1) */
export const SCHEME = table('+-.', ALNUM);

/**
 * qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII (RFC 3261 §25.1). Folded line breaks
 * have already become SP by the time a value reaches a parser, so LWS here is SP or HTAB.
 */
export const QDTEXT = table(' \t!', [
  [0x23, 0x5b],
  [0x5d, 0x7e],
  [0x80, 0xff],
]);

/**
 * quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F) (RFC 3261 §25.1), widened to bytes 0x80-0xFF
 * (RFC 7230 §3.2.6 obs-text): a UA that escapes a UTF-8 byte is sloppy, not dangerous, and a
 * proxy gains nothing by failing the call. CR and LF stay excluded.
 */
export const QPAIR = table('', [
  [0x00, 0x09],
  [0x0b, 0x0c],
  [0x0e, 0xff],
]);

/** token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" (RFC 7235 §2.1) */
export const TOKEN68 = table('-._~+/', ALNUM);

/**
 * `s.slice(a, b)` with ASCII letters lower-cased. Names, schemes and hosts are ASCII, and V8's
 * toLowerCase costs tens of nanoseconds even when nothing changes, so it runs only when an
 * upper-case letter is present.
 */
export function lowerSlice(s: string, a: number, b: number): string {
  for (let k = a; k < b; k++) {
    const c = s.charCodeAt(k);
    if (c >= 0x41 && c <= 0x5a) {
      return asciiLower(s.slice(a, b));
    }
  }
  return s.slice(a, b);
}

/** `s.slice(a, b)` with ASCII letters upper-cased (Via protocol and transport tokens). */
export function upperSlice(s: string, a: number, b: number): string {
  for (let k = a; k < b; k++) {
    const c = s.charCodeAt(k);
    if (c >= 0x61 && c <= 0x7a) {
      return s.slice(a, b).replace(/[a-z]+/g, (m) => m.toUpperCase());
    }
  }
  return s.slice(a, b);
}

/**
 * `s` with ASCII letters lower-cased and every other byte untouched: String#toLowerCase would
 * also map latin1 bytes such as 0xC0, which in a binary string are parts of UTF-8 sequences.
 */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** Index of the first character at or after `i` that is not SP or HTAB. */
export function skipWs(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) {
      break;
    }
    i++;
  }
  return i;
}

/** Index after the last character before `end` that is not SP or HTAB (never below `start`). */
export function trimEndWs(s: string, start: number, end: number): number {
  while (end > start) {
    const c = s.charCodeAt(end - 1);
    if (c !== 0x20 && c !== 0x09) {
      break;
    }
    end--;
  }
  return end;
}

/** Index of the first character at or after `i` that is not in `set`. */
export function scanSet(s: string, i: number, set: Uint8Array): number {
  const n = s.length;
  while (i < n && set[s.charCodeAt(i)] === 1) {
    i++;
  }
  return i;
}

/** {@link scanQuoted} result: the closing DQUOTE never came. */
export const QUOTE_UNTERMINATED = -1;
/** {@link scanQuoted} result: a character that neither qdtext nor quoted-pair allows. */
export const QUOTE_BAD_CHAR = -2;

/**
 * Scan a quoted-string whose opening DQUOTE is at `i`: `DQUOTE *(qdtext / quoted-pair) DQUOTE`.
 * Returns the index after the closing DQUOTE, or {@link QUOTE_UNTERMINATED} /
 * {@link QUOTE_BAD_CHAR}. One pass, so a value made of 20,000 `\"` pairs costs 40,000 reads.
 */
export function scanQuoted(s: string, i: number): number {
  const n = s.length;
  for (let j = i + 1; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x22) {
      return j + 1;
    }
    if (c === 0x5c) {
      j++;
      if (j >= n) {
        return QUOTE_UNTERMINATED;
      }
      if (QPAIR[s.charCodeAt(j)] !== 1) {
        return QUOTE_BAD_CHAR;
      }
    } else if (QDTEXT[c] !== 1) {
      return QUOTE_BAD_CHAR;
    }
  }
  return QUOTE_UNTERMINATED;
}

/**
 * The content of a quoted-string between `from` (after the opening DQUOTE) and `to` (the closing
 * DQUOTE) with each quoted-pair `\x` resolved to `x`. The range must come from {@link scanQuoted}.
 */
export function unquoteRange(s: string, from: number, to: number): string {
  let k = from;
  while (k < to && s.charCodeAt(k) !== 0x5c) {
    k++;
  }
  if (k === to) {
    return s.slice(from, to);
  }
  let out = '';
  let last = from;
  for (; k < to; k++) {
    if (s.charCodeAt(k) === 0x5c) {
      out += s.slice(last, k);
      k++;
      last = k;
    }
  }
  return out + s.slice(last, to);
}

/**
 * Quote `text` as a quoted-string: `"` and `\` and control characters become quoted-pairs. CR and
 * LF cannot be carried at all (neither qdtext nor quoted-pair allows them) and would split the
 * header, so they become SP.
 */
export function quoteString(text: string): string {
  const n = text.length;
  let out = '"';
  let last = 0;
  for (let k = 0; k < n; k++) {
    const c = text.charCodeAt(k);
    if (c === 0x0a || c === 0x0d) {
      out += text.slice(last, k) + ' ';
      last = k + 1;
    } else if (c === 0x22 || c === 0x5c || (c < 0x20 && c !== 0x09) || c === 0x7f) {
      out += text.slice(last, k) + '\\';
      last = k;
    }
  }
  return out + text.slice(last) + '"';
}

// ---------------------------------------------------------------------------------------------
// Host grammar (RFC 3261 §25.1, RFC 5954 §4.1, RFC 5118): booleans over a range, no allocation.
// ---------------------------------------------------------------------------------------------

/**
 * IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet, over `s[a..b)`. RFC 3261 wrote
 * 1*3DIGIT; RFC 5954 §4.1 narrows each part to 0-255, which is what an address can hold.
 */
export function isIPv4(s: string, a = 0, b: number = s.length): boolean {
  let dots = 0;
  let digits = 0;
  let v = 0;
  for (let k = a; k < b; k++) {
    const c = s.charCodeAt(k);
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

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) {
    return c - 0x30;
  }
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

/**
 * Validate an IPv6address over `s[a..b)` (no brackets) and, when `out` is given, write its eight
 * 16-bit groups there (for comparing `[::1]` with `[0:0::1]`). RFC 5954 §4.1 grammar:
 * `hexpart [ ":" IPv4address ]` where hexpart has at most one `::`, hex4 is 1*4HEXDIG, and the
 * whole is exactly eight groups (an embedded IPv4 counts as two), or fewer when `::` is present.
 */
export function parseIPv6(s: string, a: number, b: number, out: Uint16Array | null): boolean {
  let i = a;
  let n = 0;
  let gap = -1;
  if (out !== null) {
    out.fill(0);
  }
  if (i < b && s.charCodeAt(i) === 0x3a) {
    // A leading colon is only valid as the first half of "::"; "::" alone is the zero address.
    if (i + 1 >= b || s.charCodeAt(i + 1) !== 0x3a) {
      return false;
    }
    gap = 0;
    i += 2;
    if (i === b) {
      return true;
    }
  }
  for (;;) {
    const g = i;
    let v = 0;
    let h = hexValue(s.charCodeAt(i));
    while (i < b && h >= 0 && i - g < 5) {
      v = (v << 4) | h;
      i++;
      h = hexValue(s.charCodeAt(i));
    }
    if (i < b && s.charCodeAt(i) === 0x2e) {
      // ":" IPv4address closes the address and fills the last two groups.
      if (n > 6 || !isIPv4(s, g, b)) {
        return false;
      }
      if (out !== null) {
        let addr = 0;
        let part = 0;
        for (let k = g; k <= b; k++) {
          const c = k < b ? s.charCodeAt(k) : 0x2e;
          if (c === 0x2e) {
            addr = addr * 256 + part;
            part = 0;
          } else {
            part = part * 10 + c - 0x30;
          }
        }
        out[n] = Math.floor(addr / 65536);
        out[n + 1] = addr % 65536;
      }
      n += 2;
      break;
    }
    const len = i - g;
    if (len === 0 || len > 4 || n === 8) {
      return false;
    }
    if (out !== null) {
      out[n] = v;
    }
    n++;
    if (i === b) {
      break;
    }
    if (s.charCodeAt(i) !== 0x3a) {
      return false;
    }
    i++;
    if (i < b && s.charCodeAt(i) === 0x3a) {
      if (gap >= 0) {
        return false;
      }
      gap = n;
      i++;
      if (i === b) {
        break;
      }
    } else if (i === b) {
      return false;
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) {
    return false;
  }
  if (out !== null && gap >= 0) {
    // Move the groups written after "::" to the end and zero the gap.
    const tail = n - gap;
    for (let k = tail - 1; k >= 0; k--) {
      out[8 - tail + k] = out[gap + k] ?? 0;
    }
    for (let k = gap; k < 8 - tail; k++) {
      out[k] = 0;
    }
  }
  return true;
}

/** True when `s` is an IPv6address (no brackets). */
export function isIPv6(s: string): boolean {
  return parseIPv6(s, 0, s.length, null);
}

/** Characters of an IPv6address: HEXDIG, ":" and the "." of an embedded IPv4address. */
export const IPV6CHAR = table(':.', [
  [0x30, 0x39],
  [0x41, 0x46],
  [0x61, 0x66],
]);

/**
 * Host character classes for scanHostB (src/sip/bytes.ts): 1 digit, 2 lower-case letter,
 * 5 upper-case letter, 3 "-", 4 ".", 0 other.
 */
export const HOST_CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  HOST_CLASS[c] =
    DIGIT[c] === 1
      ? 1
      : c >= 0x41 && c <= 0x5a
        ? 5
        : ALPHA[c] === 1
          ? 2
          : c === 0x2d
            ? 3
            : c === 0x2e
              ? 4
              : 0;
}
