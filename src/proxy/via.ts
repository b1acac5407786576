/** The Via a proxy pushes on a forwarded request (RFC 3261 §16.6 item 8). */
import type { SocketInfo } from '../transport/types.js';
import { viaTransport } from '../transport/types.js';

/**
 * `SIP/2.0/<TRANSPORT> <sent-by>;branch=<id>`, sent-by being the advertised address of the socket
 * the request leaves from, so responses come back to it (RFC 3261 §18.2.2). `rport` is asked for
 * (RFC 3581 §3) so a proxy behind NAT still gets its responses.
 */
export function viaValue(socket: SocketInfo, branch: string): string {
  return `SIP/2.0/${viaTransport(socket.protocol)} ${socket.sentByHost}:${socket.sentByPort};branch=${branch};rport`;
}
