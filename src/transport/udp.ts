/**
 * A UDP listen socket: datagrams in go straight to the shared receive path, datagrams out leave
 * from this socket (RFC 3581 §4 symmetric response routing needs the same address and port).
 *
 * Datagrams out are queued and sent together once per event-loop turn (docs/adr/0013): on
 * loopback and on a busy host, a `sendmsg` that finds the receiver asleep pays for waking it, and
 * sending the turn's datagrams back to back wakes a peer once per burst instead of once per
 * datagram.
 */
import dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { arrival } from './connection.js';
import type { ReceiveInfo, SocketInfo } from './types.js';

/** What a UDP listener hands its datagrams to. */
export interface DatagramSink {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly receiver: { receive(buf: Buffer, rx: ReceiveInfo, datagram: boolean): void };
}

/**
 * RFC 5626 §3.5.2 keeps UDP flows alive with STUN, but many phones send a bare CRLF or CRLFCRLF
 * datagram instead (the §3.5.1 stream ping, sent over UDP): four bytes or fewer of CR and LF
 * are ignored, neither a message nor an error.
 */
function isKeepalive(buf: Buffer): boolean {
  const n = buf.length;
  if (n === 0 || n > 4) {
    return false;
  }
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c !== 0x0d && c !== 0x0a) {
      return false;
    }
  }
  return true;
}

type SendCallback = (err: Error | null) => void;

/** One bound UDP socket. */
export class UdpListener {
  private readonly sock: dgram.Socket;
  private info: SocketInfo | null = null;
  // The datagrams queued this turn, in parallel arrays (no object per datagram).
  private readonly outData: Buffer[] = [];
  private readonly outPort: number[] = [];
  private readonly outAddress: string[] = [];
  private readonly outCb: SendCallback[] = [];

  constructor(
    private readonly sink: DatagramSink,
    family: 4 | 6,
    private readonly recvBufferBytes = 0,
  ) {
    // ipv6Only: an IPv6 socket on `::` would otherwise also take IPv4 and collide with a
    // separate IPv4 listener on the same port.
    this.sock = dgram.createSocket(
      family === 6
        ? { type: 'udp6', ipv6Only: true, lookup: literalLookup }
        : { type: 'udp4', lookup: literalLookup },
    );
  }

  /** Bind; resolves with the real port, rejects with the system error. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const sock = this.sock;
      const fail = (err: Error): void => {
        reject(err);
      };
      sock.once('error', fail);
      sock.bind({ address: host, port, exclusive: true }, () => {
        sock.off('error', fail);
        if (this.recvBufferBytes > 0) {
          this.growRecvBuffer(sock);
        }
        sock.on('error', this.onError);
        sock.on('message', this.onMessage);
        resolve(sock.address().port);
      });
    });
  }

  setInfo(info: SocketInfo): void {
    this.info = info;
  }

  /** Ask for a larger receive buffer; the kernel caps it, and failing to grow it is not fatal. */
  private growRecvBuffer(sock: dgram.Socket): void {
    try {
      sock.setRecvBufferSize(this.recvBufferBytes);
    } catch (err) {
      this.sink.logger.warn({ err, bytes: this.recvBufferBytes }, 'udp receive buffer not grown');
    }
  }

  /** The socket's receive buffer as the kernel granted it (Linux reports twice what it keeps). */
  recvBufferSize(): number {
    return this.sock.getRecvBufferSize();
  }

  /**
   * Queue one datagram for the end of this event-loop turn; the kernel's verdict comes back
   * through `cb`, always asynchronously.
   */
  send(data: Buffer, port: number, address: string, cb: SendCallback): void {
    if (this.outData.push(data) === 1) {
      setImmediate(this.flush);
    }
    this.outPort.push(port);
    this.outAddress.push(address);
    this.outCb.push(cb);
  }

  /** Hand every queued datagram to the kernel, in order. */
  private readonly flush = (): void => {
    const data = this.outData;
    const port = this.outPort;
    const address = this.outAddress;
    const cb = this.outCb;
    const sock = this.sock;
    // Callbacks run later (dgram defers them), so nothing can queue while this runs.
    const n = data.length;
    for (let i = 0; i < n; i++) {
      const done = cb[i]!;
      try {
        sock.send(data[i]!, port[i], address[i], done);
      } catch (err) {
        // dgram throws for a socket already closed or an argument it refuses; the caller, who
        // queued long ago, hears of it as of any failed send.
        process.nextTick(done, err instanceof Error ? err : new Error(String(err)));
      }
    }
    data.length = 0;
    port.length = 0;
    address.length = 0;
    cb.length = 0;
  };

  close(): Promise<void> {
    // A graceful stop sends what its last turn queued (final responses among them).
    this.flush();
    return new Promise((resolve) => {
      this.sock.off('message', this.onMessage);
      try {
        this.sock.close(() => {
          resolve();
        });
      } catch {
        resolve(); // not bound (start failed before this socket bound)
      }
    });
  }

  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const info = this.info;
    if (info === null || isKeepalive(msg)) {
      return;
    }
    this.sink.receiver.receive(
      msg,
      arrival(info, 'udp', rinfo.address, rinfo.port, null, this.sink.clock.now()),
      true,
    );
  };

  private readonly onError = (err: Error): void => {
    // A send error without a callback, or an ICMP-driven error: never fatal for the process.
    this.sink.logger.debug({ socket: this.info?.id, err: err.message }, 'udp socket error');
  };
}

/**
 * Destinations reaching a socket are IP literals (names are resolved before, RFC 3263), yet
 * dgram passes every send through `dns.lookup`, which defers it to the next tick with a closure
 * per datagram. Answering literals synchronously sends at once; anything else still goes through
 * the system resolver.
 */
function literalLookup(
  address: string,
  family: unknown,
  cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const kind = isIP(address);
  if (kind !== 0) {
    cb(null, address, kind);
    return;
  }
  dnsLookup(address, { family: family === 6 ? 6 : 4 }, cb);
}
