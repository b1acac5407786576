/**
 * Record-Route values for the sockets a request passes through (RFC 3261 §16.6 item 4), and the
 * double Record-Route of RFC 5658 when it enters on one socket and leaves on another.
 */
import type { SocketInfo } from '../transport/types.js';

/** `<sip:host:port;transport=x;lr>`: `lr` marks us as a loose router (RFC 3261 §16.6 item 4). */
export function recordRouteValue(socket: SocketInfo, extraParams = ''): string {
  const transport = socket.protocol === 'udp' ? '' : `;transport=${socket.protocol}`;
  const scheme = socket.protocol === 'tls' || socket.protocol === 'wss' ? 'sips' : 'sip';
  return `<${scheme}:${socket.sentByHost}:${socket.sentByPort}${transport};lr${extraParams}>`;
}

/**
 * The Record-Route values to add, in insertion order (each is added on top, so the last one ends
 * up first). RFC 5658 §4: "the proxy ... inserts two Record-Route header
 * field values ... one for each interface", each marked `r2=on`, when the request leaves through
 * a socket other than the one it came in on (another transport, family or address). The value
 * nearest the callee (on top) names the outgoing socket, the one below it the incoming socket.
 * `params` (`;did=...`, OpenSIPS `add_rr_param`) go into each value: later requests of the
 * dialog may route on either one.
 */
export function recordRouteValues(
  inbound: SocketInfo,
  outbound: SocketInfo,
  params = '',
): string[] {
  if (inbound.id === outbound.id) {
    return [recordRouteValue(outbound, params)];
  }
  return [
    recordRouteValue(inbound, `;r2=on${params}`),
    recordRouteValue(outbound, `;r2=on${params}`),
  ];
}
