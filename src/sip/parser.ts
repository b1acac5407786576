/**
 * The message parser: bytes in, a SipRequest or SipResponse out. It decodes the header block
 * once (latin1, so character offsets equal byte offsets), splits it into lines, unfolds
 * continuation lines, checks the start line, and frames the body with Content-Length. Header
 * values are not parsed here; the message does that on first access. Every failure is a
 * SipParseError carrying the status and reason a reply should use.
 */
import { SipParseError } from '../core/errors.js';
import { TOKEN } from './chars.js';
import { asciiLower } from './chars.js';
import { HeaderField, RawSource } from './header-field.js';
import { knownNameAt, knownNameEnd } from './header-names.js';
import { EMPTY_BODY } from './message.js';
import { SipRequest } from './sip-request.js';
import { SipResponse } from './sip-response.js';
import { parseStartLineAt, type StartLine } from './start-line.js';

export interface ParseLimits {
  /** Largest header block accepted, in bytes (start line included). */
  maxHeadBytes: number;
  /** Largest body accepted, in bytes. */
  maxBodyBytes: number;
  /** Most header lines accepted. */
  maxHeaders: number;
}

export interface ParseOptions extends Partial<ParseLimits> {
  /**
   * True (the default) for a datagram: Content-Length may be absent, and then the body runs to
   * the end of the packet (RFC 3261 §18.3). False for a message the stream framer cut out, where
   * Content-Length is mandatory.
   */
  datagram?: boolean;
}

export const DEFAULT_LIMITS: Readonly<ParseLimits> = {
  maxHeadBytes: 32768,
  maxBodyBytes: 65536,
  maxHeaders: 256,
};

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LFLF = Buffer.from('\n\n', 'latin1');
// Bytes are compared with literals (CR 0x0d, LF 0x0a, SP 0x20, HTAB 0x09, ":" 0x3a), not named
// module-level consts: optimised code loads such a const from the module context and checks it
// at every use (measured under callgrind: ~4 % of a parse), and tsc does not inline a const enum
// under isolatedModules.

/** Content-Length values longer than this cannot be valid under any limit we accept. */
const MAX_LENGTH_DIGITS = 10;

export type SipMessageParsed = SipRequest | SipResponse;

/**
 * Parse one SIP message from `buf`. Bytes after the body (a datagram carrying more than one
 * message, RFC 4475 §3.1.1.8) are ignored: RFC 3261 §18.3 "Any additional bytes in the transport
 * packet beyond the end of the body MUST be discarded."
 */
