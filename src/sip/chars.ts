/**
 * Character classes of the SIP grammar (RFC 3261 §25.1) as lookup tables over char codes.
 * A table read costs one load; the equivalent regex or chain of comparisons costs far more on the
 * hot path, and tables cannot backtrack.
 */

function table(chars: string, ranges: [number, number][] = []): Uint8Array {
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

/** True when `s` is 1*DIGIT. */
export function isDigits(s: string): boolean {
  const n = s.length;
  if (n === 0) {
    return false;
  }
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) {
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
