/**
 * What every stream connection shares, whatever carries it (TCP, TLS, WebSocket): its place in
 * the connection table, the writes queued while it connects, the idle timeout, and the one way
 * it ends. Subclasses (tcp.ts, ws.ts) move the bytes.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { CoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { bracketHost } from './sockets.js';
import type { TransportStats } from './stats.js';
import type { Protocol, ReceiveInfo, SendCallback, SocketInfo } from './types.js';

/** What a connection needs from the layer that owns it. */
export interface ConnectionHost {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly stats: TransportStats;
  /** Close a connection after this long without traffic in either direction. */
  readonly idleTimeoutMs: number;
  /** One whole SIP message from `conn`; `datagram` when the carrier framed it (WebSocket). */
  receive(buf: Buffer, rx: ReceiveInfo, datagram: boolean): void;
  /** `conn` closed for good; drop it from the table. */
  connectionClosed(conn: Connection): void;
}

/** How a message arrived, one object per message (the arrival time differs). */
class Arrival implements ReceiveInfo {
  constructor(
    readonly socket: SocketInfo,
    readonly protocol: Protocol,
    readonly sourceAddress: string,
    readonly sourcePort: number,
    readonly connectionId: number | null,
    readonly receivedAt: number,
  ) {}
}

/** Build a ReceiveInfo (shared with the UDP path so both make the same hidden class). */
export function arrival(
  socket: SocketInfo,
  protocol: Protocol,
  sourceAddress: string,
  sourcePort: number,
  connectionId: number | null,
  receivedAt: number,
): ReceiveInfo {
  return new Arrival(socket, protocol, sourceAddress, sourcePort, connectionId, receivedAt);
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

interface Pending {
  data: Buffer;
  cb: SendCallback | undefined;
}

/** One stream connection, inbound or outbound. */
export abstract class Connection {
  /** Keys this connection is indexed under in the table (source address, target, aliases). */
  readonly keys: string[] = [];
  /** Clock time of the last bytes in or out. */
  lastActivity: number;
  protected readonly host: ConnectionHost;
  private state: number;
  private queue: Pending[] = [];
  private idleTimer: TimerHandle | null = null;
  private connectTimer: TimerHandle | null = null;
  private closeReason = '';

  protected constructor(
    host: ConnectionHost,
    /** Table id, unique for the life of the process. */
    readonly id: number,
    readonly protocol: Protocol,
    /** The local listener this connection belongs to (inbound) or leaves from (outbound). */
    readonly socket: SocketInfo,
    /** Peer IP literal (IPv6 without brackets) and port. */
    readonly remoteAddress: string,
    readonly remotePort: number,
    /** True when we opened it. */
    readonly outbound: boolean,
  ) {
    this.host = host;
    this.state = outbound ? CONNECTING : OPEN;
    this.lastActivity = host.clock.now();
    if (!outbound) {
      this.armIdle(host.idleTimeoutMs);
    }
  }

  /** True while writes are accepted (connecting or open). */
  get usable(): boolean {
    return this.state === CONNECTING || this.state === OPEN;
  }

  /** True once closed for good. */
  get isClosed(): boolean {
    return this.state === CLOSED;
  }

  /** `protocol address:port` of the peer, for logs and errors. */
  get peer(): string {
    return `${this.protocol} ${bracketHost(this.remoteAddress)}:${this.remotePort}`;
  }

  /** A ReceiveInfo for a message arriving now. */
  arrival(): ReceiveInfo {
    return new Arrival(
      this.socket,
      this.protocol,
      this.remoteAddress,
      this.remotePort,
      this.id,
      this.lastActivity,
    );
  }

  /**
   * Send one message. Queued while connecting; `cb` gets null once the bytes are handed to the
   * kernel, or a TANDEM_ERR_SEND CoreError (always asynchronously).
   */
  write(data: Buffer, cb: SendCallback | undefined): void {
    if (this.state === OPEN) {
      this.activity();
      this.transmit(data, cb);
    } else if (this.state === CONNECTING) {
      this.queue.push({ data, cb });
    } else {
      this.host.stats.send_failures++;
      if (cb !== undefined) {
        const err = this.sendError('connection is closed');
        queueMicrotask(() => {
          cb(err);
        });
      }
    }
  }

  /** Close gracefully (flush, then end); the table forgets the connection once it is closed. */
  close(reason: string): void {
    if (this.state === CLOSING || this.state === CLOSED) {
      return;
    }
    this.closeReason = reason;
    this.host.logger.debug({ conn: this.id, peer: this.peer, reason }, 'closing connection');
    const wasConnecting = this.state === CONNECTING;
    this.state = CLOSING;
    if (wasConnecting) {
      this.destroy();
    } else {
      this.shutdown();
    }
  }

  /** Close at once, dropping unsent data. */
  abort(reason: string): void {
    if (this.state === CLOSED) {
      return;
    }
    this.closeReason ||= reason;
    this.state = CLOSING;
    this.destroy();
  }

  /** Arm the connect timeout of an outbound connection. */
  startConnectTimer(ms: number): void {
    this.connectTimer = this.host.clock.setTimer(ms, this.onConnectTimeout);
  }

  /** A TANDEM_ERR_SEND error naming this connection's peer. */
  sendError(detail: string, cause?: unknown): CoreError {
    return new CoreError(
      'TANDEM_ERR_SEND',
      `${this.peer}: ${detail}`,
      cause === undefined ? undefined : { cause },
    );
  }

  // ---- for subclasses ----------------------------------------------------------------------

  /** Write bytes to the carrier; report through `cb` as {@link write} promises. */
  protected abstract transmit(data: Buffer, cb: SendCallback | undefined): void;
  /** End the carrier gracefully; it reports {@link closed} when done. */
  protected abstract shutdown(): void;
  /** Destroy the carrier now; it reports {@link closed}. */
  protected abstract destroy(): void;

  /** Bytes moved: the idle timeout counts from here. */
  protected activity(): void {
    this.lastActivity = this.host.clock.now();
  }

  /** The outbound connection is up: send what was queued. */
  protected opened(): void {
    if (this.state !== CONNECTING) {
      return;
    }
    this.state = OPEN;
    this.connectTimer?.cancel();
    this.connectTimer = null;
    this.activity();
    this.armIdle(this.host.idleTimeoutMs);
    const queue = this.queue;
    this.queue = [];
    for (const p of queue) {
      this.transmit(p.data, p.cb);
    }
  }

  /** The carrier is gone: fail what is queued and leave the table. Idempotent. */
  protected closed(error?: Error): void {
    if (this.state === CLOSED) {
      return;
    }
    this.state = CLOSED;
    this.idleTimer?.cancel();
    this.idleTimer = null;
    this.connectTimer?.cancel();
    this.connectTimer = null;
    const queue = this.queue;
    this.queue = [];
    if (queue.length > 0) {
      const detail = this.closeReason || error?.message || 'connection closed before it opened';
      const err = this.sendError(detail, error);
      for (const p of queue) {
        this.host.stats.send_failures++;
        p.cb?.(err);
      }
    }
    this.host.connectionClosed(this);
  }

  /** The completion callback of one write: count it and tell the caller. */
  protected written(err: Error | null | undefined, cb: SendCallback | undefined): void {
    const stats = this.host.stats;
    if (err === null || err === undefined) {
      stats.sent_messages++;
      cb?.(null);
    } else {
      stats.send_failures++;
      cb?.(this.sendError(err.message, err));
    }
  }

  private armIdle(ms: number): void {
    this.idleTimer = this.host.clock.setTimer(ms, this.onIdleTimer);
  }

  /**
   * The idle timer re-arms itself for the time left instead of being reset on every chunk:
   * traffic only stores a timestamp, and the timer fires at most once per timeout period.
   */
  private readonly onIdleTimer = (): void => {
    this.idleTimer = null;
    if (this.state !== OPEN) {
      return;
    }
    const idle = this.host.clock.now() - this.lastActivity;
    const timeout = this.host.idleTimeoutMs;
    if (idle >= timeout) {
      this.close(`idle for ${Math.round(idle)} ms`);
    } else {
      this.armIdle(timeout - idle);
    }
  };

  private readonly onConnectTimeout = (): void => {
    this.connectTimer = null;
    if (this.state === CONNECTING) {
      this.closeReason = 'connect timeout';
      this.abort('connect timeout');
    }
  };
}
