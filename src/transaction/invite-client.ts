/**
 * The INVITE client transaction, RFC 3261 §17.1.1 with the Accepted state of RFC 6026 §7.2:
 *
 *   Calling --1xx--> Proceeding --300-699--> Completed --Timer D--> Terminated
 *      |                 |
 *      +------2xx--------+--> Accepted --Timer M--> Terminated
 *
 * Timer A retransmits the request (unreliable transports only), Timer B times the transaction
 * out, Timer D absorbs retransmitted final responses, Timer M absorbs 2xx retransmissions and
 * the 2xx of other forks downstream, passing them to the TU.
 */
import { detachBytes, type SipRequest, type SipResponse } from '../sip/index.js';
import type { SendTarget } from '../transport/types.js';
import { TransactionBase } from './base.js';
import { buildAck } from './build.js';
import type { TransactionContext } from './context.js';
import type { ClientTransaction, ClientTransactionUser, TransactionState } from './types.js';

export class InviteClientTransaction extends TransactionBase implements ClientTransaction {
  lastStatus = 0;
  /**
   * The serialised request: retransmissions resend these exact bytes. Dropped with the final
   * response, so a transaction lingering in Completed or Accepted (32 s) does not keep them.
   */
  private buf: Buffer | null;
  /** Timer A's current interval. */
  private interval = 0;
  /** The ACK for the non-2xx final response, serialised once and resent as is. */
  private ackBuf: Buffer | null = null;
  private finalResponse: SipResponse | null = null;
  /** A CANCEL waiting for a provisional response (RFC 3261 §9.1), sent on entering Proceeding. */
  private deferredCancel: (() => void) | null = null;
  /** The CANCEL sent for this INVITE, if any. */
  cancelTx: ClientTransaction | null = null;

  constructor(
    id: string,
    ctx: TransactionContext,
    request: SipRequest,
    readonly target: SendTarget,
    private readonly user: ClientTransactionUser,
    reliable: boolean,
  ) {
    super(id, ctx, request, reliable, 'calling');
    this.buf = request.toBuffer();
  }

  /** Run `send` once a provisional response arrives; dropped if a final one comes first. */
  deferCancel(send: () => void): void {
    this.deferredCancel = send;
  }

  /** True while a CANCEL waits for a provisional response. */
  get cancelPending(): boolean {
    return this.deferredCancel !== null;
  }

  protected enter(state: TransactionState): void {
    const timers = this.ctx.timers;
    switch (state) {
      case 'calling':
        // §17.1.1.2: "If an unreliable transport is being used, the client transaction MUST
        // start timer A with a value of T1." "For any transport, the client transaction MUST
        // start timer B with a value of 64*T1 seconds".
        if (!this.reliable) {
          this.interval = timers.t1;
          this.startRetransmit(timers.t1);
        }
        this.startExpiry(timers.timerB);
        this.ctx.transport.send(this.target, this.buf!, this.sent());
        break;
      case 'proceeding': {
        // §9.1: the client "MUST wait for the arrival of a provisional response" before it
        // sends a CANCEL; this is that arrival. Proceeding itself runs no timer (the proxy's
        // Timer C covers it, §16.6 item 11).
        const send = this.deferredCancel;
        this.deferredCancel = null;
        // §17.1.1.2: Timer A runs only in Calling, so the request bytes are never sent again;
        // a call may ring for minutes, and they are a slice of Node's shared 8 KB buffer pool.
        this.buf = null;
        send?.();
        break;
      }
      case 'completed': {
        // §17.1.1.3: generate the ACK and pass it to the transport; "start timer D with a
        // value of at least 32 seconds for unreliable transports, and a value of zero
        // seconds for reliable transports."
        this.deferredCancel = null;
        const ack = buildAck(this.request, this.finalResponse!).toBuffer();
        // Kept for Timer D (32 s over UDP): bytes of its own, not a slice pinning a pool.
        this.ackBuf = this.reliable ? ack : detachBytes(ack);
        // Timer D only resends these ACK bytes: the request and the response can go.
        this.buf = null;
        this.finalResponse = null;
        this.releaseRequest();
        this.ctx.transport.send(this.target, this.ackBuf, this.sent());
        if (this.reliable) {
          this.go('terminated');
        } else {
          this.startExpiry(timers.timerD);
        }
        break;
      }
      case 'accepted':
        // RFC 6026 §7.2: Timer M is set to 64*T1, on every transport, to pass 2xx
        // retransmissions and the 2xx responses of other forks to the TU.
        this.deferredCancel = null;
        this.buf = null;
        this.releaseRequest();
        this.startExpiry(timers.t1x64);
        break;
      case 'trying':
      case 'confirmed':
      case 'terminated':
        break; // not entered by this machine (Terminated is handled by go())
    }
  }

