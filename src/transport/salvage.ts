/**
 * Enough of a request the parser refused to answer it. RFC 3261 §8.2.2 and §16.3 want a bad
 * request answered (400, 505 for a version, 513 for size) rather than left to time out, but a
 * request that failed to parse has no message object. This reads just the start line and the
 * five headers a response copies (RFC 3261 §8.2.6.2: Via, From, To, Call-ID, CSeq) from the
 * head, so the transport can answer with the parser's status and reason. It runs only on input
 * that already failed, and reads at most the head-size limit.
 */
import { canonicalName, HeaderField, SipRequest } from '../sip/index.js';

/** The header lines a response to the request copies. */
const COPIED = new Set(['via', 'from', 'to', 'call-id', 'cseq']);
/** RFC 3261 §25.1 token characters, for the method. */
const METHOD = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const HEADER_NAME = /^[A-Za-z0-9.!%*_+`'~-]+$/;

/**
 * A request holding the copied headers of `buf`'s head, or null when `buf` is not a request, is
 * an ACK (never answered, RFC 3261 §17.1.1.3), or has no top Via that parses (no way back).
 */
export function salvageRequest(buf: Buffer, maxHeadBytes: number): SipRequest | null {
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) {
    start++;
  }
  const limit = Math.min(buf.length, start + maxHeadBytes);
  let end = buf.indexOf('\r\n\r\n', start, 'latin1');
  if (end < 0 || end > limit) {
    end = limit;
  }
  const lines = buf.toString('latin1', start, end).split(/\r?\n/);
  const startLine = lines[0] ?? '';
  const sp1 = startLine.indexOf(' ');
  const sp2 = startLine.lastIndexOf(' ');
  if (sp1 <= 0 || sp2 <= sp1 || startLine.startsWith('SIP/')) {
    return null;
  }
  const method = startLine.slice(0, sp1);
  if (!METHOD.test(method) || method === 'ACK') {
    return null;
  }
  const fields: HeaderField[] = [];
  let name = '';
  let value = '';
  const flush = (): void => {
    if (COPIED.has(name)) {
      fields.push(new HeaderField(name, value));
    }
    name = '';
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) {
      break;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      // RFC 3261 §7.3.1: a folded line continues the previous value.
      value += ` ${line.trim()}`;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    const raw = colon < 0 ? '' : line.slice(0, colon).trim();
    if (HEADER_NAME.test(raw)) {
      name = canonicalName(raw);
      value = line.slice(colon + 1).trim();
    }
  }
  flush();
  const req = new SipRequest(method, startLine.slice(sp1 + 1, sp2), fields);
  try {
    if (req.topVia() === undefined || req.cseq().method === 'ACK') {
      return null;
    }
  } catch {
    return null; // no usable Via or CSeq: a response could not be routed or matched
  }
  return req;
}
