/**
 * The non-INVITE server transaction, RFC 3261 §17.2.2:
 *
 *   Trying --1xx from TU--> Proceeding --200-699 from TU--> Completed --Timer J--> Terminated
 *     |                                                        ^
 *     +----------------------200-699 from TU-------------------+
 *
 * Timer J keeps the transaction in Completed to answer retransmitted requests with the final
 * response: 64*T1 on unreliable transports, zero on reliable ones.
 */
import { detach, detachBytes, type SipRequest, type SipResponse } from '../sip/index.js';
import type { ReceiveInfo, SentDatagram } from '../transport/types.js';
import { TransactionBase } from './base.js';
import { countFinal, type TransactionContext } from './context.js';
import { checkStatus, toTagOf, type ServerFailure } from './invite-server.js';
import type { ServerTransaction, TransactionState } from './types.js';

export class NonInviteServerTransaction extends TransactionBase implements ServerTransaction {
  /**
   * The last response sent. Null again in Completed over UDP: Timer J keeps the transaction for
   * 64*T1 (32 s), and what its resends need is the bytes and where they went ({@link final}),
   * not the parsed response, which is several times larger.
   */
  lastResponse: SipResponse | null = null;
  onTerminated: (() => void) | null = null;
  /** The final response as sent in a datagram, resent for each retransmitted request. */
  private final: SentDatagram | null = null;
  private finalToTag: string | null = null;
  /** `transport` when a response could not be sent (§17.2.4); read it in `onTerminated`. */
  failure: ServerFailure = null;

  constructor(
    id: string,
    ctx: TransactionContext,
    request: SipRequest,
    readonly rx: ReceiveInfo,
    reliable: boolean,
  ) {
    super(id, ctx, request, reliable, 'trying');
  }

  /** The To tag of the last response sent, or null. */
  get lastToTag(): string | null {
    return this.final !== null ? this.finalToTag : toTagOf(this.lastResponse);
  }

  protected enter(state: TransactionState): void {
    if (state === 'completed') {
      // Timer J only resends the final response: the request can go.
      this.releaseRequest();
      // §17.2.2: "When the server transaction enters the "Completed" state, it MUST set Timer J
      // to fire in 64*T1 seconds for unreliable transports, and zero seconds for reliable
      // transports."
      if (this.reliable) {
        this.go('terminated');
      } else {
        this.startExpiry(this.ctx.timers.t1x64);
      }
    }
    // Trying and Proceeding run no timer: the TU answers, or the client's Timer F gives up.
  }

  protected override onTerminatedState(): void {
    this.onTerminated?.();
  }

  respond(res: SipResponse): boolean {
    checkStatus(res);
    if (this.state !== 'trying' && this.state !== 'proceeding') {
      // §17.2.2: in Completed "Any other final responses passed by the TU to the server
      // transaction MUST be discarded".
      return false;
    }
    this.lastResponse = res;
    const sent = this.ctx.transport.sendResponse(res, this.rx, this.sent());
    if (res.status < 200) {
      // §17.2.2: "While in the "Trying" state, if the TU passes a provisional response to the
      // server transaction, the server transaction MUST enter the "Proceeding" state."
      if (this.state === 'trying') {
        this.go('proceeding');
      }
    } else {
      // "If the TU passes a final response (status codes 200-699) to the server while in the
      // "Proceeding" [or "Trying"] state, the transaction MUST enter the "Completed" state".
      countFinal(this.ctx.stats, res.status);
      if (sent !== null && !this.reliable) {
        const tag = toTagOf(res);
        this.finalToTag = tag === null ? null : detach(tag);
        this.final = { target: sent.target, data: detachBytes(sent.data) };
        this.lastResponse = null;
      }
      this.go('completed');
    }
    return true;
  }

  /** The request arrived again (matched by §17.2.3): answer from the transaction. */
  retransmitted(): void {
    // §17.2.2: in Trying "any further request retransmissions are discarded"; in Proceeding
    // "the most recent provisional response that was received from the TU MUST be passed to
    // the transport layer for retransmission"; in Completed "the server transaction MUST pass
    // the final response to the transport layer for retransmission".
    if (this.state === 'terminated') {
      return;
    }
    const final = this.final;
    const last = this.lastResponse;
    if (final !== null) {
      this.ctx.stats.retransmissions++;
      this.ctx.transport.send(final.target, final.data, this.sent());
    } else if (last !== null) {
      this.ctx.stats.retransmissions++;
      this.ctx.transport.sendResponse(last, this.rx, this.sent());
    }
  }

  protected onExpiryTimer(): void {
    // §17.2.2: "the server transaction MUST ... transition to the "Terminated" state" when
    // Timer J fires.
    this.go('terminated');
  }

  protected onSendError(err: Error): void {
    // §17.2.4: "the server transaction SHOULD inform the TU that a failure has occurred, and
    // SHOULD transition to the terminated state."
    if (this.ctx.logger.isLevelEnabled('debug')) {
      this.ctx.logger.debug({ tx: this.id, err: err.message }, 'response send failed');
    }
    this.failure = 'transport';
    this.go('terminated');
  }
}
