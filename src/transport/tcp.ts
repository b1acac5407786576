/**
 * TCP and TLS: one listener class and one connection class for both, since TLS only wraps the
 * byte stream. Each connection cuts its stream into messages with its own StreamFramer
 * (RFC 3261 §18.3) and answers RFC 5626 CRLF pings.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { SipParseError } from '../core/errors.js';
import { StreamFramer, type FramerHandler, type FramerLimits } from '../sip/index.js';
import { Connection, type ConnectionHost } from './connection.js';
import { closeServer, listenServer } from './listen.js';
import { isWildcard, unbracketHost } from './sockets.js';
import type { Protocol, SendCallback, SocketInfo } from './types.js';

const PONG = Buffer.from('\r\n', 'latin1');

/** What a stream listener needs from the connection manager. */
export interface StreamAcceptHost extends ConnectionHost {
  readonly framerLimits: Partial<FramerLimits>;
  /** False (and counted) when the table is full: the caller destroys the socket. */
  admit(): boolean;
  /** A fresh connection id. */
  nextId(): number;
  /** Put an accepted connection in the table. */
  adopt(conn: Connection): void;
}

/** A TCP or TLS connection. */
export class StreamConnection extends Connection implements FramerHandler {
  private readonly sock: net.Socket;
  private readonly framer: StreamFramer;
  /** The socket error that preceded 'close', reported to writes still queued. */
  private lastError: Error | undefined = undefined;

  constructor(
    host: StreamAcceptHost,
    id: number,
    protocol: Protocol,
    local: SocketInfo,
    sock: net.Socket,
    remoteAddress: string,
    remotePort: number,
    outbound: boolean,
  ) {
    super(host, id, protocol, local, remoteAddress, remotePort, outbound);
    this.sock = sock;
    this.framer = new StreamFramer(this, host.framerLimits);
    sock.setNoDelay(true);
    sock.on('data', this.onData);
    sock.on('error', this.onSocketError);
    sock.on('close', this.onClose);
    if (outbound) {
      sock.once(protocol === 'tls' ? 'secureConnect' : 'connect', this.onConnect);
    }
  }

  // ---- FramerHandler -----------------------------------------------------------------------

  onMessage(message: Buffer): void {
    this.host.receive(message, this.arrival(), false);
  }

  /** RFC 5626 §4.4.1: a double-CRLF ping is answered at once with a single CRLF pong. */
  onPing(): void {
    if (this.usable) {
      this.sock.write(PONG);
    }
  }

  /** RFC 5626 §4.4.1: a pong answers a ping of ours; the traffic already counted as activity. */
  onPong(): void {
    // Tandem sends no pings of its own yet (the outbound keep-alive module will), so a pong
    // needs nothing more than the activity its bytes already recorded.
  }

  onError(err: SipParseError): void {
    // A stream that cannot be framed cannot be resynchronised: close this connection only.
    this.host.stats.bad_messages++;
    this.host.logger.debug(
      { conn: this.id, peer: this.peer, code: err.code, reason: err.reason },
      'stream framing error',
    );
    this.abort(`framing error: ${err.reason}`);
  }

  // ---- Connection --------------------------------------------------------------------------

  protected transmit(data: Buffer, cb: SendCallback | undefined): void {
    this.sock.write(data, (err) => {
      this.written(err, cb);
    });
  }

  protected shutdown(): void {
    this.sock.end();
  }

  protected destroy(): void {
    this.sock.destroy();
  }

  // ---- socket events -------------------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    this.activity();
    // Handler exceptions are caught in the receive path; nothing else throws from push().
    this.framer.push(chunk);
  };

  private readonly onConnect = (): void => {
    this.opened();
  };

  private readonly onSocketError = (err: Error): void => {
    this.host.logger.debug({ conn: this.id, peer: this.peer, err: err.message }, 'socket error');
    this.lastError = err;
  };

  private readonly onClose = (): void => {
    this.closed(this.lastError);
  };
}

