/**
 * The server-side Via rules of RFC 3261 §18.2.1 and RFC 3581 §4: note in the top Via where a
 * request really came from, so that its responses find the way back through NATs.
 */
import type { SipRequest, Via } from '../sip/index.js';
import { sameAddress, unbracketHost } from './sockets.js';

/**
 * Rewrite the top Via of `req` with `received` and `rport` filled in, when the rules ask for it.
 * Returns true when the Via changed. The caller has validated the request, so its top Via parses.
 *
 * The value is rebuilt from the parsed Via with the parameters in their original order: a value
 * that changes keeps its place, and a new `received` goes just before `rport` (as in the
 * RFC 3581 §4 example, `;received=192.0.2.1;rport=9988;branch=...`) or at the end.
 */
export function annotateReceived(
  req: SipRequest,
  sourceAddress: string,
  sourcePort: number,
): boolean {
  const via = req.topVia();
  if (via === undefined) {
    return false;
  }
  const params = via.params;
  const rport = params.get('rport');
  // RFC 3261 §18.2.1: "When the server transport receives a request over any transport, it
  // MUST examine the value of the "sent-by" parameter in the top Via header field value. If the
  // host portion of the "sent-by" parameter contains a domain name, or if it contains an IP
  // address that differs from the packet source address, the server MUST add a "received"
  // parameter to that Via header field value." RFC 3581 §4: with "rport" present, the server
  // "MUST insert a "received" parameter containing the source IP address that the request came
  // from, even if it is identical to the value of the "sent-by" component."
  const addReceived = rport !== undefined || !sameAddress(via.host, sourceAddress);
  // RFC 3581 §4: "If this Via header field value contains an "rport" parameter with no value,
  // it MUST set the value of the parameter to the source port of the request."
  const fillRport = rport === null;
  if (!addReceived && !fillRport) {
    return false;
  }
  // RFC 3261 §20.42: via-received = "received" EQUAL (IPv4address / IPv6address), so IPv6 goes
  // without brackets.
  const received = addReceived ? unbracketHost(sourceAddress) : null;
  req.popVia();
  req.pushVia(formatAnnotated(via, received, fillRport ? String(sourcePort) : null));
  return true;
}

/** The Via value with `received` and `rport` set as given (null leaves a parameter alone). */
function formatAnnotated(via: Via, received: string | null, rport: string | null): string {
  let out = `${via.protocol}/${via.transport} ${via.host}`;
  if (via.port !== null) {
    out += `:${via.port}`;
  }
  const hasReceived = via.params.has('received');
  for (const [name, value] of via.params) {
    if (name === 'received' && received !== null) {
      out += `;received=${received}`;
      continue;
    }
    if (name === 'rport') {
      if (received !== null && !hasReceived) {
        out += `;received=${received}`;
      }
      out += rport !== null ? `;rport=${rport}` : value === null ? ';rport' : `;rport=${value}`;
      continue;
    }
    out += value === null ? `;${name}` : `;${name}=${value}`;
  }
  if (received !== null && !hasReceived && !via.params.has('rport')) {
    out += `;received=${received}`;
  }
  return out;
}
