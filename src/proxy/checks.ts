/**
 * Request validation of RFC 3261 §16.3 that decides before any routing logic runs, plus the
 * Max-Forwards check that applies when a request is about to be forwarded.
 */
import { SipParseError } from '../core/errors.js';
import { tokensOf, type SipRequest } from '../sip/index.js';
import { isLoop, LoopKey } from './branch.js';
import type { SelfAddresses } from './self.js';

/** A rejection: the status, reason and extra header lines of the response to send. */
export interface Rejection {
  status: number;
  reason: string;
  headers?: [string, string][];
}

export interface CheckOptions {
  /** Option tags this proxy understands in Proxy-Require (RFC 3261 §16.3 item 5). */
  supported: ReadonlySet<string>;
}

/**
 * The checks that run before the routing script sees a request. Returns null when it may be
 * processed. ACK is never rejected (no response to an ACK exists); callers drop instead.
 */
export function preRouteChecks(
  req: SipRequest,
  self: SelfAddresses,
  key: LoopKey,
  options: CheckOptions,
): Rejection | null {
  // §16.3 item 2: "If the Request-URI has a URI whose scheme is not understood by the proxy,
  // the proxy SHOULD reject the request with a 416 (Unsupported URI Scheme) response." A Route
  // set makes the Request-URI someone else's business.
  if (req.requestUri().kind === 'other' && !req.has('route')) {
    return { status: 416, reason: 'Unsupported URI Scheme' };
  }
  // §16.3 item 4, loop detection with the branch hash of §16.6 item 8.
  if (isLoop(req.vias(), key, (h, p) => self.isSelf(h, p))) {
    return { status: 482, reason: 'Loop Detected' };
  }
  // §16.3 item 5: "If the request contains a Proxy-Require header field with one or more
  // option-tags this element does not understand, the element MUST return a 420 (Bad Extension)
  // response. The response MUST include an Unsupported header field listing those option-tags".
  const unknown = tokensOf(req, 'proxy-require').filter(
    (tag) => !options.supported.has(tag.toLowerCase()),
  );
  if (unknown.length > 0) {
    return { status: 420, reason: 'Bad Extension', headers: [['Unsupported', unknown.join(', ')]] };
  }
  return null;
}

/**
 * §16.3 item 3: "If the request contains a Max-Forwards header field with a field value [of]
 * zero (0), the element MUST NOT forward the request. If the request was for OPTIONS, the
 * element MAY act as the final recipient and respond per Section 11. Otherwise, the element MUST
 * return a 483 (Too many hops) response." Checked when forwarding, so a script may still answer
 * an OPTIONS addressed to the proxy itself.
 */
export function maxForwardsRejection(req: SipRequest): Rejection | null {
  return req.maxForwards() === 0 ? { status: 483, reason: 'Too Many Hops' } : null;
}

/** The loop-hash fields of a received request, taken before anything changes them. */
export { LoopKey };

/** A parse error thrown while a handler read a header becomes the 400 it names. */
export function rejectionOf(err: unknown): Rejection | null {
  return err instanceof SipParseError ? { status: err.status, reason: err.reason } : null;
}
