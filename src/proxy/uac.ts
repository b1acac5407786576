/**
 * Requests the proxy originates itself (OpenSIPS `tm`'s `t_uac`): keep-alive OPTIONS to NATed
 * contacts, in-dialog OPTIONS pings and the BYEs of a dialog that timed out. Each goes through
 * a client transaction (RFC 3261 §17.1), so it is retransmitted over UDP and ends in exactly
 * one final status: the response's, 408 when Timer F fires (§17.1.2.2), 503 when no
 * transport reaches the target (§17.1.4).
 */
import { CoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { newBranch, newCallId, newTag, SipRequest, type SipResponse } from '../sip/index.js';
import type { ClientTransactionUser } from '../transaction/types.js';
import type { SendTarget, TransportPort } from '../transport/types.js';
import { nextHopUri } from './route.js';
import { chooseSocket } from './socket-choice.js';
import type { ResolverPort, TransactionPort } from './types.js';
import { viaValue } from './via.js';

/** A request to originate. Everything but method and URI has a sensible default. */
export interface UacRequest {
  method: string;
  /** Request-URI. */
  uri: string;
  /** Send to this SIP URI instead of the Route set or Request-URI (a NATed contact's address). */
  dst?: string | null;
  /** Route header values, top first (a contact's Path, a dialog's route set). */
  routes?: readonly string[] | null;
  /** Id of the listen socket to send from, when it exists. */
  socketId?: string | null;
  /** From value with its tag; default `<sip:tandem@our address>;tag=random`. */
  from?: string;
  /** To value; default `<uri>`. */
  to?: string;
  callId?: string;
  cseq?: number;
  /** Extra header fields, in order. */
  headers?: readonly (readonly [string, string])[];
  body?: string;
  contentType?: string;
}

/** How an originated request ended. */
export interface UacResult {
  /** The final status: the response's, 408 on timeout, 503 when it could not be sent. */
  readonly status: number;
  /** The final response, or null when the status was synthesised. */
  readonly response: SipResponse | null;
}

export interface UacHost {
  readonly transport: TransportPort;
  readonly transactions: TransactionPort;
  readonly resolver: ResolverPort;
  readonly logger: Logger;
}

/** Originates requests through client transactions. */
export class Uac {
  /** Requests sent, and those that ended in a synthesised 408 or 503. */
  readonly stats = { uac_requests: 0, uac_timeouts: 0, uac_failures: 0 };

  constructor(private readonly host: UacHost) {}

  /** Send `r`; resolves with its final status (never rejects for network reasons). */
  async request(r: UacRequest): Promise<UacResult> {
    if (r.method === 'INVITE' || r.method === 'ACK' || r.method === 'CANCEL') {
      // Those need the INVITE machinery (ACK for 2xx, CANCEL matching); nothing originates them yet.
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `cannot originate ${r.method} requests`);
    }
    this.stats.uac_requests++;
    const req = this.build(r);
    const hop = nextHopUri(req, r.dst ?? null);
    if (hop === null) {
      return this.failed(503);
    }
    let targets: SendTarget[];
    try {
      targets = this.host.resolver.resolveNumeric?.(hop) ?? (await this.host.resolver.resolve(hop));
    } catch (err) {
      this.host.logger.debug({ err, uri: r.uri }, 'originated request: next hop unresolvable');
      return this.failed(503);
    }
    for (const target of targets) {
      const socket = chooseSocket(this.host.transport, target, r.socketId);
      if (socket === null) {
        continue;
      }
      const branch = newBranch();
      req.pushVia(viaValue(socket, branch));
      if (!req.has('from')) {
        req.addHeader('From', `<sip:tandem@${socket.sentByHost}>;tag=${newTag()}`);
      }
      return new Promise<UacResult>((resolve) => {
        const user = new OneShotUser(resolve, this.stats);
        this.host.transactions.createClientTransaction(
          req,
          { ...target, socketId: socket.id },
          user,
          branch,
        );
      });
    }
    return this.failed(503);
  }

  /** Send bytes outside any transaction (a CRLF keep-alive, RFC 5626 §4.4.1). */
  sendRaw(target: SendTarget, data: Buffer): void {
    this.host.transport.send(target, data);
  }

  private build(r: UacRequest): SipRequest {
    const req = new SipRequest(r.method, r.uri, []);
    for (const route of r.routes ?? []) {
      req.addHeader('Route', route);
    }
    req.addHeader('Max-Forwards', '70');
    if (r.from !== undefined) {
      req.addHeader('From', r.from);
    }
    req.addHeader('To', r.to ?? `<${r.uri}>`);
    req.addHeader('Call-ID', r.callId ?? newCallId());
    req.addHeader('CSeq', `${String(r.cseq ?? 1)} ${r.method}`);
    for (const [name, value] of r.headers ?? []) {
      req.addHeader(name, value);
    }
    if (r.body !== undefined) {
      req.setBody(r.body, r.contentType);
    }
    return req;
  }

  private failed(status: number): UacResult {
    this.stats.uac_failures++;
    return { status, response: null };
  }
}

/** Settles once, on the first final response, timeout or transport error. */
class OneShotUser implements ClientTransactionUser {
  private done = false;

  constructor(
    private readonly resolve: (r: UacResult) => void,
    private readonly stats: Uac['stats'],
  ) {}

  onResponse(res: SipResponse): void {
    if (res.status >= 200) {
      this.settle({ status: res.status, response: res });
    }
  }

  onTimeout(): void {
    this.stats.uac_timeouts++;
    this.settle({ status: 408, response: null });
  }

  onTransportError(): void {
    this.stats.uac_failures++;
    this.settle({ status: 503, response: null });
  }

  private settle(r: UacResult): void {
    if (!this.done) {
      this.done = true;
      this.resolve(r);
    }
  }
}