/** Options a TLS listener or TLS client uses (already read from files by the caller). */
export interface TlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
  ca?: string | Buffer | (string | Buffer)[];
  /** Ask inbound peers for a certificate and refuse those the CA does not vouch for. */
  verifyPeer: boolean;
  /** Verify the servers we connect to (chain and IP). */
  rejectUnauthorized: boolean;
}

/** A TCP or TLS listener. */
export class StreamListener {
  private readonly server: net.Server;
  private info: SocketInfo | null = null;

  constructor(
    private readonly host: StreamAcceptHost,
    private readonly protocol: 'tcp' | 'tls',
    tlsMaterial: TlsMaterial | null,
    handshakeTimeoutMs: number,
  ) {
    if (protocol === 'tls') {
      const m = tlsMaterial!;
      const server = tls.createServer({
        cert: m.cert,
        key: m.key,
        ...(m.ca !== undefined ? { ca: m.ca } : {}),
        requestCert: m.verifyPeer,
        rejectUnauthorized: m.verifyPeer,
        handshakeTimeout: handshakeTimeoutMs,
      });
      // Refuse over the cap before the handshake costs anything.
      server.prependListener('connection', this.onRawConnection);
      server.on('secureConnection', this.onConnection);
      server.on('tlsClientError', this.onTlsClientError);
      this.server = server;
    } else {
      this.server = net.createServer();
      this.server.on('connection', this.onRawConnection);
      this.server.on('connection', this.onConnection);
    }
    this.server.on('error', this.onServerError);
  }

  /** Bind; resolves with the real port, rejects with the system error. */
  listen(host: string, port: number): Promise<number> {
    return listenServer(this.server, host, port);
  }

  /** The socket this listener is, once bound. */
  setInfo(info: SocketInfo): void {
    this.info = info;
  }

  /** Stop accepting; resolves when the listening socket is closed (connections are the table's). */
  close(): Promise<void> {
    return closeServer(this.server);
  }

  private readonly onRawConnection = (sock: net.Socket): void => {
    if (!this.host.admit()) {
      sock.destroy();
    }
  };

  private readonly onConnection = (sock: net.Socket): void => {
    const info = this.info;
    if (sock.destroyed || info === null) {
      return;
    }
    // The cap may have filled during a TLS handshake.
    if (this.protocol === 'tls' && !this.host.admit()) {
      sock.destroy();
      return;
    }
    const address = sock.remoteAddress;
    const port = sock.remotePort;
    if (address === undefined || port === undefined) {
      sock.destroy(); // the peer went away before we looked
      return;
    }
    const conn = new StreamConnection(
      this.host,
      this.host.nextId(),
      this.protocol,
      info,
      sock,
      unbracketHost(address),
      port,
      false,
    );
    this.host.adopt(conn);
  };

  private readonly onTlsClientError = (err: Error, sock: tls.TLSSocket): void => {
    this.host.logger.debug(
      { socket: this.info?.id, peer: sock.remoteAddress, err: err.message },
      'TLS handshake failed',
    );
    sock.destroy();
  };

  private readonly onServerError = (err: Error): void => {
    this.host.logger.error({ socket: this.info?.id, err: err.message }, 'listener error');
  };
}

/** Open an outbound TCP or TLS connection from `local` (its address when it is not a wildcard). */
export function connectStream(
  host: StreamAcceptHost,
  protocol: 'tcp' | 'tls',
  local: SocketInfo,
  address: string,
  port: number,
  tlsMaterial: TlsMaterial | null,
): StreamConnection {
  const localAddress = isWildcard(local.host) ? undefined : local.host;
  const base = { host: address, port, ...(localAddress !== undefined ? { localAddress } : {}) };
  let sock: net.Socket;
  if (protocol === 'tls') {
    const m = tlsMaterial;
    sock = tls.connect({
      ...base,
      // Present our certificate: mutual TLS towards peers that ask (RFC 5923 §11, bins:).
      ...(m !== null ? { cert: m.cert, key: m.key } : {}),
      ...(m?.ca !== undefined ? { ca: m.ca } : {}),
      rejectUnauthorized: m?.rejectUnauthorized ?? true,
    });
  } else {
    sock = net.connect(base);
  }
  return new StreamConnection(host, host.nextId(), protocol, local, sock, address, port, true);
}
