/**
 * Start lines (RFC 3261 §7.1, §7.2). The shapes nearly every element sends, `METHOD uri SIP/2.0`
 * and `SIP/2.0 code reason`, are checked over the received bytes in one pass; anything else goes
 * through the general check, which names the problem.
 */
import { SipParseError } from '../core/errors.js';
import { TOKEN } from './chars.js';
import { methodAt } from './headers/cseq.js';

const SP = 0x20;
const HTAB = 0x09;

/** `SIP/2.0` at `b[i]`. */
function isSip20(b: Uint8Array, i: number): boolean {
  return (
    b[i] === 0x53 &&
    b[i + 1] === 0x49 &&
    b[i + 2] === 0x50 &&
    b[i + 3] === 0x2f &&
    b[i + 4] === 0x32 &&
    b[i + 5] === 0x2e &&
    b[i + 6] === 0x30
  );
}

/**
 * Check the start line at `text[from, to)` (see src/sip/bytes.ts for the `(text, b)` pair),
 * exactly as {@link parseStartLine} checks `text.slice(from, to)`.
 */
export function parseStartLineAt(text: string, b: Uint8Array, from: number, to: number): StartLine {
  if (to - from >= 11 && isSip20(b, from) && b[from + 7] === SP) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2), with a
    // 3-digit code from 100 to 699 (RFC 3261 §21 defines those classes only).
    const d0 = b[from + 8]! - 0x30;
    const d1 = b[from + 9]! - 0x30;
    const d2 = b[from + 10]! - 0x30;
    const after = from + 11;
    if (
      d0 >= 1 &&
      d0 <= 6 &&
      d1 >= 0 &&
      d1 <= 9 &&
      d2 >= 0 &&
      d2 <= 9 &&
      (after === to || b[after] === SP) &&
      !hasControl(b, after, to)
    ) {
      const reason = after === to ? '' : text.slice(after + 1, to);
      return new StartLine(false, '', '', d0 * 100 + d1 * 10 + d2, reason, 'SIP/2.0');
    }
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1): a token, one SP, the
    // URI up to the next SP, and SIP/2.0 ending the line (so no further SP).
    let i = from;
    while (i < to && TOKEN[b[i]!] === 1) {
      i++;
    }
    if (i > from && i < to && b[i] === SP) {
      const sp2 = text.indexOf(' ', i + 1);
      if (sp2 > i + 1 && sp2 === to - 8 && isSip20(b, sp2 + 1)) {
        const method = methodAt(text, b, from, i);
        return new StartLine(true, method, text.slice(i + 1, sp2), 0, '', 'SIP/2.0');
      }
    }
  }
  return parseStartLine(text.slice(from, to));
}

/** A control character other than HTAB in `b[from, to)` (a reason phrase may not hold one). */
function hasControl(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c < 0x20 ? c !== HTAB : c === 0x7f) {
      return true;
    }
  }
  return false;
}

/** The checked parts of a start line. */
export class StartLine {
  constructor(
    readonly request: boolean,
    readonly method: string,
    readonly uri: string,
    readonly status: number,
    readonly reason: string,
    readonly version: string,
  ) {}
}

/** Check a start line (without its CRLF); throws SipParseError naming what is wrong. */
export function parseStartLine(line: string): StartLine {
  if (line.length === 0) {
    throw new SipParseError('SIP_ERR_START_LINE', 'Empty Start Line');
  }
  // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
  if (startsWithSipSlash(line)) {
    const sp1 = line.indexOf(' ');
    if (sp1 < 0) {
      throw new SipParseError('SIP_ERR_START_LINE', 'Malformed Status Line');
    }
    const version = checkVersion(line.slice(0, sp1));
    const sp2 = line.indexOf(' ', sp1 + 1);
    const codeText = sp2 < 0 ? line.slice(sp1 + 1) : line.slice(sp1 + 1, sp2);
    // Status-Code = 3DIGIT, and RFC 3261 §21 only defines classes 1xx to 6xx.
    if (
      codeText.length !== 3 ||
      !isDigit(codeText.charCodeAt(0)) ||
      !isDigit(codeText.charCodeAt(1)) ||
      !isDigit(codeText.charCodeAt(2))
    ) {
      throw new SipParseError('SIP_ERR_STATUS_CODE');
    }
    const status = Number(codeText);
    if (status < 100 || status > 699) {
      throw new SipParseError('SIP_ERR_STATUS_CODE');
    }
    const reason = sp2 < 0 ? '' : line.slice(sp2 + 1);
    for (let i = 0; i < reason.length; i++) {
      const c = reason.charCodeAt(i);
      if (c < 0x20 ? c !== HTAB : c === 0x7f) {
        throw new SipParseError('SIP_ERR_START_LINE', 'Control Character In Reason Phrase');
      }
    }
    return new StartLine(false, '', '', status, reason, version);
  }

  // Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 §7.1): exactly one SP
  // between elements; RFC 4475 §3.1.2.9 (lwsstart) and §3.1.2.10 (trws) test exactly this.
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || sp2 === sp1 + 1 || line.indexOf(' ', sp2 + 1) >= 0) {
    throw new SipParseError('SIP_ERR_START_LINE', 'Malformed Request Line');
  }
  if (!isTokenRange(line, 0, sp1)) {
    throw new SipParseError('SIP_ERR_METHOD');
  }
  const version = checkVersion(line.slice(sp2 + 1));
  // The Request-URI is checked by its grammar when first read (requestUri(), which validation
  // calls), like any other value: no character walk here.
  return new StartLine(true, line.slice(0, sp1), line.slice(sp1 + 1, sp2), 0, '', version);
}

/** SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; anything but 2.0 earns a 505 (RFC 3261 §8.2.2). */
function checkVersion(v: string): string {
  if (v === 'SIP/2.0') {
    return v;
  }
  if (!startsWithSipSlash(v)) {
    throw new SipParseError('SIP_ERR_START_LINE', 'Malformed SIP Version');
  }
  const dot = v.indexOf('.', 4);
  if (
    dot < 5 ||
    dot === v.length - 1 ||
    !isDigitRange(v, 4, dot) ||
    !isDigitRange(v, dot + 1, v.length)
  ) {
    throw new SipParseError('SIP_ERR_START_LINE', 'Malformed SIP Version');
  }
  const upper = v.toUpperCase();
  if (upper === 'SIP/2.0') {
    return upper;
  }
  throw new SipParseError('SIP_ERR_VERSION', `Version Not Supported (${v})`);
}

function startsWithSipSlash(s: string): boolean {
  return (
    s.length >= 4 &&
    (s.charCodeAt(0) | 0x20) === 0x73 &&
    (s.charCodeAt(1) | 0x20) === 0x69 &&
    (s.charCodeAt(2) | 0x20) === 0x70 &&
    s.charCodeAt(3) === 0x2f
  );
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isDigitRange(s: string, from: number, to: number): boolean {
  if (to <= from) {
    return false;
  }
  for (let i = from; i < to; i++) {
    if (!isDigit(s.charCodeAt(i))) {
      return false;
    }
  }
  return true;
}

function isTokenRange(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TOKEN[c] === 0) {
      return false;
    }
  }
  return true;
}
