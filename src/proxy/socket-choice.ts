/** Which listen socket a request leaves from. */
import type { SendTarget, SocketInfo, TransportPort } from '../transport/types.js';

/**
 * The socket named `socketId` when it still exists (a contact behind NAT is reachable only
 * through the socket its REGISTER arrived on), else one chosen by the target's protocol and
 * address family; null when none can send there.
 */
export function chooseSocket(
  transport: TransportPort,
  target: SendTarget,
  socketId: string | null | undefined,
): SocketInfo | null {
  if (socketId !== undefined && socketId !== null && target.socketId === undefined) {
    try {
      return transport.socketFor({ ...target, socketId });
    } catch {
      // Gone since the contact registered (a restart with other sockets): choose by address.
    }
  }
  try {
    return transport.socketFor(target);
  } catch {
    return null;
  }
}
