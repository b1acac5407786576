/**
 * Choosing the response a stateful proxy forwards when no 2xx arrived (RFC 3261 §16.7 items 6
 * and 7).
 */
import { createResponse, type SipRequest, type SipResponse } from '../sip/index.js';

/**
 * §16.7 item 6: "The proxy MUST choose the best final response ... If there are any 6xx
 * responses, the proxy MUST choose one of them. Otherwise the proxy MUST choose the lowest
 * response class [3xx < 4xx < 5xx] ... A proxy SHOULD give preference to responses that provide
 * information affecting resubmission of this request, such as 401, 407, 415, 420, and 484 if the
 * 4xx class is chosen." Among equals the lowest code wins, then the earliest received.
 */
const PREFERRED_4XX = new Set([401, 407, 415, 420, 484]);

function rank(status: number): number {
  const cls = Math.floor(status / 100);
  if (cls === 6) {
    return 0;
  }
  // Within a class, preferred 4xx codes first (offset 0), the others after (offset 1000).
  const preferred = cls === 4 && PREFERRED_4XX.has(status) ? 0 : 1000;
  return cls * 10_000 + preferred + status;
}

/** Index of the best final response among `responses` (all final, non-2xx); -1 when empty. */
export function bestIndex(responses: readonly SipResponse[]): number {
  let best = -1;
  let bestRank = Infinity;
  for (let i = 0; i < responses.length; i++) {
    const r = rank(responses[i]!.status);
    if (r < bestRank) {
      best = i;
      bestRank = r;
    }
  }
  return best;
}

/**
 * The response to forward upstream, built from the chosen branch response:
 * - §16.7 item 6: "If no final response has been received ... [or] only 503 ... the proxy
 *   SHOULD generate a 500 (Server Internal Error) response" rather than pass a 503 upstream,
 *   which would make the client think this proxy is overloaded.
 * - §16.7 item 7: "If the selected response is a 401 (Unauthorized) or 407 (Proxy
 *   Authentication Required), the proxy MUST collect all WWW-Authenticate and
 *   Proxy-Authenticate header field values from all other 401 (Unauthorized) and 407 (Proxy
 *   Authentication Required) responses received so far in this response context and add them to
 *   this response without modification before forwarding."
 * `responses` are branch responses whose own top Via (ours) is already removed.
 */
export function finalResponse(req: SipRequest, responses: readonly SipResponse[]): SipResponse {
  const i = bestIndex(responses);
  if (i < 0) {
    return createResponse(req, 500, { reason: 'No Response From Any Destination' });
  }
  const chosen = responses[i]!;
  if (chosen.status === 503) {
    return createResponse(req, 500, { reason: 'Service Unavailable Downstream' });
  }
  if (chosen.status === 401 || chosen.status === 407) {
    for (let j = 0; j < responses.length; j++) {
      const other = responses[j]!;
      if (j === i || (other.status !== 401 && other.status !== 407)) {
        continue;
      }
      for (const name of ['www-authenticate', 'proxy-authenticate'] as const) {
        for (const value of other.getAll(name)) {
          chosen.addHeader(name, value);
        }
      }
    }
  }
  return chosen;
}
