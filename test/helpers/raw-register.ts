/**
 * A REGISTER sent from a test's own UDP socket, its Contact that very socket (so the registrar
 * sees no NAT: source and Contact agree), resolved when the 200 OK arrives. The benchmark's lag
 * probe and the keep-alive tests use it where the phone must be reachable at its Contact.
 */
import type dgram from 'node:dgram';

export function registerFrom(
  sock: dgram.Socket,
  proxyPort: number,
  user: string,
  expires = 3600,
  timeoutMs = 5000,
): Promise<void> {
  const local = sock.address().port;
  const callId = `${user}-${String(local)}`;
  const msg = [
    `REGISTER sip:127.0.0.1:${String(proxyPort)} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${String(local)};rport;branch=z9hG4bK${callId}`,
    `From: <sip:${user}@127.0.0.1>;tag=${user}`,
    `To: <sip:${user}@127.0.0.1>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 REGISTER',
    `Contact: <sip:${user}@127.0.0.1:${String(local)}>`,
    `Expires: ${String(expires)}`,
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.off('message', on);
      reject(new Error(`no 200 to the REGISTER of ${user}`));
    }, timeoutMs);
    const on = (data: Buffer): void => {
      const text = data.toString('latin1');
      if (text.startsWith('SIP/2.0 200') && text.includes(`Call-ID: ${callId}`)) {
        clearTimeout(timer);
        sock.off('message', on);
        resolve();
      }
    };
    sock.on('message', on);
    sock.send(msg, proxyPort, '127.0.0.1');
  });
}
