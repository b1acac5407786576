/** A raw UDP socket playing the far end in transport tests. */
import dgram from 'node:dgram';

export interface Datagram {
  data: Buffer;
  address: string;
  port: number;
}

/** A bound UDP socket that queues what it receives. */
export class UdpPeer {
  private readonly sock: dgram.Socket;
  private readonly queue: Datagram[] = [];
  private waiter: ((d: Datagram) => void) | null = null;

  private constructor(sock: dgram.Socket) {
    this.sock = sock;
    sock.on('message', (data, rinfo) => {
      const d = { data, address: rinfo.address, port: rinfo.port };
      const w = this.waiter;
      if (w !== null) {
        this.waiter = null;
        w(d);
      } else {
        this.queue.push(d);
      }
    });
  }

  /** Bind on the loopback address of `family`, on a free port. */
  static async open(family: 4 | 6 = 4): Promise<UdpPeer> {
    const sock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, family === 6 ? '::1' : '127.0.0.1', () => {
        sock.off('error', reject);
        resolve();
      });
    });
    return new UdpPeer(sock);
  }

  get port(): number {
    return this.sock.address().port;
  }

  send(data: string | Buffer, port: number, host = '127.0.0.1'): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    return new Promise((resolve, reject) => {
      this.sock.send(buf, port, host, (err) => {
        if (err) {
          reject(err);
        } else {
          resolve();
        }
      });
    });
  }

  /** The next datagram; rejects after `timeoutMs`. */
  next(timeoutMs = 3000): Promise<Datagram> {
    const queued = this.queue.shift();
    if (queued !== undefined) {
      return Promise.resolve(queued);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no datagram within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (d) => {
        clearTimeout(timer);
        resolve(d);
      };
    });
  }

  /** The next datagram as text. */
  async nextText(timeoutMs = 3000): Promise<string> {
    return (await this.next(timeoutMs)).data.toString('latin1');
  }

  /** True when nothing arrives within `ms` (for "must be dropped" checks). */
  async silentFor(ms = 150): Promise<boolean> {
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.sock.close(() => {
        resolve();
      });
    });
  }
}
