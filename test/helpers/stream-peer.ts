/**
 * The far end of a TCP, TLS or WebSocket connection in transport tests: writes raw bytes and
 * reads back SIP messages (cut by the real StreamFramer on TCP/TLS, one per WebSocket message)
 * and CRLF keep-alives.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { WebSocket, WebSocketServer } from 'ws';
import { StreamFramer } from '../../src/sip/index.js';

export type PeerEvent = { kind: 'msg'; text: string } | { kind: 'pong' } | { kind: 'ping' };

/** One connection seen from the test. */
export class StreamPeer {
  readonly closed: Promise<void>;
  private readonly events: PeerEvent[] = [];
  private waiter: ((e: PeerEvent) => void) | null = null;
  private readonly framer: StreamFramer;
  private isClosed = false;

  constructor(
    private readonly sock: net.Socket | null,
    private readonly ws: WebSocket | null,
  ) {
    this.framer = new StreamFramer({
      onMessage: (m) => {
        this.push({ kind: 'msg', text: m.toString('latin1') });
      },
      onPing: () => {
        this.push({ kind: 'ping' });
      },
      onPong: () => {
        this.push({ kind: 'pong' });
      },
      onError: () => {
        sock?.destroy();
      },
    });
    let done: () => void = () => undefined;
    this.closed = new Promise((resolve) => {
      done = resolve;
    });
    const onClose = (): void => {
      this.isClosed = true;
      done();
    };
    if (sock !== null) {
      sock.on('data', (chunk: Buffer) => {
        this.framer.push(chunk);
      });
      sock.on('error', () => undefined);
      sock.on('close', onClose);
    } else if (ws !== null) {
      ws.on('message', (data: Buffer) => {
        this.push({ kind: 'msg', text: data.toString('latin1') });
      });
      ws.on('error', () => undefined);
      ws.on('close', onClose);
    }
  }

  /** Connect with TCP (or TLS when `tlsOptions` is given). */
  static connect(
    port: number,
    host = '127.0.0.1',
    tlsOptions?: tls.ConnectionOptions,
  ): Promise<StreamPeer> {
    return new Promise((resolve, reject) => {
      const sock =
        tlsOptions === undefined
          ? net.connect({ port, host })
          : tls.connect({ port, host, ...tlsOptions });
      sock.once('error', reject);
      sock.once(tlsOptions === undefined ? 'connect' : 'secureConnect', () => {
        sock.off('error', reject);
        resolve(new StreamPeer(sock, null));
      });
    });
  }

  /** Open a WebSocket; `protocols` defaults to the SIP subprotocol. */
  static connectWs(
    url: string,
    protocols: string[] = ['sip'],
    options: tls.ConnectionOptions = {},
  ): Promise<StreamPeer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, options);
      ws.once('error', reject);
      ws.once('open', () => {
        ws.off('error', reject);
        resolve(new StreamPeer(null, ws));
      });
    });
  }

  get open(): boolean {
    return !this.isClosed;
  }

  /** The local port of this end (the source port the transport sees). */
  get localPort(): number {
    if (this.sock !== null) {
      return this.sock.localPort ?? 0;
    }
    return (this.ws as unknown as { _socket: net.Socket })._socket.localPort ?? 0;
  }

  /** Raw bytes on TCP/TLS, one message on WebSocket. */
  write(data: string | Buffer): void {
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (this.sock !== null) {
      this.sock.write(buf);
    } else {
      this.ws?.send(buf);
    }
  }

  /** The next event; rejects after `timeoutMs`. */
  next(timeoutMs = 3000): Promise<PeerEvent> {
    const queued = this.events.shift();
    if (queued !== undefined) {
      return Promise.resolve(queued);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`nothing received within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (e) => {
        clearTimeout(timer);
        resolve(e);
      };
    });
  }

  /** The next SIP message's text (fails on any other event). */
  async nextMessage(timeoutMs = 3000): Promise<string> {
    const e = await this.next(timeoutMs);
    if (e.kind !== 'msg') {
      throw new Error(`expected a message, got a ${e.kind}`);
    }
    return e.text;
  }

  /** Resolves true when the connection closes within `ms`. */
  async closesWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        resolve(false);
      }, ms);
    });
    const result = await Promise.race([this.closed.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** Close and wait for the close. */
  async close(): Promise<void> {
    if (this.sock !== null) {
      this.sock.destroy();
    } else {
      this.ws?.terminate();
    }
    await this.closed;
  }

  private push(e: PeerEvent): void {
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w(e);
    } else {
      this.events.push(e);
    }
  }
}

/** A listening TCP, TLS or WebSocket server that hands accepted connections to the test. */
export class PeerServer {
  private readonly accepted: StreamPeer[] = [];
  private waiter: ((p: StreamPeer) => void) | null = null;
  private readonly peers: StreamPeer[] = [];

  private constructor(
    private readonly server: net.Server,
    private readonly wss: WebSocketServer | null,
  ) {}

  /** Listen on loopback: `tcp`, `tls` (with `tlsOptions`) or `ws`. */
  static async listen(
    kind: 'tcp' | 'tls' | 'ws',
    tlsOptions?: tls.TlsOptions,
    host = '127.0.0.1',
  ): Promise<PeerServer> {
    let server: net.Server;
    let wss: WebSocketServer | null = null;
    if (kind === 'ws') {
      const httpServer = http.createServer();
      wss = new WebSocketServer({ server: httpServer, handleProtocols: () => 'sip' });
      server = httpServer;
    } else {
      server = kind === 'tls' ? tls.createServer(tlsOptions ?? {}) : net.createServer();
    }
    const p = new PeerServer(server, wss);
    if (wss !== null) {
      wss.on('connection', (ws) => {
        p.add(new StreamPeer(null, ws));
      });
    } else {
      server.on(kind === 'tls' ? 'secureConnection' : 'connection', (sock: net.Socket) => {
        p.add(new StreamPeer(sock, null));
      });
    }
    await new Promise<void>((resolve) => {
      server.listen(0, host, resolve);
    });
    return p;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The next accepted connection. */
  accept(timeoutMs = 3000): Promise<StreamPeer> {
    const queued = this.accepted.shift();
    if (queued !== undefined) {
      return Promise.resolve(queued);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (peer) => {
        clearTimeout(timer);
        resolve(peer);
      };
    });
  }

  /** How many connections were accepted so far. */
  get count(): number {
    return this.peers.length;
  }

  async close(): Promise<void> {
    await Promise.all(this.peers.map((peer) => peer.close()));
    this.wss?.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }

  private add(peer: StreamPeer): void {
    this.peers.push(peer);
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w(peer);
    } else {
      this.accepted.push(peer);
    }
  }
}
