/** Free loopback ports for servers a test starts (bound by the OS, then released). */
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

/** A port free for both UDP and TCP on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => {
          resolve(typeof addr === 'object' && addr !== null ? addr.port : 0);
        });
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => {
        resolve(false);
      });
      s.bind(port, '127.0.0.1', () => {
        s.close(() => {
          resolve(true);
        });
      });
    });
    if (udpFree) {
      return port;
    }
  }
}

/**
 * Wait until something listens on 127.0.0.1:`port` (a sipp peer that takes its time to start on
 * a loaded machine). Reads /proc/net rather than probing with a bind, which could steal the port
 * from the process that is about to take it.
 */
export async function waitListening(
  port: number,
  transport: 'udp' | 'tcp',
  timeoutMs = 20_000,
): Promise<void> {
  const want = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const table = await readFile(`/proc/net/${transport}`, 'utf8');
    // TCP sockets must be in LISTEN (state 0A); any bound UDP socket will do.
    const found = table.split('\n').some((line) => {
      const cols = line.trim().split(/\s+/);
      return (cols[1] ?? '').endsWith(want.trimEnd()) && (transport === 'udp' || cols[3] === '0A');
    });
    if (found) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`nothing listens on ${transport} port ${port} after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
