/**
 * What a proxy checks before acting on a parsed message (RFC 3261 §8.2, §16.3 item 1, RFC 4475):
 * the mandatory headers are present and well formed, single-value headers appear once, and the
 * CSeq method matches the request method. Each failure is a SipParseError whose status and
 * reason a 400 (or 505) uses. Semantic checks that need proxy state (Max-Forwards reaching 0,
 * loops, Proxy-Require) belong to the proxy core, not here.
 *
 * RFC 3261 §16.3 item 1: "Any components involved in the remainder of these Request
 * Validation steps or the Request Forwarding section MUST be well-formed. Any other components,
 * well-formed or not, SHOULD be ignored and remain unchanged when the message is forwarded." So
 * by default the checks cover what a proxy acts on: the Request-URI, the top Via (the server
 * transaction and the response path), the From and To tags with the address syntax around them,
 * Call-ID, CSeq and Max-Forwards, plus the Contact syntax of a REGISTER (the registrar acts on
 * it). `strictAddresses` also parses every Via and the URIs of From, To and Contact, for a UAS
 * or a module that reads them. See docs/adr/0002-message-model.md.
 */
import { SipParseError } from '../core/errors.js';
import { displayName, SINGLE_VALUE } from './header-names.js';
import { checkContactOf } from './fields.js';
import type { HeaderField } from './header-field.js';
import type { SipMessage } from './message.js';
import type { SipRequest } from './sip-request.js';
import type { SipResponse } from './sip-response.js';

export interface ValidateOptions {
  /**
   * Reject requests without Max-Forwards (the default). RFC 3261 §8.1.1 makes it mandatory for
   * a UAC; only RFC 2543 elements omit it (RFC 4475 §3.4.1, inv2543). Set false to accept them,
   * as RFC 3261 §16.3 item 2 permits; the proxy then adds one when forwarding.
   */
  requireMaxForwards?: boolean;
  /** Also parse every Via and the URIs of From, To and Contact (default false). */
  strictAddresses?: boolean;
}

// Bits for the single pass over the header list.
const VIA = 1;
const FROM = 2;
const TO = 4;
const CALL_ID = 8;
const CSEQ = 16;
const MAX_FORWARDS = 32;
const CONTACT = 64;
/** RFC 3261 §8.1.1: "the following header fields ... are the minimum required". */
const MANDATORY: readonly (readonly [number, string])[] = [
  [VIA, 'via'],
  [FROM, 'from'],
  [TO, 'to'],
  [CALL_ID, 'call-id'],
  [CSEQ, 'cseq'],
];

/** Validate a request; throws SipParseError naming the first problem found. */
export function validateRequest(req: SipRequest, options: ValidateOptions = {}): void {
  const seen = scanHeaders(req);
  if ((options.requireMaxForwards ?? true) && (seen & MAX_FORWARDS) === 0) {
    throw missing('max-forwards');
  }

  const uri = req.requestUri();
  // RFC 3261 §19.1.1 (table of URI components): headers are not allowed in a Request-URI;
  // RFC 4475 §3.1.2.11 (escruri) expects a 400.
  if (uri.kind === 'sip' && uri.headers.size > 0) {
    throw new SipParseError('SIP_ERR_REQUEST_URI', 'Headers Not Allowed In Request-URI');
  }

  checkCommon(req, options);
  const cseq = req.cseq();
  // RFC 3261 §8.1.1.5: "The method MUST match the method of the request"; RFC 4475 §3.1.2.17
  // (mismatch01) and §3.1.2.18 (mismatch02) expect a 400.
  if (cseq.method !== req.method) {
    throw new SipParseError('SIP_ERR_CSEQ_METHOD');
  }
  if ((seen & MAX_FORWARDS) !== 0) {
    req.maxForwards();
  }
  if ((seen & CONTACT) !== 0) {
    if (options.strictAddresses === true) {
      req.contact();
    } else if (req.method === 'REGISTER') {
      for (const h of req.headers) {
        if (h.name === 'contact') {
          checkContactOf(h);
        }
      }
    }
  }
}

/** Validate a response; a response that fails is discarded by the caller (RFC 3261 §18.1.2). */
export function validateResponse(res: SipResponse, options: ValidateOptions = {}): void {
  scanHeaders(res);
  checkCommon(res, options);
}

/** Validate either kind of message. */
export function validateMessage(msg: SipMessage, options: ValidateOptions = {}): void {
  if (msg.isRequest()) {
    validateRequest(msg, options);
  } else if (msg.isResponse()) {
    validateResponse(msg, options);
  }
}

// Bits for the single-value headers of SINGLE_VALUE that are not already bits above.
const CONTENT_LENGTH = 128;
const CONTENT_TYPE = 256;
const EXPIRES = 512;

/**
 * One pass over the header list: which headers are present, and no single-value header twice
 * (RFC 3261 §7.3.1: only headers whose grammar is a comma list may repeat; RFC 4475 §3.3.8,
 * multi01). Throws on a missing mandatory header. The single-value names of SINGLE_VALUE are
 * the cases below that set a bit and fall through to the repeat check.
 */
function scanHeaders(msg: SipMessage): number {
  let seen = 0;
  let repeated = false;
  for (const h of msg.headers) {
    let bit: number;
    switch (h.name) {
      case 'via':
        seen |= VIA;
        continue;
      case 'contact':
        seen |= CONTACT;
        continue;
      case 'from':
        bit = FROM;
        break;
      case 'to':
        bit = TO;
        break;
      case 'call-id':
        bit = CALL_ID;
        break;
      case 'cseq':
        bit = CSEQ;
        break;
      case 'max-forwards':
        bit = MAX_FORWARDS;
        break;
      case 'content-length':
        bit = CONTENT_LENGTH;
        break;
      case 'content-type':
        bit = CONTENT_TYPE;
        break;
      case 'expires':
        bit = EXPIRES;
        break;
      default:
        continue;
    }
    repeated ||= (seen & bit) !== 0;
    seen |= bit;
  }
  if (repeated) {
    throw duplicate(msg.headers);
  }
  for (const [bit, name] of MANDATORY) {
    if ((seen & bit) === 0) {
      throw missing(name);
    }
  }
  return seen;
}

/** The error for the first single-value header that has a later repeat (there is one). */
function duplicate(headers: readonly HeaderField[]): SipParseError {
  let i = 0;
  for (;;) {
    const name = headers[i]!.name;
    if (SINGLE_VALUE.has(name) && headers.some((h, j) => j > i && h.name === name)) {
      return new SipParseError('SIP_ERR_DUPLICATE_HEADER', `Duplicate ${displayName(name)} Header`);
    }
    i++;
  }
}

/** Parse what every message must carry well formed: Via, From, To, Call-ID, CSeq. */
function checkCommon(msg: SipMessage, options: ValidateOptions): void {
  if (options.strictAddresses === true) {
    msg.vias();
    msg.from();
    msg.to();
  } else {
    msg.topVia();
    msg.fromTag();
    msg.toTag();
  }
  msg.callId();
  msg.cseq();
}

function missing(name: string): SipParseError {
  return new SipParseError('SIP_ERR_MISSING_HEADER', `Missing ${displayName(name)} Header`);
}
