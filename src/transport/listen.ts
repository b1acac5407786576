/** Binding a stream listener (TCP, TLS, and the HTTP servers under WS/WSS) the same way. */
import type { AddressInfo, Server } from 'node:net';

/**
 * Bind `server` to host:port and resolve with the real port (port 0 picks one), or reject with
 * the system error. `exclusive` keeps cluster workers from sharing the socket; an IPv6 listener
 * is IPv6-only so that a separate IPv4 listener on the same port does not collide with it.
 */
export function listenServer(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => {
      reject(err);
    };
    server.once('error', fail);
    server.listen({ host, port, exclusive: true, ipv6Only: host.includes(':') }, () => {
      server.off('error', fail);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stop accepting; resolves once the listening socket is closed (open connections are untouched). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => {
      resolve();
    });
  });
}
