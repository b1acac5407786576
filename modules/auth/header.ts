/**
 * Parsing of `Authorization` / `Proxy-Authorization` values (RFC 3261 §25.1 `credentials`,
 * RFC 7616 §3.4): a scheme, then comma-separated `name=value` pairs whose values are tokens or
 * quoted-strings with `\` escapes. Network input: the parser never throws and never backtracks;
 * it returns why a value is malformed instead.
 */

/** One parsed credentials value: the scheme as written and its parameters, names lower-cased. */
export interface ParsedCredentials {
  readonly scheme: string;
  readonly params: ReadonlyMap<string, string>;
}

export type CredentialsParse =
  | { readonly ok: true; readonly value: ParsedCredentials }
  | { readonly ok: false; readonly reason: string };

/** Longer values are refused: a real Digest answer is a few hundred bytes. */
export const MAX_CREDENTIALS_LENGTH = 4096;
const MAX_PARAMS = 32;

const SP = 0x20;
const HTAB = 0x09;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** RFC 3261 §25.1 `token` characters. */
function isTokenChar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x21 || // !
    c === 0x25 || // %
    c === 0x2a || // *
    c === 0x5f || // _
    c === 0x2b || // +
    c === 0x60 || // `
    c === 0x27 || // '
    c === 0x7e // ~
  );
}

function fail(reason: string): CredentialsParse {
  return { ok: false, reason };
}

/**
 * Is this credentials value of the Digest scheme? Checked before parsing, so other schemes
 * (Basic's token68, Bearer) are passed over rather than taken for malformed Digest.
 */
export function isDigest(text: string): boolean {
  const i = skipWs(text, 0);
  if (text.slice(i, i + 6).toLowerCase() !== 'digest') {
    return false;
  }
  const c = text.charCodeAt(i + 6);
  return Number.isNaN(c) || c === SP || c === HTAB;
}

/** Parse one header field value. */
export function parseCredentials(text: string): CredentialsParse {
  const n = text.length;
  if (n > MAX_CREDENTIALS_LENGTH) {
    return fail('credentials too long');
  }
  let i = skipWs(text, 0);
  const schemeStart = i;
  while (i < n && isTokenChar(text.charCodeAt(i))) {
    i++;
  }
  if (i === schemeStart) {
    return fail('no auth scheme');
  }
  const scheme = text.slice(schemeStart, i);
  if (i < n && text.charCodeAt(i) !== SP && text.charCodeAt(i) !== HTAB) {
    return fail('bad auth scheme');
  }
  const params = new Map<string, string>();
  // RFC 3261 §25.1: credentials = auth-scheme LWS auth-param *(COMMA auth-param); empty list
  // elements are tolerated as the #rule of RFC 7230 §7 allows.
  for (;;) {
    i = skipWs(text, i);
    while (i < n && text.charCodeAt(i) === COMMA) {
      i = skipWs(text, i + 1);
    }
    if (i >= n) {
      break;
    }
    const nameStart = i;
    while (i < n && isTokenChar(text.charCodeAt(i))) {
      i++;
    }
    if (i === nameStart) {
      return fail(`unexpected character at ${i}`);
    }
    const name = text.slice(nameStart, i).toLowerCase();
    i = skipWs(text, i);
    if (text.charCodeAt(i) !== EQUALS) {
      return fail(`parameter ${name} has no value`);
    }
    i = skipWs(text, i + 1);
    let value: string;
    if (text.charCodeAt(i) === DQUOTE) {
      const q = readQuoted(text, i);
      if (q === null) {
        return fail(`unterminated quoted-string in ${name}`);
      }
      value = q.value;
      i = q.end;
    } else {
      // Lenient: some clients write values such as algorithm or nc as bare tokens, and a few
      // write URIs unquoted; anything up to the next separator is taken.
      const start = i;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === COMMA || c === SP || c === HTAB || c === DQUOTE) {
          break;
        }
        i++;
      }
      if (i === start) {
        return fail(`parameter ${name} has an empty value`);
      }
      value = text.slice(start, i);
    }
    // RFC 7616 §3.4: each parameter appears at most once; a repeated one makes the whole
    // value ambiguous, so it is refused rather than resolved either way.
    if (params.has(name)) {
      return fail(`parameter ${name} repeated`);
    }
    if (params.size >= MAX_PARAMS) {
      return fail('too many parameters');
    }
    params.set(name, value);
    i = skipWs(text, i);
    if (i < n && text.charCodeAt(i) !== COMMA) {
      return fail(`expected a comma after ${name}`);
    }
  }
  return { ok: true, value: { scheme, params } };
}

function skipWs(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== SP && c !== HTAB) {
      break;
    }
    i++;
  }
  return i;
}

/** A quoted-string starting at `i` (the opening quote): its unescaped text and where it ends. */
function readQuoted(text: string, i: number): { value: string; end: number } | null {
  let out = '';
  let from = i + 1;
  for (let k = i + 1; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c === BACKSLASH) {
      // RFC 3261 §25.1 quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F): the next char stands for itself.
      if (k + 1 >= text.length) {
        return null;
      }
      out += text.slice(from, k);
      from = k + 1;
      k++;
    } else if (c === DQUOTE) {
      return { value: out + text.slice(from, k), end: k + 1 };
    }
  }
  return null;
}

/** Quote a value for a challenge: `"` and `\` escaped (RFC 3261 §25.1 quoted-pair). */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