  /** A response matched to this transaction (§17.1.3). */
  receive(res: SipResponse): void {
    const status = res.status;
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        this.lastStatus = status;
        if (status < 200) {
          // §17.1.1.2: "If the client transaction receives a provisional response while in
          // the "Calling" state, it transitions to the "Proceeding" state." Provisional
          // responses are passed to the TU in both states.
          if (this.state === 'calling') {
            this.go('proceeding');
          }
        } else if (status < 300) {
          // RFC 6026 §7.2: "If a 2xx response is received while the client INVITE state
          // machine is in the "Calling" or "Proceeding" states, it MUST transition to the
          // "Accepted" state, pass the 2xx response to the TU, and set Timer M to 64*T1."
          this.go('accepted');
        } else {
          // §17.1.1.2: "When in either the "Calling" or "Proceeding" states, reception of a
          // response with status code from 300-699 MUST cause the client transaction to
          // transition to "Completed"", send an ACK, and pass the response up to the TU.
          this.finalResponse = res;
          this.go('completed');
        }
        this.user.onResponse(res, this);
        break;
      case 'accepted':
        // RFC 6026 §7.2: a 2xx received in Accepted (a retransmission, or another fork's) is
        // passed to the TU and never ACKed here; anything else is absorbed.
        if (status >= 200 && status < 300) {
          this.user.onResponse(res, this);
        }
        break;
      case 'completed':
        // §17.1.1.2: "Any retransmissions of the final response that are received while in
        // the "Completed" state MUST cause the ACK to be re-passed to the transport layer for
        // retransmission, but the newly received response MUST NOT be passed up to the TU."
        if (status >= 300 && this.ackBuf !== null) {
          this.ctx.stats.retransmissions++;
          this.ctx.transport.send(this.target, this.ackBuf, this.sent());
        }
        break;
      case 'trying':
      case 'confirmed':
      case 'terminated':
        break; // not states of this machine, or nothing left to do
    }
  }

  protected override onRetransmitTimer(): void {
    // §17.1.1.2: "When timer A fires, the client transaction MUST retransmit the request by
    // passing it to the transport layer, and MUST reset the timer with a value of 2*T1."
    // Only Calling arms Timer A, so a firing means Calling.
    this.interval *= 2;
    this.startRetransmit(this.interval);
    this.ctx.stats.retransmissions++;
    this.ctx.transport.send(this.target, this.buf!, this.sent());
  }

  protected onExpiryTimer(): void {
    if (this.state === 'calling') {
      // §17.1.1.2: "If the client transaction is still in the "Calling" state when timer B
      // fires, the client transaction SHOULD inform the TU that a timeout has occurred."
      this.deferredCancel = null;
      this.go('terminated');
      this.user.onTimeout(this);
    } else {
      // Timer D (Completed) or Timer M (Accepted): "the client transaction MUST move to the
      // terminated state."
      this.go('terminated');
    }
  }

  protected onSendError(err: Error): void {
    if (this.state === 'calling' || this.state === 'proceeding') {
      // §17.1.4: "the client transaction SHOULD inform the TU that a transport failure has
      // occurred, and the client transaction SHOULD transition directly to the "Terminated"
      // state." The TU treats it as a 503 (§8.1.3.1).
      this.deferredCancel = null;
      this.go('terminated');
      this.user.onTransportError(err, this);
    } else if (this.ctx.logger.isLevelEnabled('debug')) {
      // After a final response (a failed ACK, or a late report for a retransmission): the TU
      // has its answer and a 503 would contradict it. Completed stays to absorb and re-ACK
      // retransmitted final responses until Timer D.
      this.ctx.logger.debug({ tx: this.id, err: err.message }, 'send failed after final response');
    }
  }
}
