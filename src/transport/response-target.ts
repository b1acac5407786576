/**
 * Where a response goes: RFC 3261 §18.2.2 with the RFC 3581 §4 rport rules, decided from the
 * response's top Via and how its request arrived. A pure function, so each rule is tested alone.
 */
import { isIP } from 'node:net';
import type { Via } from '../sip/index.js';
import { defaultPort, familyOf, unbracketHost } from './sockets.js';
import { isReliable, type ReceiveInfo, type SendTarget } from './types.js';

/** The outcome: a target to send to (maybe a connection to try first), or why there is none. */
export type ResponseRoute =
  | { readonly ok: true; readonly target: SendTarget }
  | { readonly ok: false; readonly reason: string };

function port(value: string | null | undefined): number | null {
  if (value === undefined || value === null) {
    return null;
  }
  const n = Number(value);
  return Number.isInteger(n) && n > 0 && n <= 65535 ? n : null;
}

/**
 * Decide where the response to a request received as `rx` goes, from the top Via of the
 * response (a copy of the request's, with `received`/`rport` as this transport annotated them).
 *
 * DNS is out of scope here: RFC 3261 §18.2.2 resolves a sent-by (or maddr) name with RFC 3263
 * §5, which needs the resolver; a name is reported back as an error instead.
 */
export function responseRoute(via: Via | undefined, rx: ReceiveInfo): ResponseRoute {
  if (via === undefined) {
    return { ok: false, reason: 'response has no Via' };
  }
  const protocol = rx.protocol;
  const params = via.params;
  const received = params.get('received');
  const rport = port(params.get('rport'));
  const sentByPort = via.port;

  if (isReliable(protocol)) {
    // RFC 3261 §18.2.2: "If the "sent-protocol" is a reliable transport protocol such as TCP or
    // SCTP, or TLS over those, the response MUST be sent using the existing connection to the
    // source of the original request that created the transaction, if that connection is still
    // open." The caller tries rx.connectionId first; this target is the fallback: "the server
    // SHOULD open a connection to the IP address in the "received" parameter, if present, using
    // the port in the "sent-by" value, or the default port for that transport".
    if (protocol === 'ws' || protocol === 'wss') {
      // RFC 7118 §5: WebSocket clients (browsers) accept no connections, so a response whose
      // connection is gone has nowhere to go.
      return { ok: false, reason: `${protocol} connection of the request is closed` };
    }
    const host = received ?? via.host;
    return withAddress(host, rport ?? sentByPort ?? defaultPort(protocol), rx, rx.connectionId);
  }

  // RFC 3261 §18.2.2: "Otherwise, if the Via header field value contains a "maddr" parameter,
  // the response MUST be forwarded to the address listed there, using the port indicated in
  // "sent-by", or port 5060 if none is present."
  const maddr = params.get('maddr');
  if (maddr !== undefined && maddr !== null) {
    return withAddress(maddr, sentByPort ?? 5060, rx);
  }
  if (received !== undefined && received !== null) {
    // RFC 3581 §4: "When there is both a "received" and "rport" parameter, the response MUST be
    // sent to the IP address listed in the "received" parameter, and the port in the "rport"
    // parameter. The response MUST be sent from the same address and port that the
    // corresponding request was received on." RFC 3261 §18.2.2: without rport, "the response
    // MUST be sent to the address in the "received" parameter, using the port indicated in the
    // "sent-by" value, or using port 5060 if none is specified explicitly."
    return withAddress(received, rport ?? sentByPort ?? 5060, rx);
  }
  // RFC 3261 §18.2.2: "Otherwise, if it is not receiver-tagged, the response MUST be sent to the
  // address indicated by the "sent-by" value, using the procedures in Section 5 of [4]."
  return withAddress(via.host, sentByPort ?? 5060, rx);
}

/**
 * A target towards `host`, which must be an IP literal. The request's socket is kept (RFC 3581
 * §4: send from where the request arrived) unless its address family cannot reach `host`.
 */
function withAddress(
  host: string,
  port: number,
  rx: ReceiveInfo,
  connectionId: number | null = null,
): ResponseRoute {
  const address = unbracketHost(host);
  if (isIP(address) === 0) {
    return { ok: false, reason: `${host} is not an IP address (no DNS for responses here)` };
  }
  const target: SendTarget = { protocol: rx.protocol, address, port };
  if (connectionId !== null) {
    target.connectionId = connectionId;
  }
  if (rx.socket.family === familyOf(address)) {
    target.socketId = rx.socket.id;
  }
  return { ok: true, target };
}
