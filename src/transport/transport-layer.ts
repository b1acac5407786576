/**
 * The transport layer (RFC 3261 §18): binds the configured UDP, TCP, TLS, WS and WSS sockets,
 * delivers what arrives to a {@link TransportHandler}, and sends where it is told
 * ({@link TransportPort}). The pieces live beside it: udp.ts, tcp.ts, ws.ts, connections.ts,
 * receive.ts, response-target.ts, via-received.ts, sockets.ts.
 */
import { networkInterfaces } from 'node:os';
import { systemClock, type Clock } from '../core/clock.js';
import { CoreError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { DEFAULT_LIMITS, type SipResponse, type ValidateOptions } from '../sip/index.js';
import { ConnectionManager, failLater } from './connections.js';
import { Receiver, SentBySet } from './receive.js';
import { responseRoute } from './response-target.js';
import {
  bracketHost,
  checkListenSpec,
  familyOf,
  isWildcard,
  makeSocketInfo,
  parseListenSpec,
  socketId,
  unbracketHost,
} from './sockets.js';
import { TransportStats } from './stats.js';
import { StreamListener, type TlsMaterial } from './tcp.js';
import {
  isReliable,
  type ListenSpec,
  type Protocol,
  type ReceiveInfo,
  type SendCallback,
  type SentDatagram,
  type SendTarget,
  type SocketInfo,
  type TransportHandler,
  type TransportPort,
} from './types.js';
import { UdpListener } from './udp.js';
import { WsListener } from './ws.js';

/** Certificates for TLS and WSS listeners and for outbound TLS/WSS connections. */
export interface TransportTlsOptions {
  /** PEM certificate chain and private key. */
  cert: string | Buffer;
  key: string | Buffer;
  /** Trusted CAs for peer certificates (default: Node's bundled roots). */
  ca?: string | Buffer | (string | Buffer)[];
  /** Ask inbound peers for a client certificate and refuse untrusted ones. Default false. */
  verifyPeer?: boolean;
  /** Verify the certificate of servers we connect to (chain and IP address). Default true. */
  rejectUnauthorized?: boolean;
}

/** Resource caps. */
export interface TransportLimits {
  /** Stream connections open at once, inbound and outbound. Default 4096. */
  maxConnections: number;
  /** Close a stream connection after this long without traffic. Default 300 000 ms. */
  idleTimeoutMs: number;
  /** Largest header block, in bytes (parser and stream framer). Default 32 768. */
  maxHeadBytes: number;
  /** Largest body, in bytes. Default 65 536. */
  maxBodyBytes: number;
  /** CR/LF bytes tolerated between stream messages (RFC 5626 keep-alives). Default 1024. */
  maxKeepaliveBytes: number;
  /** Outbound connection (and TLS handshake) deadline. Default 10 000 ms. */
  connectTimeoutMs: number;
  /**
   * SO_RCVBUF asked for on UDP sockets, in bytes (the kernel caps it at net.core.rmem_max); 0
   * keeps the system default. Default 4 MiB: a proxy receives from every peer on one socket, and
   * the usual 208 KiB default drops datagrams in bursts (a GC pause at a few hundred calls/s).
   */
  udpRecvBufferBytes: number;
}

export const DEFAULT_TRANSPORT_LIMITS: Readonly<TransportLimits> = Object.freeze({
  maxConnections: 4096,
  idleTimeoutMs: 300_000,
  maxHeadBytes: DEFAULT_LIMITS.maxHeadBytes,
  maxBodyBytes: DEFAULT_LIMITS.maxBodyBytes,
  maxKeepaliveBytes: 1024,
  connectTimeoutMs: 10_000,
  udpRecvBufferBytes: 4 * 1024 * 1024,
});

export interface TransportLayerOptions {
  /** Sockets to bind: specs, or strings such as `udp:127.0.0.1:5060` and `tls:[::1]:5061`. */
  listen: readonly (ListenSpec | string)[];
  tls?: TransportTlsOptions;
  limits?: Partial<TransportLimits>;
  /** Where received messages go; also settable later with {@link TransportLayer.setHandler}. */
  handler?: TransportHandler;
  /** Validation applied to every received message (see src/sip/validate.ts). */
  validate?: ValidateOptions;
  clock?: Clock;
  /** The layer's logger (the caller makes the `{ component: 'transport' }` child). */
  logger?: Logger;
  /** How long stop() lets connections close gracefully before destroying them. Default 2000. */
  stopGraceMs?: number;
  /**
   * Addresses that are ours besides the sockets (config `aliases`; no port: any port). A
   * response whose top Via names one is accepted (RFC 3261 §18.1.2 keeps only our own sent-by):
   * the nodes behind one virtual IP insert the VIP, and a response a node receives for a
   * request its partner sent still reaches the proxy core, which forwards it statelessly.
   */
  aliases?: readonly { host: string; port?: number }[];
}

type Listener = UdpListener | StreamListener | WsListener;

const NEW = 0;
const STARTING = 1;
const RUNNING = 2;
const STOPPED = 3;

/** The transport layer. See the module comment. */
export class TransportLayer implements TransportPort {
  /** Counters, read by MI and metrics. */
  readonly stats = new TransportStats();
  private readonly specs: ListenSpec[];
  private readonly limits: TransportLimits;
  private readonly tls: TlsMaterial | null;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly stopGraceMs: number;
  private readonly receiver: Receiver;
  private readonly sentBy = new SentBySet();
  private readonly connections: ConnectionManager;
  private state = NEW;
  private bound: SocketInfo[] = [];
  private listeners: Listener[] = [];
  private readonly udp = new Map<string, UdpListener>();
  private readonly byId = new Map<string, SocketInfo>();
  /** The first socket of each protocol, per family: [IPv4, IPv6]. */
  private readonly byProtocol = new Map<Protocol, [SocketInfo | null, SocketInfo | null]>();

  constructor(options: TransportLayerOptions) {
    this.specs = options.listen.map((s) => (typeof s === 'string' ? parseListenSpec(s) : s));
    for (const spec of this.specs) {
      checkListenSpec(spec);
    }
    this.limits = { ...DEFAULT_TRANSPORT_LIMITS, ...options.limits };
    for (const [key, value] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new CoreError(
          'TANDEM_ERR_INVALID_ARGUMENT',
          `limits.${key} must be a positive integer`,
        );
      }
    }
    this.tls = options.tls === undefined ? null : tlsMaterial(options.tls);
    const needsTls = this.specs.find((s) => s.protocol === 'tls' || s.protocol === 'wss');
    if (needsTls !== undefined && this.tls === null) {
      const id = socketId(needsTls.protocol, needsTls.host, needsTls.port);
      throw new CoreError('TANDEM_ERR_CONFIG', `${id}: a TLS listener needs tls.cert and tls.key`);
    }
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.stopGraceMs = options.stopGraceMs ?? 2000;
    for (const a of options.aliases ?? []) {
      if (a.port === undefined) {
        this.sentBy.addHost(a.host);
      } else {
        this.sentBy.add(a.host, a.port);
      }
    }
    const stats = this.stats;
    const logger = this.logger;
    this.receiver = new Receiver(
      {
        stats,
        logger,
        sentBy: this.sentBy,
        reply: (res, rx) => {
          this.sendResponse(res, rx);
        },
        alias: (rx, via) => {
          this.connections.alias(rx, via);
        },
      },
      {
        maxHeadBytes: this.limits.maxHeadBytes,
        maxBodyBytes: this.limits.maxBodyBytes,
        ...(options.validate !== undefined ? { validate: options.validate } : {}),
      },
    );
    this.receiver.handler = options.handler ?? null;
    const receiver = this.receiver;
    this.connections = new ConnectionManager({
      clock: this.clock,
      logger,
      stats,
      maxConnections: this.limits.maxConnections,
      idleTimeoutMs: this.limits.idleTimeoutMs,
      connectTimeoutMs: this.limits.connectTimeoutMs,
      framerLimits: {
        maxHeadBytes: this.limits.maxHeadBytes,
        maxBodyBytes: this.limits.maxBodyBytes,
        maxKeepaliveBytes: this.limits.maxKeepaliveBytes,
      },
      maxWsPayload: this.limits.maxHeadBytes + this.limits.maxBodyBytes,
      tls: this.tls,
      receive: (buf, rx, datagram) => {
        receiver.receive(buf, rx, datagram);
      },
      socketFor: (target) => this.socketFor(target),
    });
  }

  /** Set (or replace) where received messages go. */
  setHandler(handler: TransportHandler | null): void {
    this.receiver.handler = handler;
  }

  /**
   * Bind every configured socket. A failure closes what was bound and throws
   * CoreError('TANDEM_ERR_LISTEN', '<socket id>: <reason>'); the layer cannot be started again.
   */
  async start(): Promise<void> {
    if (this.state !== NEW) {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', 'start() may be called once');
    }
    this.state = STARTING;
    for (const spec of this.specs) {
      const listener = this.createListener(spec);
      let port: number;
      try {
        port = await listener.listen(spec.host, spec.port);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        const id = socketId(spec.protocol, spec.host, spec.port);
        await listener.close();
        await this.closeListeners();
        this.state = STOPPED;
        throw new CoreError('TANDEM_ERR_LISTEN', `${id}: ${reason}`, { cause: err });
      }
      if (this.state !== STARTING) {
        // stop() ran while this socket was binding: it closed the others, close this one.
        await listener.close();
        throw new CoreError('TANDEM_ERR_INVALID_STATE', 'stop() was called during start()');
      }
      this.register(spec, listener, port);
    }
    this.state = RUNNING;
    this.logger.info({ sockets: this.bound.map((s) => s.id) }, 'transport listening');
  }

  /**
   * Stop accepting, close every connection (gracefully, then by force after the grace period)
   * and every socket. Safe to call more than once.
   */
  async stop(): Promise<void> {
    if (this.state === STOPPED || this.state === NEW) {
      this.state = STOPPED;
      return;
    }
    this.state = STOPPED;
    const listenersClosed = this.closeListeners();
    await this.connections.closeAll(this.stopGraceMs);
    await listenersClosed;
    this.logger.info('transport stopped');
  }

  /** The bound sockets (empty before start). */
  sockets(): SocketInfo[] {
    return [...this.bound];
  }

  /** Stream connections open now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  socketFor(target: SendTarget): SocketInfo {
    if (target.socketId !== undefined) {
      const s = this.byId.get(target.socketId);
      if (s?.protocol !== target.protocol) {
        throw new CoreError(
          'TANDEM_ERR_NO_SOCKET',
          s === undefined
            ? `no socket ${target.socketId}`
            : `socket ${target.socketId} is not ${target.protocol}`,
        );
      }
      return s;
    }
    const family = familyOf(target.address);
    const s = this.byProtocol.get(target.protocol)?.[family === 4 ? 0 : 1];
    if (s === undefined || s === null) {
      throw new CoreError(
        'TANDEM_ERR_NO_SOCKET',
        `no ${target.protocol} socket for IPv${family} (${bracketHost(target.address)})`,
      );
    }
    return s;
  }

  send(target: SendTarget, data: Buffer, cb?: SendCallback): void {
    if (this.state !== RUNNING) {
      this.stats.send_failures++;
      failLater(cb, new CoreError('TANDEM_ERR_SEND', 'transport is not running'));
      return;
    }
    if (target.protocol === 'udp') {
      this.sendDatagram(target, data, cb);
    } else {
      this.connections.send(target, data, cb);
    }
  }

  sendResponse(res: SipResponse, rx: ReceiveInfo, cb?: SendCallback): SentDatagram | null {
    // RFC 3261 §18.2.2: on a reliable transport the response goes back on the connection the
    // request came in on, "if that connection is still open".
    if (isReliable(rx.protocol) && rx.connectionId !== null && this.state === RUNNING) {
      const conn = this.connections.get(rx.connectionId);
      if (conn !== undefined) {
        conn.write(res.toBuffer(), cb);
        return null;
      }
    }
    let route;
    try {
      route = responseRoute(res.topVia(), rx);
    } catch (err) {
      route = { ok: false as const, reason: `bad top Via: ${(err as Error).message}` };
    }
    if (!route.ok) {
      this.stats.send_failures++;
      this.logger.debug({ status: res.status, reason: route.reason }, 'response not sent');
      failLater(cb, new CoreError('TANDEM_ERR_SEND', route.reason));
      return null;
    }
    const data = res.toBuffer();
    this.send(route.target, data, cb);
    return route.target.protocol === 'udp' ? { target: route.target, data } : null;
  }

  // ---- internals ---------------------------------------------------------------------------

  private sendDatagram(target: SendTarget, data: Buffer, cb: SendCallback | undefined): void {
    let info: SocketInfo;
    try {
      info = this.socketFor(target);
    } catch (err) {
      this.stats.send_failures++;
      failLater(cb, new CoreError('TANDEM_ERR_SEND', (err as Error).message, { cause: err }));
      return;
    }
    const listener = this.udp.get(info.id)!;
    if (cb === undefined) {
      listener.send(data, target.port, target.address, this.datagramSent);
    } else {
      listener.send(data, target.port, target.address, (err) => {
        this.datagramSent(err);
        cb(err === null ? null : datagramError(target, err));
      });
    }
  }

  /** Count a datagram's fate (no closure per send when the caller passed no callback). */
  private readonly datagramSent = (err: Error | null): void => {
    if (err === null) {
      this.stats.sent_messages++;
    } else {
      this.stats.send_failures++;
      this.logger.debug({ err: err.message }, 'udp send failed');
    }
  };

  private createListener(spec: ListenSpec): Listener {
    switch (spec.protocol) {
      case 'udp':
        return new UdpListener(
          { clock: this.clock, logger: this.logger, receiver: this.receiver },
          familyOf(spec.host),
          this.limits.udpRecvBufferBytes,
        );
      case 'tcp':
      case 'tls':
        return new StreamListener(
          this.connections,
          spec.protocol,
          this.tls,
          this.limits.connectTimeoutMs,
        );
      case 'ws':
      case 'wss':
        return new WsListener(
          this.connections,
          spec.protocol,
          this.tls,
          this.limits.maxHeadBytes + this.limits.maxBodyBytes,
        );
    }
  }

  /** Make a bound listener visible: its SocketInfo, lookups and sent-by values. */
  private register(spec: ListenSpec, listener: Listener, port: number): void {
    this.listeners.push(listener);
    const info = withWildcardSentBy(makeSocketInfo(spec, port));
    listener.setInfo(info);
    if (listener instanceof UdpListener) {
      this.udp.set(info.id, listener);
    }
    this.bound.push(info);
    this.byId.set(info.id, info);
    const pair = this.byProtocol.get(info.protocol) ?? [null, null];
    const slot = info.family === 4 ? 0 : 1;
    pair[slot] ??= info;
    this.byProtocol.set(info.protocol, pair);
    this.sentBy.add(info.sentByHost, info.sentByPort);
    if (isWildcard(info.host)) {
      for (const address of localAddresses(info.family)) {
        this.sentBy.add(address, info.port);
      }
    } else {
      this.sentBy.add(info.host, info.port);
    }
  }

  private async closeListeners(): Promise<void> {
    const listeners = this.listeners;
    this.listeners = [];
    await Promise.all(listeners.map((l) => l.close()));
  }
}

