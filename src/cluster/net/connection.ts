/**
 * One TCP or TLS connection of the channel: a socket, its frame decoder and its write side with
 * back-pressure. It knows nothing of peers or heartbeats; the network owns that and is told of
 * frames, framing errors and the close through {@link ConnEvents}. Nothing a peer sends throws
 * past the socket handlers.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../core/logger.js';
import { FrameDecoder, type Frame, type MalformedReason } from './codec.js';
import type { ConnLane } from './core-messages.js';

/** Largest frame before the handshake completed: a HELLO is 37 bytes. */
export const HANDSHAKE_MAX_FRAME_BYTES = 1024;

export interface ConnEvents {
  frame(conn: Conn, f: Frame): void;
  /** The stream broke framing; the connection is being closed. */
  malformed(conn: Conn, reason: MalformedReason): void;
  unknownVersion(conn: Conn, version: number): void;
  close(conn: Conn): void;
}

/** Who is at the other end, once the handshake named them. */
export interface ConnPeer {
  readonly clusterId: number;
  readonly nodeId: number;
  readonly lane: ConnLane;
}

export class Conn {
  /** Set when the HELLO exchange completed. */
  peer: ConnPeer | null = null;
  closed = false;
  /** The TLS side of the socket (`bins:`): the HELLO's node must match its certificate. */
  tls: TLSSocket | null = null;
  private readonly decoder: FrameDecoder;
  private drainWaiters: ((drained: boolean) => void)[] = [];
  private readonly sink;
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(
    readonly socket: Socket,
    /** True for connections we dialled. */
    readonly outbound: boolean,
    private readonly maxFrameBytes: number,
    private readonly events: ConnEvents,
    private readonly log: Logger,
  ) {
    // Until the handshake names a provisioned peer, nobody may make us buffer a large frame.
    this.decoder = new FrameDecoder(Math.min(HANDSHAKE_MAX_FRAME_BYTES, maxFrameBytes));
    this.sink = {
      frame: (f: Frame): void => {
        // A handler may have closed us (a refused HELLO): ignore the rest of the chunk.
        if (!this.socket.destroyed) {
          this.events.frame(this, f);
        }
      },
      unknownVersion: (v: number): void => {
        this.events.unknownVersion(this, v);
      },
    };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.onData(chunk);
    });
    socket.on('drain', () => {
      this.settleDrain(true);
    });
    socket.on('error', (err) => {
      this.log.debug({ err: err.message }, 'cluster connection error');
    });
    socket.on('close', () => {
      this.closed = true;
      this.settleDrain(false);
      this.events.close(this);
    });
  }

  /** The handshake named a provisioned peer: frames up to the configured size from now on. */
  open(peer: ConnPeer): void {
    this.peer = peer;
    this.decoder.setLimit(this.maxFrameBytes);
  }

  /** `host:port` of the other end, for logs. */
  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? 0}`;
  }

  /**
   * Queue bytes; false when the socket's buffer is over its high-water mark (or closed). Writes
   * of one event-loop iteration leave in one writev (uncorked by setImmediate, after every
   * datagram and timer of the iteration ran): a frame per syscall would cap small packets at
   * the syscall rate, and live replication (one packet per REGISTER) paid a write per request.
   */
  write(buf: Buffer): boolean {
    if (this.closed || this.socket.destroyed) {
      return false;
    }
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.uncork);
    }
    return this.socket.write(buf);
  }

  /** Bytes queued in the socket and not yet handed to the kernel. */
  get queued(): number {
    return this.socket.writableLength;
  }

  /** Resolves true when the socket drains, false when it closes first. */
  waitDrain(): Promise<boolean> {
    if (this.closed || this.socket.destroyed) {
      return Promise.resolve(false);
    }
    if (!this.socket.writableNeedDrain) {
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
    });
  }

  destroy(): void {
    if (!this.socket.destroyed) {
      this.socket.destroy();
    }
  }

  private settleDrain(drained: boolean): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) {
      w(drained);
    }
  }

  private onData(chunk: Buffer): void {
    if (this.closed) {
      return;
    }
    let reason: MalformedReason | null;
    try {
      reason = this.decoder.push(chunk, this.sink);
    } catch (err) {
      // A frame handler failed: contain it to this connection, the process lives on.
      this.log.warn({ err: (err as Error).message }, 'cluster frame handler failed');
      reason = this.decoder.fail('length');
    }
    if (reason !== null) {
      this.closed = true;
      this.events.malformed(this, reason);
      this.destroy();
    }
  }
}
