/**
 * The one receive path every transport shares: parse, validate, annotate, hand up. Input from
 * the network never throws past here: bad input is counted and logged at debug, a request that
 * can be answered gets its 4xx/5xx, anything else is dropped; an exception from the handler
 * above is caught, counted and logged at error.
 */
import { SipParseError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import {
  createResponse,
  parseMessage,
  validateRequest,
  validateResponse,
  type ParseOptions,
  type SipRequest,
  type SipResponse,
  type ValidateOptions,
  type Via,
} from '../sip/index.js';
import { salvageRequest } from './salvage.js';
import { canonicalAddress, defaultPortForVia } from './sockets.js';
import type { TransportStats } from './stats.js';
import type { ReceiveInfo, TransportHandler } from './types.js';
import { annotateReceived } from './via-received.js';

/**
 * The sent-by values this process writes in its Via headers (every socket's advertised and
 * bound address), for the RFC 3261 §18.1.2 check on responses.
 */
export class SentBySet {
  private readonly keys = new Set<string>();
  /** Hosts ours on any port (an alias configured without one). */
  private readonly hosts = new Set<string>();

  add(host: string, port: number): void {
    this.keys.add(`${canonicalAddress(host)}:${port}`);
  }

  addHost(host: string): void {
    this.hosts.add(canonicalAddress(host));
  }

  clear(): void {
    this.keys.clear();
    this.hosts.clear();
  }

  /** True when `via`'s sent-by is ours; a missing port is the transport's default. */
  has(via: Via): boolean {
    const port = via.port ?? defaultPortForVia(via.transport);
    const host = via.host;
    // The common case (an IPv4 literal or a name, lower-cased by the Via parser) needs no work.
    return (
      this.keys.has(`${host}:${port}`) ||
      (host.includes(':') && this.keys.has(`${canonicalAddress(host)}:${port}`)) ||
      (this.hosts.size > 0 && this.hosts.has(canonicalAddress(host)))
    );
  }
}

/** What the receive path needs from the layer. */
export interface ReceiverHost {
  readonly stats: TransportStats;
  readonly logger: Logger;
  readonly sentBy: SentBySet;
  /** Send an error response built here back where §18.2.2 says. */
  reply(res: SipResponse, rx: ReceiveInfo): void;
  /** RFC 5923: a request on connection `rx.connectionId` carried `;alias` in its top Via. */
  alias(rx: ReceiveInfo, via: Via): void;
}

/** Parse and validation settings of the receive path. */
export interface ReceiveLimits {
  maxHeadBytes: number;
  maxBodyBytes: number;
  validate?: ValidateOptions;
}

/** Parses, checks and delivers messages; one per transport layer. */
export class Receiver {
  /** Where messages go; null drops them (counted as received, logged at debug). */
  handler: TransportHandler | null = null;
  private readonly datagramOptions: ParseOptions;
  private readonly streamOptions: ParseOptions;
  private readonly validateOptions: ValidateOptions;

  constructor(
    private readonly host: ReceiverHost,
    private readonly limits: ReceiveLimits,
  ) {
    const { maxHeadBytes, maxBodyBytes } = limits;
    this.datagramOptions = { datagram: true, maxHeadBytes, maxBodyBytes };
    this.streamOptions = { datagram: false, maxHeadBytes, maxBodyBytes };
    this.validateOptions = limits.validate ?? {};
  }

  /**
   * One message: a UDP datagram or WebSocket message (`datagram`: Content-Length optional,
   * RFC 3261 §18.3) or a message cut from a stream by its framer.
   */
  receive(buf: Buffer, rx: ReceiveInfo, datagram: boolean): void {
    let msg: SipRequest | SipResponse;
    try {
      msg = parseMessage(buf, datagram ? this.datagramOptions : this.streamOptions);
    } catch (err) {
      this.unparsable(buf, rx, err);
      return;
    }
    if (msg.isRequest()) {
      this.request(msg, rx);
    } else {
      this.response(msg, rx);
    }
  }

  private request(req: SipRequest, rx: ReceiveInfo): void {
    try {
      validateRequest(req, this.validateOptions);
    } catch (err) {
      this.invalid(req, rx, err);
      return;
    }
    annotateReceived(req, rx.sourceAddress, rx.sourcePort);
    const stats = this.host.stats;
    stats.received_requests++;
    if (rx.connectionId !== null && (rx.protocol === 'tcp' || rx.protocol === 'tls')) {
      const via = req.topVia()!;
      if (via.params.has('alias')) {
        this.host.alias(rx, via);
      }
    }
    const handler = this.handler;
    if (handler === null) {
      this.debug(rx, 'no handler: request dropped', undefined);
      return;
    }
    try {
      handler.onRequest(req, rx);
    } catch (err) {
      this.handlerFailed(err, rx);
    }
  }

  private response(res: SipResponse, rx: ReceiveInfo): void {
    const stats = this.host.stats;
    try {
      validateResponse(res, this.validateOptions);
    } catch (err) {
      stats.bad_messages++;
      this.debug(rx, 'bad response dropped', err);
      return;
    }
    // RFC 3261 §18.1.2: "If the value of the "sent-by" parameter in that header field value
    // does not correspond to a value that the client transport is configured to insert into
    // requests, the response MUST be silently discarded."
    if (!this.host.sentBy.has(res.topVia()!)) {
      stats.dropped_responses++;
      this.debug(rx, 'response for a foreign sent-by dropped', undefined);
      return;
    }
    stats.received_replies++;
    const handler = this.handler;
    if (handler === null) {
      this.debug(rx, 'no handler: response dropped', undefined);
      return;
    }
    try {
      handler.onResponse(res, rx);
    } catch (err) {
      this.handlerFailed(err, rx);
    }
  }

  /** The parser refused the bytes: answer a request it could still route, drop the rest. */
  private unparsable(buf: Buffer, rx: ReceiveInfo, err: unknown): void {
    this.host.stats.bad_messages++;
    this.debug(rx, 'unparsable message', err);
    if (!(err instanceof SipParseError)) {
      this.host.logger.error({ err, source: rx.sourceAddress }, 'parser failed unexpectedly');
      return;
    }
    const req = salvageRequest(buf, this.limits.maxHeadBytes);
    if (req !== null) {
      this.answer(req, rx, err);
    }
  }

  /** The request parsed but failed validation. */
  private invalid(req: SipRequest, rx: ReceiveInfo, err: unknown): void {
    this.host.stats.bad_messages++;
    this.debug(rx, 'invalid request', err);
    if (!(err instanceof SipParseError)) {
      this.host.logger.error({ err, source: rx.sourceAddress }, 'validation failed unexpectedly');
      return;
    }
    // RFC 3261 §17: an ACK is never answered.
    if (req.method !== 'ACK') {
      this.answer(req, rx, err);
    }
  }

  /**
   * RFC 3261 §8.2.2 / §16.3: a request that fails the checks gets the error's status with a
   * reason naming the problem, sent where §18.2.2 says (so the Via is annotated first, and the
   * answer goes to the real source). A request whose top Via or To cannot be read is dropped.
   */
  private answer(req: SipRequest, rx: ReceiveInfo, err: SipParseError): void {
    let res: SipResponse;
    try {
      annotateReceived(req, rx.sourceAddress, rx.sourcePort);
      res = createResponse(req, err.status, { reason: err.reason });
    } catch (e) {
      this.debug(rx, 'bad request not answerable', e);
      return;
    }
    this.host.reply(res, rx);
  }

  private handlerFailed(err: unknown, rx: ReceiveInfo): void {
    this.host.stats.handler_errors++;
    this.host.logger.error(
      { err, protocol: rx.protocol, source: rx.sourceAddress, port: rx.sourcePort },
      'message handler threw',
    );
  }

  /** Debug log without building anything when debug is off. */
  private debug(rx: ReceiveInfo, msg: string, err: unknown): void {
    const logger = this.host.logger;
    if (!logger.isLevelEnabled('debug')) {
      return;
    }
    const fields: Record<string, unknown> = {
      protocol: rx.protocol,
      source: rx.sourceAddress,
      port: rx.sourcePort,
    };
    if (err instanceof SipParseError) {
      fields['code'] = err.code;
      fields['reason'] = err.reason;
    } else if (err !== undefined) {
      fields['err'] = err;
    }
    logger.debug(fields, msg);
  }
}
