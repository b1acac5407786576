/**
 * The connection table: every open stream connection (TCP, TLS, WS, WSS), inbound and
 * outbound, by id and by the addresses it can be reached under, with the caps that protect the
 * process (connection count; idle timeout and framer limits live on each connection). Sending
 * on a stream goes through here: reuse a connection to the target, or open one.
 */
import type { Clock } from '../core/clock.js';
import { CoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { FramerLimits, Via } from '../sip/index.js';
import type { Connection } from './connection.js';
import { connectionKey, defaultPort, unbracketHost } from './sockets.js';
import type { TransportStats } from './stats.js';
import { connectStream, type StreamAcceptHost, type TlsMaterial } from './tcp.js';
import type { Protocol, ReceiveInfo, SendCallback, SendTarget, SocketInfo } from './types.js';
import { connectWs } from './ws.js';

/** Settings of the table, from the layer's options. */
export interface ConnectionSettings {
  clock: Clock;
  logger: Logger;
  stats: TransportStats;
  maxConnections: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  framerLimits: Partial<FramerLimits>;
  /** Largest WebSocket message accepted (head plus body limits). */
  maxWsPayload: number;
  tls: TlsMaterial | null;
  /** The receive path. */
  receive(buf: Buffer, rx: ReceiveInfo, datagram: boolean): void;
  /** The local socket an outbound connection leaves from (throws TANDEM_ERR_NO_SOCKET). */
  socketFor(target: SendTarget): SocketInfo;
}

/** Deliver a send failure asynchronously, as TransportPort promises. */
export function failLater(cb: SendCallback | undefined, err: Error): void {
  if (cb !== undefined) {
    queueMicrotask(() => {
      cb(err);
    });
  }
}

/** The table and the stream side of sending. */
export class ConnectionManager implements StreamAcceptHost {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly stats: TransportStats;
  readonly idleTimeoutMs: number;
  readonly framerLimits: Partial<FramerLimits>;
  private readonly settings: ConnectionSettings;
  private readonly byId = new Map<number, Connection>();
  private readonly byKey = new Map<string, Connection>();
  private lastId = 0;
  private accepting = true;
  private readonly waiters: (() => void)[] = [];

  constructor(settings: ConnectionSettings) {
    this.settings = settings;
    this.clock = settings.clock;
    this.logger = settings.logger;
    this.stats = settings.stats;
    this.idleTimeoutMs = settings.idleTimeoutMs;
    this.framerLimits = settings.framerLimits;
  }

  /** Open connections now. */
  get size(): number {
    return this.byId.size;
  }

  /** A connection by id, while it is usable. */
  get(id: number): Connection | undefined {
    const conn = this.byId.get(id);
    return conn?.usable === true ? conn : undefined;
  }

  /** A usable connection indexed under (protocol, address, port). */
  find(protocol: Protocol, address: string, port: number): Connection | undefined {
    const conn = this.byKey.get(connectionKey(protocol, address, port));
    return conn?.usable === true ? conn : undefined;
  }

  /** Every connection in the table (for MI and tests). */
  list(): Connection[] {
    return [...this.byId.values()];
  }

  // ---- StreamAcceptHost ----------------------------------------------------------------------

  receive(buf: Buffer, rx: ReceiveInfo, datagram: boolean): void {
    this.settings.receive(buf, rx, datagram);
  }

  admit(): boolean {
    if (this.accepting && this.byId.size < this.settings.maxConnections) {
      return true;
    }
    this.stats.connections_refused++;
    return false;
  }

  nextId(): number {
    return ++this.lastId;
  }

  /** An inbound connection: indexed under its source address and port. */
  adopt(conn: Connection): void {
    this.add(conn);
    this.index(conn, connectionKey(conn.protocol, conn.remoteAddress, conn.remotePort));
  }

  connectionClosed(conn: Connection): void {
    if (this.byId.get(conn.id) !== conn) {
      return;
    }
    this.byId.delete(conn.id);
    for (const key of conn.keys) {
      if (this.byKey.get(key) === conn) {
        this.byKey.delete(key);
      }
    }
    this.stats.connections_open = this.byId.size;
    this.logger.debug({ conn: conn.id, peer: conn.peer }, 'connection closed');
    if (this.byId.size === 0) {
      for (const wake of this.waiters.splice(0)) {
        wake();
      }
    }
  }

  // ---- sending -------------------------------------------------------------------------------

  /**
   * Send on a stream: the pinned connection if still usable, else one to (protocol, address,
   * port), else a new one (writes queue until it is up). Failures reach `cb` asynchronously.
   */
  send(target: SendTarget, data: Buffer, cb: SendCallback | undefined): void {
    let conn: Connection | undefined;
    if (target.connectionId !== undefined) {
      conn = this.get(target.connectionId);
      if (conn !== undefined && conn.protocol !== target.protocol) {
        conn = undefined;
      }
    }
    conn ??= this.find(target.protocol, target.address, target.port);
    conn ??= this.open(target, cb);
    conn?.write(data, cb);
  }

  /**
   * RFC 5923 §5 (in short): a client that puts `;alias` in the top Via of a request asks the
   * receiver to reuse that connection for requests going back to the Via's sent-by host and
   * port, instead of opening a new one. Index the connection under that sent-by.
   */
  alias(rx: ReceiveInfo, via: Via): void {
    const conn = rx.connectionId === null ? undefined : this.get(rx.connectionId);
    if (conn === undefined) {
      return;
    }
    const port = via.port ?? defaultPort(conn.protocol);
    const key = connectionKey(conn.protocol, unbracketHost(via.host), port);
    if (this.byKey.get(key) !== conn) {
      this.index(conn, key);
      this.logger.debug({ conn: conn.id, alias: key }, 'connection alias');
    }
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /**
   * Refuse new connections, close every open one gracefully, and resolve once all are gone;
   * after `graceMs` the stragglers are destroyed.
   */
  closeAll(graceMs: number): Promise<void> {
    this.accepting = false;
    if (this.byId.size === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      for (const conn of this.byId.values()) {
        conn.close('transport stopping');
      }
      // A real timer: shutdown runs in real time even when a test drives the SIP clock.
      const timer = setTimeout(() => {
        for (const conn of this.byId.values()) {
          conn.abort('transport stopped');
        }
      }, graceMs);
      timer.unref();
      this.waiters.push(() => {
        clearTimeout(timer);
      });
    });
  }

  private add(conn: Connection): void {
    this.byId.set(conn.id, conn);
    this.stats.connections_open = this.byId.size;
    this.logger.debug(
      { conn: conn.id, peer: conn.peer, outbound: conn.outbound },
      'connection opened',
    );
  }

  private index(conn: Connection, key: string): void {
    // The newest connection to an address wins: the older one stays open for what it carries.
    this.byKey.set(key, conn);
    conn.keys.push(key);
  }

  /** Open an outbound connection for `target`, or fail `cb` and return undefined. */
  private open(target: SendTarget, cb: SendCallback | undefined): Connection | undefined {
    const where = `${target.protocol} ${target.address}:${target.port}`;
    if (!this.accepting) {
      this.refuse(cb, new CoreError('TANDEM_ERR_SEND', `${where}: transport is stopping`));
      return undefined;
    }
    if (this.byId.size >= this.settings.maxConnections) {
      const detail = `${where}: ${this.settings.maxConnections} connections open`;
      this.refuse(cb, new CoreError('TANDEM_ERR_SEND', detail));
      return undefined;
    }
    let local: SocketInfo;
    try {
      local = this.settings.socketFor(target);
    } catch (err) {
      const detail = `${where}: ${(err as Error).message}`;
      this.refuse(cb, new CoreError('TANDEM_ERR_SEND', detail, { cause: err }));
      return undefined;
    }
    const s = this.settings;
    const conn =
      target.protocol === 'tcp' || target.protocol === 'tls'
        ? connectStream(this, target.protocol, local, target.address, target.port, s.tls)
        : connectWs(
            this,
            target.protocol === 'wss' ? 'wss' : 'ws',
            local,
            target.address,
            target.port,
            s.tls,
            s.maxWsPayload,
          );
    this.add(conn);
    this.index(conn, connectionKey(conn.protocol, conn.remoteAddress, conn.remotePort));
    conn.startConnectTimer(s.connectTimeoutMs);
    return conn;
  }

  private refuse(cb: SendCallback | undefined, err: CoreError): void {
    this.stats.send_failures++;
    this.logger.debug({ err: err.message }, 'send refused');
    failLater(cb, err);
  }
}
