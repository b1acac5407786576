/**
 * Copies of a request for forwarding (RFC 3261 §16.6 item 1: "The proxy starts with a copy of
 * the received request"). Header fields are immutable values, so a copy shares them and only the
 * list is new; the copy's parsed caches start empty.
 */
import { SipRequest } from '../sip/index.js';

export function copyRequest(req: SipRequest): SipRequest {
  return new SipRequest(req.method, req.uri, req.headers.slice(), req.body);
}