export function parseMessage(buf: Buffer, options: ParseOptions = {}): SipMessageParsed {
  const maxHeadBytes = options.maxHeadBytes ?? DEFAULT_LIMITS.maxHeadBytes;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_LIMITS.maxBodyBytes;
  const maxHeaders = options.maxHeaders ?? DEFAULT_LIMITS.maxHeaders;
  const datagram = options.datagram ?? true;

  // RFC 3261 §7.5: "Implementations processing SIP messages over stream-oriented transports
  // MUST ignore any CRLF appearing before the start-line".
  let start = 0;
  // No message we accept comes near 2 GiB; past it, offsets would not fit the int32 below.
  if (buf.length > 0x7fffffff) {
    throw new SipParseError('SIP_ERR_BODY_TOO_LARGE');
  }
  // An int32: a typed array's length is a double to the optimiser, and every offset compared
  // with it or set from it would be converted back and checked.
  const len = buf.length | 0;
  while (start < len && (buf[start] === 0x0d || buf[start] === 0x0a)) {
    start++;
  }
  if (start === len) {
    throw new SipParseError('SIP_ERR_EMPTY');
  }

  // The whole message is decoded once, from byte 0, so that an offset into the text is an
  // offset into the buffer: the header grammars read bytes (a Buffer read costs well under half
  // of a charCodeAt here) and cut strings out of the text with the same offsets, and the
  // serializer can take an untouched body from the same text. The lines are split as they come
  // and the first empty line ends the head, so the head is not searched for separately.
  const text = buf.toString('latin1', 0, len);
  const src = new RawSource(buf, 0, text);
  const headers: HeaderField[] = [];
  let startLine: string;
  let sl: StartLine;
  // Where the first empty line starts, and where the line after it starts; -1 when none.
  let emptyAt = -1;
  let afterEmpty = -1;
  try {
    let eol = text.indexOf('\n', start);
    if (eol < 0) {
      eol = len;
    }
    const slEnd = buf[eol - 1] === 0x0d ? eol - 1 : eol;
    startLine = text.slice(start, slEnd);
    // The start line is checked before the headers so that its error, the most telling, wins.
    sl = parseStartLineAt(text, buf, start, slEnd);
    let pos = eol + 1;
    while (pos < len) {
      let end = text.indexOf('\n', pos);
      if (end < 0) {
        end = len;
      }
      const lineEnd = buf[end - 1] === 0x0d ? end - 1 : end;
      if (lineEnd === pos) {
        emptyAt = pos;
        afterEmpty = end + 1;
        break;
      }
      const first = buf[pos]!;
      if (first === 0x20 || first === 0x09) {
        // RFC 3261 §7.3.1: "Header fields can be extended over multiple lines by preceding each
        // extra line with at least one SP or horizontal tab (HT). The line break and the
        // whitespace at the beginning of the next line are treated as a single SP character."
        const last = headers.length - 1;
        if (last < 0) {
          throw new SipParseError('SIP_ERR_HEADER_SYNTAX', 'Continuation Line Before Any Header');
        }
        headers[last] = unfold(headers[last]!, src, pos, lineEnd);
      } else {
        if (headers.length >= maxHeaders) {
          throw new SipParseError('SIP_ERR_TOO_MANY_HEADERS');
        }
        // header-name HCOLON, HCOLON = *( SP / HTAB ) ":" SWS. A common name is recognised
        // in place; any other is scanned over the bytes as a token.
        let name = knownNameAt(buf, pos, lineEnd);
        let j = knownNameEnd;
        if (name === undefined) {
          j = pos;
          while (j < lineEnd && TOKEN[buf[j]!] === 1) {
            j++;
          }
        }
        let colon = j;
        while (colon < lineEnd && (buf[colon] === 0x20 || buf[colon] === 0x09)) {
          colon++;
        }
        if (j === pos || colon === lineEnd || buf[colon] !== 0x3a) {
          throw badHeaderLine(text, pos, lineEnd);
        }
        name ??= otherName(text, pos, j);
        headers.push(HeaderField.received(name, src, pos, lineEnd, colon));
      }
      pos = end + 1;
    }
  } catch (err) {
    // A head that cannot be framed (no end, or too large) is the error to report, as if it had
    // been looked for first.
    headBounds(buf, start, maxHeadBytes, datagram);
    throw err;
  }

  // The usual case: CRLF CRLF ends the head, and it is the first empty line. Anything else
  // (bare LFs, no empty line in a datagram) is framed by the general rule.
  let bodyStart: number;
  let sepLen = 4;
  if (
    emptyAt >= 2 &&
    buf[emptyAt - 2] === 0x0d &&
    buf[emptyAt] === 0x0d &&
    buf[emptyAt + 1] === 0x0a
  ) {
    if (emptyAt - 2 - start > maxHeadBytes) {
      throw new SipParseError('SIP_ERR_HEAD_TOO_LARGE');
    }
    bodyStart = afterEmpty;
  } else {
    const headEnd = headBounds(buf, start, maxHeadBytes, datagram);
    sepLen = boundSep;
    // An empty line before the separator found: a bare-LF peer ended its headers there and the
    // separator lies in the body.
    bodyStart = emptyAt >= 0 && emptyAt < headEnd ? afterEmpty : headEnd + sepLen;
  }

  let contentLength = -1;
  for (const h of headers) {
    if (h.name === 'content-length') {
      const n =
        h.valueFrom >= 0
          ? contentLengthAt(buf, h.valueFrom, h.end)
          : contentLengthAt(Buffer.from(h.value, 'latin1'), 0, h.value.length);
      // Two Content-Length values that disagree leave the body length unknowable (RFC 4475
      // §3.3.9, mcl01).
      if (contentLength >= 0 && n !== contentLength) {
        throw new SipParseError('SIP_ERR_CONTENT_LENGTH_MISMATCH');
      }
      contentLength = n;
    }
  }

  // ---- body ----
  let bodyEnd: number;
  if (contentLength >= 0) {
    if (contentLength > maxBodyBytes) {
      throw new SipParseError('SIP_ERR_BODY_TOO_LARGE');
    }
    bodyEnd = bodyStart + contentLength;
    // RFC 3261 §18.3: "If the transport packet ends before the end of the message body, this is
    // considered an error."
    if (bodyEnd > len) {
      throw new SipParseError('SIP_ERR_BODY_TRUNCATED');
    }
  } else {
    if (!datagram) {
      // RFC 3261 §18.3: Content-Length "MUST be used with stream oriented transports".
      throw new SipParseError('SIP_ERR_CONTENT_LENGTH', 'Missing Content-Length');
    }
    bodyEnd = len;
    if (bodyEnd - bodyStart > maxBodyBytes) {
      throw new SipParseError('SIP_ERR_BODY_TOO_LARGE');
    }
  }
  // A datagram without its empty line has no bytes worth forwarding as they are: with no
  // source the message serializes afresh, empty line included.
  const source =
    sepLen === 0 ? null : start === 0 && bodyEnd === len ? buf : buf.subarray(start, bodyEnd);
  if (sl.request) {
    const req = new SipRequest(
      sl.method,
      sl.uri,
      headers,
      EMPTY_BODY,
      source,
      startLine,
      sl.version,
    );
    req.receivedUriAt(src, start + sl.method.length + 1);
    req.receivedBody(src, bodyStart, bodyEnd);
    return req;
  }
  const res = new SipResponse(
    sl.status,
    sl.reason,
    headers,
    EMPTY_BODY,
    source,
    startLine,
    sl.version,
  );
  res.receivedBody(src, bodyStart, bodyEnd);
  return res;
}

