/**
 * What a proxy checks before acting on a parsed message (RFC 3261 §8.2, §16.3 item 1, RFC 4475):
 * the mandatory headers are present and well formed, single-value headers appear once, and the
 * CSeq method matches the request method. Each failure is a SipParseError whose status and
 * reason a 400 (or 505) uses. Semantic checks that need proxy state (Max-Forwards reaching 0,
 * loops, Proxy-Require) belong to the proxy core, not here.
 */
import { SipParseError } from '../core/errors.js';
import { displayName, SINGLE_VALUE } from './header-names.js';
import type { SipMessage, SipRequest, SipResponse } from './message.js';

export interface ValidateOptions {
  /**
   * Reject requests without Max-Forwards (the default). RFC 3261 §8.1.1 makes it mandatory for
   * a UAC; only RFC 2543 elements omit it (RFC 4475 §3.4.1, inv2543). Set false to accept them,
   * as RFC 3261 §16.3 item 2 permits; the proxy then adds one when forwarding.
   */
  requireMaxForwards?: boolean;
}

/** RFC 3261 §8.1.1: "the following header fields ... are the minimum required". */
const REQUEST_MANDATORY = ['via', 'from', 'to', 'call-id', 'cseq'] as const;

/** Validate a request; throws SipParseError naming the first problem found. */
export function validateRequest(req: SipRequest, options: ValidateOptions = {}): void {
  checkPresence(req);
  if ((options.requireMaxForwards ?? true) && !req.has('max-forwards')) {
    throw missing('max-forwards');
  }
  checkSingles(req);

  const uri = req.requestUri();
  // RFC 3261 §19.1.1 (table of URI components): headers are not allowed in a Request-URI;
  // RFC 4475 §3.1.2.11 (escruri) expects a 400.
  if (uri.kind === 'sip' && uri.headers.size > 0) {
    throw new SipParseError('SIP_ERR_REQUEST_URI', 'Headers Not Allowed In Request-URI');
  }

  checkCommon(req);
  const cseq = req.cseq();
  // RFC 3261 §8.1.1.5: "The method MUST match the method of the request"; RFC 4475 §3.1.2.17
  // (mismatch01) and §3.1.2.18 (mismatch02) expect a 400.
  if (cseq.method !== req.method) {
    throw new SipParseError('SIP_ERR_CSEQ_METHOD');
  }
  req.maxForwards();
  req.contact();
  req.routes();
}

/** Validate a response; a response that fails is discarded by the caller (RFC 3261 §18.1.2). */
export function validateResponse(res: SipResponse): void {
  checkPresence(res);
  checkSingles(res);
  checkCommon(res);
}

/** Validate either kind of message. */
export function validateMessage(msg: SipMessage, options: ValidateOptions = {}): void {
  if (msg.isRequest()) {
    validateRequest(msg, options);
  } else if (msg.isResponse()) {
    validateResponse(msg);
  }
}

function checkPresence(msg: SipMessage): void {
  for (const name of REQUEST_MANDATORY) {
    if (!msg.has(name)) {
      throw missing(name);
    }
  }
}

/** RFC 3261 §7.3.1: a header whose grammar is not a comma list appears at most once (RFC 4475
 * §3.3.8, multi01). */
function checkSingles(msg: SipMessage): void {
  const headers = msg.headers;
  const n = headers.length;
  for (let i = 0; i < n; i++) {
    const name = headers[i]!.name;
    if (!SINGLE_VALUE.has(name)) {
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      if (headers[j]!.name === name) {
        throw new SipParseError(
          'SIP_ERR_DUPLICATE_HEADER',
          `Duplicate ${displayName(name)} Header`,
        );
      }
    }
  }
}

/** Parse what every message must carry well formed: all Vias, From, To, Call-ID, CSeq. */
function checkCommon(msg: SipMessage): void {
  if (msg.vias().length === 0) {
    throw missing('via');
  }
  msg.from();
  msg.to();
  msg.callId();
  msg.cseq();
}

function missing(name: string): SipParseError {
  return new SipParseError('SIP_ERR_MISSING_HEADER', `Missing ${displayName(name)} Header`);
}
