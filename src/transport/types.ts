/**
 * The contract between the transport layer and the layers above it (transactions, proxy).
 * The transaction layer depends only on {@link TransportPort}, so its tests use a fake.
 */
import type { SipRequest, SipResponse } from '../sip/index.js';

/** Transport protocols Tandem listens on, lower-cased as in `listen` config entries. */
export type Protocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

export const PROTOCOLS: readonly Protocol[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

/**
 * RFC 3261 §17.1.1.2 / §17.1.2.2: retransmission timers run only over unreliable transports.
 * Every stream transport (TCP, TLS, and WebSocket over either, RFC 7118) is reliable.
 */
export function isReliable(protocol: Protocol): boolean {
  return protocol !== 'udp';
}

/** The Via transport token for a protocol (RFC 3261 §20.42, RFC 7118 §5.2). */
export function viaTransport(protocol: Protocol): string {
  return protocol.toUpperCase();
}

/** One listen socket as configured. */
export interface ListenSpec {
  protocol: Protocol;
  /** IP literal to bind (IPv6 without brackets). */
  host: string;
  port: number;
  /**
   * Address to put in Via, Record-Route and Contact instead of the bound one (NAT, or a VIP
   * bound by another host). The port defaults to the bound port.
   */
  advertise?: { host: string; port?: number };
}

/** A socket the process listens on, as the layers above see it. */
export interface SocketInfo {
  /** Stable id, `<protocol>:<host>:<port>` with IPv6 in brackets, e.g. `udp:[::1]:5060`. */
  readonly id: string;
  readonly protocol: Protocol;
  /** Bound IP literal (IPv6 without brackets). */
  readonly host: string;
  /** Bound port (the real one when 0 was configured). */
  readonly port: number;
  readonly family: 4 | 6;
  /** What to write in Via sent-by / Record-Route: the advertised address or the bound one. IPv6 in brackets. */
  readonly sentByHost: string;
  readonly sentByPort: number;
}

/** Where a message came from and how. */
export interface ReceiveInfo {
  readonly socket: SocketInfo;
  readonly protocol: Protocol;
  /** Source IP literal (IPv6 without brackets) and port. */
  readonly sourceAddress: string;
  readonly sourcePort: number;
  /** The stream connection it arrived on, or null for UDP. */
  readonly connectionId: number | null;
  /** Clock time of arrival (ms, monotonic). */
  readonly receivedAt: number;
}

/** A resolved next hop: protocol, IP literal and port; optionally pinned to a socket or connection. */
export interface SendTarget {
  protocol: Protocol;
  /** IP literal (IPv6 without brackets). Names are resolved (RFC 3263) before this point. */
  address: string;
  port: number;
  /** Send from this listen socket (its id); otherwise one is chosen by protocol and family. */
  socketId?: string;
  /**
   * Reuse this connection when it is still open (responses go back on the connection the
   * request came in on, RFC 3261 §18.2.2; RFC 5923 aliases). Otherwise a connection to
   * address:port is reused or opened.
   */
  connectionId?: number;
}

/** What a send reports once the bytes are handed to the kernel, or failed. */
export type SendCallback = (err: Error | null) => void;

/** A response as it went out in a datagram: enough to send it again without parse or route. */
export interface SentDatagram {
  readonly target: SendTarget;
  readonly data: Buffer;
}

/** What the transaction layer and the proxy need from the transport layer. */
export interface TransportPort {
  /** The local socket a request to `target` leaves from; throws TANDEM_ERR_NO_SOCKET if none. */
  socketFor(target: SendTarget): SocketInfo;
  /**
   * Send bytes. Never throws for network reasons: failures (refused, reset, connection cap)
   * arrive through `cb` as a TandemError with code TANDEM_ERR_SEND, asynchronously.
   */
  send(target: SendTarget, data: Buffer, cb?: SendCallback): void;
  /**
   * Send a response where RFC 3261 §18.2.2 and RFC 3581 §4 say, from the top Via of `res`
   * and how its request arrived (`rx`): same connection for streams, `received`/`rport` for
   * UDP, `maddr` when present. When it goes as a datagram, returns where and what was sent, so
   * a transaction that must resend it (RFC 3261 §17.2.2, Timer J) can keep that instead of the
   * parsed response; null when it went on a connection or could not be routed (the failure
   * then reaches `cb`).
   */
  sendResponse(res: SipResponse, rx: ReceiveInfo, cb?: SendCallback): SentDatagram | null;
}

/** What the transport layer delivers upwards: a parsed message that passed validation. */
export interface TransportHandler {
  onRequest(req: SipRequest, rx: ReceiveInfo): void;
  onResponse(res: SipResponse, rx: ReceiveInfo): void;
}