/** The separator length {@link headBounds} found: 4 (CRLF CRLF), 2 (LF LF) or 0 (none). */
let boundSep = 4;

/**
 * Where the head of the message at `buf[start..]` ends (the index of its CRLF CRLF, else of its
 * LF LF, else the end of a datagram whose last line ends the packet), with the separator's length
 * in {@link boundSep}; throws SIP_ERR_NO_HEAD_END or SIP_ERR_HEAD_TOO_LARGE.
 */
function headBounds(buf: Buffer, start: number, maxHeadBytes: number, datagram: boolean): number {
  const len = buf.length;
  let headEnd = buf.indexOf(CRLFCRLF, start);
  boundSep = 4;
  if (headEnd < 0) {
    // Lenient peers end lines with bare LF.
    headEnd = buf.indexOf(LFLF, start);
    boundSep = 2;
  }
  if (headEnd < 0) {
    if (len - start > maxHeadBytes) {
      throw new SipParseError('SIP_ERR_HEAD_TOO_LARGE');
    }
    // A datagram whose last header line ends the packet lacks only the empty line; with no
    // room for a body, its end is unambiguous, so accept it (RFC 3261 §18.3 frames datagrams
    // by the packet). A stream has no such boundary and must wait for the empty line.
    if (!datagram || buf[len - 1] !== 0x0a) {
      throw new SipParseError('SIP_ERR_NO_HEAD_END');
    }
    headEnd = len;
    boundSep = 0;
  }
  if (headEnd - start > maxHeadBytes) {
    throw new SipParseError('SIP_ERR_HEAD_TOO_LARGE');
  }
  return headEnd;
}

/** A continuation line at `[from, to)` joined to the field before it. */
function unfold(prev: HeaderField, src: RawSource, from: number, to: number): HeaderField {
  const more = trimWs(src.text.slice(from, to));
  let value = prev.value;
  if (more.length > 0) {
    value = value.length > 0 ? `${value} ${more}` : more;
  }
  return new HeaderField(prev.name, value, src, prev.start, to);
}

/**
 * The error for a header line whose name is not a token followed by HCOLON: no colon at all, or
 * something else before it.
 */
function badHeaderLine(head: string, from: number, lineEnd: number): SipParseError {
  const colon = head.indexOf(':', from);
  if (colon < 0 || colon >= lineEnd) {
    return new SipParseError('SIP_ERR_HEADER_SYNTAX', 'Header Line Without Colon');
  }
  return new SipParseError('SIP_ERR_HEADER_SYNTAX', 'Malformed Header Name');
}

/** A header name (token characters, checked) that is not one of the common ones, lower-cased. */
function otherName(head: string, from: number, to: number): string {
  const name = head.slice(from, to);
  for (let i = from; i < to; i++) {
    const c = head.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) {
      return asciiLower(name);
    }
  }
  return name;
}

/**
 * Content-Length = 1*DIGIT (RFC 3261 §20.14) over `b[from, to)`, SP/HTAB around it allowed.
 * Signs, inner spaces and hex are errors (RFC 4475 ncl).
 */
function contentLengthAt(b: Uint8Array, from: number, to: number): number {
  while (from < to && (b[from] === 0x20 || b[from] === 0x09)) {
    from++;
  }
  while (to > from && (b[to - 1] === 0x20 || b[to - 1] === 0x09)) {
    to--;
  }
  if (to === from || to - from > MAX_LENGTH_DIGITS) {
    throw new SipParseError('SIP_ERR_CONTENT_LENGTH');
  }
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) {
      throw new SipParseError('SIP_ERR_CONTENT_LENGTH');
    }
    n = n * 10 + d;
  }
  return n;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Trim SP and HTAB only; String#trim would also eat 0xA0, a byte of many UTF-8 sequences. */
function trimWs(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWs(s.charCodeAt(a))) {
    a++;
  }
  while (b > a && isWs(s.charCodeAt(b - 1))) {
    b--;
  }
  return a === 0 && b === s.length ? s : s.slice(a, b);
}
