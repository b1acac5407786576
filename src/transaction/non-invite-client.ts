/**
 * The non-INVITE client transaction, RFC 3261 §17.1.2:
 *
 *   Trying --1xx--> Proceeding --200-699--> Completed --Timer K--> Terminated
 *     |                                        ^
 *     +----------------200-699-----------------+
 *
 * Timer E retransmits the request (unreliable transports only), doubling from T1 up to T2 in
 * Trying and at T2 in Proceeding; Timer F times the transaction out; Timer K absorbs
 * retransmitted final responses.
 */
import type { SipRequest, SipResponse } from '../sip/index.js';
import type { SendTarget } from '../transport/types.js';
import { TransactionBase } from './base.js';
import type { TransactionContext } from './context.js';
import type { ClientTransaction, ClientTransactionUser, TransactionState } from './types.js';

export class NonInviteClientTransaction extends TransactionBase implements ClientTransaction {
  lastStatus = 0;
  /** The serialised request: retransmissions resend these exact bytes. */
  /** The serialised request for retransmissions; dropped once a final response arrived. */
  private buf: Buffer | null;
  /** Timer E's current interval, and when E and F are due (clock time). */
  private interval = 0;
  private eDue = 0;
  private fDue = 0;

  constructor(
    id: string,
    ctx: TransactionContext,
    request: SipRequest,
    readonly target: SendTarget,
    private readonly user: ClientTransactionUser,
    reliable: boolean,
  ) {
    super(id, ctx, request, reliable, 'trying');
    this.buf = request.toBuffer();
  }

  protected enter(state: TransactionState): void {
    const timers = this.ctx.timers;
    const now = this.ctx.clock.now();
    switch (state) {
      case 'trying':
        // §17.1.2.2: "If an unreliable transport is in use, the client transaction MUST set
        // timer E to fire in T1 seconds." "the "Trying" state ... MUST set timer F to fire in
        // 64*T1 seconds."
        if (!this.reliable) {
          this.interval = timers.t1;
          this.eDue = now + timers.t1;
          this.startRetransmit(timers.t1);
        }
        this.fDue = now + timers.timerF;
        this.startExpiry(timers.timerF);
        this.ctx.transport.send(this.target, this.buf!, this.sent());
        break;
      case 'proceeding':
        // Timers E and F keep running across Trying -> Proceeding (the RFC resets neither):
        // Proceeding takes them over for what is left of them.
        if (!this.reliable) {
          this.startRetransmit(Math.max(0, this.eDue - now));
        }
        this.startExpiry(Math.max(0, this.fDue - now));
        break;
      case 'completed':
        // Nothing is retransmitted from here on: the request need not live through Timer K.
        this.buf = null;
        this.releaseRequest();
        // §17.1.2.2: "The client transaction MUST start timer K ... T4 seconds for unreliable
        // transports, and zero seconds for reliable transports."
        if (this.reliable) {
          this.go('terminated');
        } else {
          this.startExpiry(timers.t4);
        }
        break;
      case 'calling':
      case 'accepted':
      case 'confirmed':
      case 'terminated':
        break; // not entered by this machine (Terminated is handled by go())
    }
  }

  /** A response matched to this transaction (§17.1.3). */
  receive(res: SipResponse): void {
    const status = res.status;
    if (this.state === 'trying' || this.state === 'proceeding') {
      this.lastStatus = status;
      if (status < 200) {
        // §17.1.2.2: "If a provisional response is received while in the "Trying" state, the
        // response MUST be passed to the TU, and then the client transaction SHOULD move to
        // the "Proceeding" state."
        if (this.state === 'trying') {
          this.go('proceeding');
        }
      } else {
        // "If a final response (status codes 200-699) is received while in the "Trying" [or
        // "Proceeding"] state, the response MUST be passed to the TU, and the client
        // transaction MUST transition to the "Completed" state."
        this.go('completed');
      }
      this.user.onResponse(res, this);
    }
    // Completed: "Once the client transaction enters the "Completed" state, it MUST set Timer
    // K"; retransmitted responses are absorbed there, not passed to the TU.
  }

  protected override onRetransmitTimer(): void {
    // §17.1.2.2: in Trying, "the client transaction MUST ... retransmit the request ... and
    // reset the timer with a value of MIN(2*T1, T2)"; "If Timer E fires while in the
    // "Proceeding" state, the request MUST be passed to the transport layer for
    // retransmission, and Timer E MUST be reset with a value of T2 seconds."
    const t2 = this.ctx.timers.t2;
    this.interval = this.state === 'trying' ? Math.min(2 * this.interval, t2) : t2;
    this.eDue = this.ctx.clock.now() + this.interval;
    this.startRetransmit(this.interval);
    this.ctx.stats.retransmissions++;
    this.ctx.transport.send(this.target, this.buf!, this.sent());
  }

  protected onExpiryTimer(): void {
    if (this.state === 'completed') {
      // §17.1.2.2: "If Timer K fires while in this state, the client transaction MUST
      // transition to the "Terminated" state."
      this.go('terminated');
    } else {
      // "If Timer F fires while the client transaction is still in the "Trying" [or
      // "Proceeding"] state, the client transaction SHOULD inform the TU about the timeout,
      // and then it SHOULD enter the "Terminated" state."
      this.go('terminated');
      this.user.onTimeout(this);
    }
  }

  protected onSendError(err: Error): void {
    if (this.state === 'completed') {
      // A late report for a retransmission: the final response already arrived.
      return;
    }
    // §17.1.4: "the client transaction SHOULD inform the TU that a transport failure has
    // occurred, and the client transaction SHOULD transition directly to the "Terminated"
    // state."
    this.go('terminated');
    this.user.onTransportError(err, this);
  }
}