function tlsMaterial(t: TransportTlsOptions): TlsMaterial {
  return {
    cert: t.cert,
    key: t.key,
    ...(t.ca !== undefined ? { ca: t.ca } : {}),
    verifyPeer: t.verifyPeer ?? false,
    rejectUnauthorized: t.rejectUnauthorized ?? true,
  };
}

function datagramError(target: SendTarget, err: Error): CoreError {
  return new CoreError(
    'TANDEM_ERR_SEND',
    `udp ${bracketHost(target.address)}:${target.port}: ${err.message}`,
    { cause: err },
  );
}

/** The addresses of this host's interfaces in one family. */
function localAddresses(family: 4 | 6): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if ((a.family === 'IPv4' ? 4 : 6) === family) {
        out.push(a.address);
      }
    }
  }
  return out;
}

/**
 * A wildcard socket (`0.0.0.0`, `::`) with nothing advertised has no address to put in Via:
 * use the first external interface address of its family (the loopback one if there is none).
 * Operators with several addresses should configure `advertise`.
 */
function withWildcardSentBy(info: SocketInfo): SocketInfo {
  if (!isWildcard(unbracketHost(info.sentByHost))) {
    return info;
  }
  const external = Object.values(networkInterfaces())
    .flatMap((l) => l ?? [])
    .filter(
      (a) =>
        (a.family === 'IPv4' ? 4 : 6) === info.family &&
        !a.internal &&
        !a.address.startsWith('fe80:'),
    );
  const host = external[0]?.address ?? (info.family === 4 ? '127.0.0.1' : '::1');
  return Object.freeze({ ...info, sentByHost: bracketHost(host) });
}
