/**
 * SIP over WebSocket (RFC 7118), WS and WSS, with the `ws` package: a listener that upgrades
 * only handshakes offering the `sip` subprotocol, and a connection class for both directions.
 * The WebSocket frames the messages: each WebSocket message is one SIP message.
 */
import { isUtf8 } from 'node:buffer';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { Connection } from './connection.js';
import { closeServer, listenServer } from './listen.js';
import { bracketHost, isWildcard, unbracketHost } from './sockets.js';
import type { StreamAcceptHost, TlsMaterial } from './tcp.js';
import type { SendCallback, SocketInfo } from './types.js';

/** RFC 7118 §4: the WebSocket subprotocol of SIP. */
export const SIP_SUBPROTOCOL = 'sip';

/** CR and LF only: a keep-alive some WebSocket clients send; not a message, not an error. */
function isKeepalive(buf: Buffer): boolean {
  for (const c of buf) {
    if (c !== 0x0d && c !== 0x0a) {
      return false;
    }
  }
  return true;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) {
    return data;
  }
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** A WS or WSS connection. */
export class WsConnection extends Connection {
  private readonly ws: WebSocket;
  private lastError: Error | undefined = undefined;

  constructor(
    host: StreamAcceptHost,
    id: number,
    protocol: 'ws' | 'wss',
    local: SocketInfo,
    ws: WebSocket,
    remoteAddress: string,
    remotePort: number,
    outbound: boolean,
  ) {
    super(host, id, protocol, local, remoteAddress, remotePort, outbound);
    this.ws = ws;
    ws.on('message', this.onMessage);
    ws.on('ping', this.onTraffic);
    ws.on('pong', this.onTraffic);
    ws.on('error', this.onError);
    ws.on('close', this.onClose);
    if (outbound) {
      ws.once('open', this.onOpen);
    }
  }

  protected transmit(data: Buffer, cb: SendCallback | undefined): void {
    // RFC 7118 §5.1: text and binary frames may both carry SIP, but a message that is not valid
    // UTF-8 as a whole (a binary body) must go in a binary frame. Text frames otherwise, which
    // is what browser stacks expect.
    this.ws.send(data, { binary: !isUtf8(data) }, (err) => {
      this.written(err, cb);
    });
  }

  protected shutdown(): void {
    this.ws.close(1000);
  }

  protected destroy(): void {
    this.ws.terminate();
  }

  private readonly onMessage = (data: RawData): void => {
    this.activity();
    const buf = toBuffer(data);
    if (!isKeepalive(buf)) {
      // RFC 7118 §5.1: "Each SIP message MUST be carried within a single WebSocket message, and
      // a WebSocket message MUST NOT contain more than one SIP message." The message bounds the
      // SIP message, as a datagram does, so Content-Length may be absent.
      this.host.receive(buf, this.arrival(), true);
    }
  };

  private readonly onTraffic = (): void => {
    this.activity();
  };

  private readonly onOpen = (): void => {
    this.opened();
  };

  private readonly onError = (err: Error): void => {
    this.host.logger.debug({ conn: this.id, peer: this.peer, err: err.message }, 'websocket error');
    this.lastError = err;
  };

  private readonly onClose = (): void => {
    this.closed(this.lastError);
  };
}

/** A WS or WSS listener: an HTTP(S) server that upgrades SIP handshakes. */
export class WsListener {
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private info: SocketInfo | null = null;

  constructor(
    private readonly host: StreamAcceptHost,
    private readonly protocol: 'ws' | 'wss',
    tlsMaterial: TlsMaterial | null,
    maxPayload: number,
  ) {
    if (protocol === 'wss') {
      const m = tlsMaterial!;
      this.server = https.createServer({
        cert: m.cert,
        key: m.key,
        ...(m.ca !== undefined ? { ca: m.ca } : {}),
        requestCert: m.verifyPeer,
        rejectUnauthorized: m.verifyPeer,
      });
    } else {
      this.server = http.createServer();
    }
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload,
      perMessageDeflate: false,
      handleProtocols: () => SIP_SUBPROTOCOL,
    });
    this.server.on('upgrade', this.onUpgrade);
    this.server.on('request', this.onRequest);
    this.server.on('error', this.onServerError);
    this.server.on('tlsClientError', this.onTlsClientError);
  }

  /** Bind; resolves with the real port, rejects with the system error. */
  listen(host: string, port: number): Promise<number> {
    return listenServer(this.server, host, port);
  }

  setInfo(info: SocketInfo): void {
    this.info = info;
  }

  /** Stop accepting; upgraded connections belong to the table and are closed there. */
  close(): Promise<void> {
    this.wss.close();
    return closeServer(this.server);
  }

  private readonly onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const info = this.info;
    // RFC 7118 §4: "The WebSocket client MUST include the value "sip" in the
    // Sec-WebSocket-Protocol header"; a handshake without it is not SIP and is refused.
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (info === null || !offered.includes(SIP_SUBPROTOCOL)) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    if (!this.host.admit()) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const address = req.socket.remoteAddress;
      const port = req.socket.remotePort;
      if (address === undefined || port === undefined) {
        ws.terminate();
        return;
      }
      const conn = new WsConnection(
        this.host,
        this.host.nextId(),
        this.protocol,
        info,
        ws,
        unbracketHost(address),
        port,
        false,
      );
      this.host.adopt(conn);
    });
  };

  /** A plain HTTP request: this port speaks only WebSocket. */
  private readonly onRequest = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    res.writeHead(426, { Upgrade: 'websocket', Connection: 'close' }).end();
  };

  private readonly onServerError = (err: Error): void => {
    this.host.logger.error({ socket: this.info?.id, err: err.message }, 'listener error');
  };

  private readonly onTlsClientError = (err: Error, sock: Duplex): void => {
    this.host.logger.debug({ socket: this.info?.id, err: err.message }, 'TLS handshake failed');
    sock.destroy();
  };
}

/** Open an outbound WS or WSS connection to `address:port` (path `/`), subprotocol `sip`. */
export function connectWs(
  host: StreamAcceptHost,
  protocol: 'ws' | 'wss',
  local: SocketInfo,
  address: string,
  port: number,
  tlsMaterial: TlsMaterial | null,
  maxPayload: number,
): WsConnection {
  const scheme = protocol === 'wss' ? 'wss' : 'ws';
  const url = `${scheme}://${bracketHost(address)}:${port}/`;
  const m = tlsMaterial;
  const ws = new WebSocket(url, SIP_SUBPROTOCOL, {
    perMessageDeflate: false,
    maxPayload,
    ...(isWildcard(local.host) ? {} : { localAddress: local.host }),
    ...(protocol === 'wss' && m !== null ? { cert: m.cert, key: m.key } : {}),
    ...(protocol === 'wss' && m?.ca !== undefined ? { ca: m.ca } : {}),
    rejectUnauthorized: m?.rejectUnauthorized ?? true,
  });
  return new WsConnection(host, host.nextId(), protocol, local, ws, address, port, true);
}
