/**
 * The INVITE server transaction, RFC 3261 §17.2.1 with the Accepted state of RFC 6026 §7.1
 * (which §8 writes into §17.2.1):
 *
 *   Proceeding --300-699 from TU--> Completed --ACK--> Confirmed --Timer I--> Terminated
 *       |                              |
 *       |                              +--Timer H (no ACK)--> Terminated
 *       +--2xx from TU--> Accepted --Timer L--> Terminated
 *
 * A 100 Trying goes out after 200 ms unless the TU answered first; Timer G retransmits a
 * non-2xx final response (unreliable transports only) until the ACK arrives or Timer H fires.
 */
import { createResponse, detach, type SipRequest, type SipResponse } from '../sip/index.js';
import { CoreError } from '../core/errors.js';
import type { ReceiveInfo } from '../transport/types.js';
import { TransactionBase } from './base.js';
import { countFinal, TRYING_DELAY_MS, type TransactionContext } from './context.js';
import type { ServerTransaction, TransactionState } from './types.js';

/** Why a server transaction ended without its normal course, or null. */
export type ServerFailure = 'timeout' | 'transport' | null;

/** Throw for a status a response cannot carry. */
export function checkStatus(res: SipResponse): void {
  if (!Number.isInteger(res.status) || res.status < 100 || res.status > 699) {
    throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `response status ${res.status}`);
  }
}

/** The To tag of a response we built or forwarded (validated), or null. */
export function toTagOf(res: SipResponse | null): string | null {
  if (res === null) {
    return null;
  }
  try {
    return res.toTag();
  } catch {
    return null;
  }
}

export class InviteServerTransaction extends TransactionBase implements ServerTransaction {
  /** The last response sent; null again in Accepted, where nothing is retransmitted. */
  lastResponse: SipResponse | null = null;
  /** The To tag of the 2xx, kept in Accepted when the response itself is let go. */
  private acceptedToTag: string | null = null;
  onTerminated: (() => void) | null = null;
  /**
   * Set when the transaction failed: `timeout` when Timer H fired without an ACK, `transport`
   * when a response could not be sent (§17.2.4). Read it in `onTerminated`.
   */
  failure: ServerFailure = null;
  /** Timer G's current interval. */
  private interval = 0;

  constructor(
    id: string,
    ctx: TransactionContext,
    request: SipRequest,
    readonly rx: ReceiveInfo,
    reliable: boolean,
  ) {
    super(id, ctx, request, reliable, 'proceeding');
  }

  protected enter(state: TransactionState): void {
    const timers = this.ctx.timers;
    switch (state) {
      case 'proceeding':
        // §17.2.1: "the server transaction MUST generate a 100 (Trying) response unless it
        // knows that the TU will generate a provisional or final response within 200 ms".
        this.startRetransmit(TRYING_DELAY_MS);
        break;
      case 'completed':
        // Timer G resends the last response; the request is no longer needed.
        this.releaseRequest();
        // §17.2.1: "For unreliable transports, timer G is set to fire in T1 seconds";
        // "timer H MUST be set to fire in 64*T1 seconds for all transports."
        if (!this.reliable) {
          this.interval = timers.t1;
          this.startRetransmit(timers.t1);
        }
        this.startExpiry(timers.t1x64);
        break;
      case 'confirmed':
        // "timer I is set to fire in T4 seconds for unreliable transports, and zero seconds
        // for reliable transports."
        if (this.reliable) {
          this.go('terminated');
        } else {
          this.startExpiry(timers.t4);
        }
        break;
      case 'accepted': {
        // Accepted retransmits nothing (RFC 6026 §8.7: the TU retransmits 2xx responses) and
        // absorbs INVITE retransmissions: only the 2xx's To tag is kept, for matching and for
        // the 200 to a late CANCEL (§9.2), not the request or the response for 32 s.
        const tag = toTagOf(this.lastResponse);
        // Detached: a tag sliced from the 2xx would keep the whole response text alive.
        this.acceptedToTag = tag === null ? null : detach(tag);
        this.lastResponse = null;
        this.releaseRequest();
        // RFC 6026 §8.7: "When the INVITE server transaction enters the "Accepted" state,
        // Timer L MUST be set to fire in 64*T1 for all transports."
        this.startExpiry(timers.t1x64);
        break;
      }
      case 'calling':
      case 'trying':
      case 'terminated':
        break; // not entered by this machine (Terminated is handled by go())
    }
  }

  protected override onTerminatedState(): void {
    this.onTerminated?.();
  }

  /** The To tag of the last response sent (the 2xx's in Accepted), or null. */
  get lastToTag(): string | null {
    return this.state === 'accepted' ? this.acceptedToTag : toTagOf(this.lastResponse);
  }

  respond(res: SipResponse): boolean {
    checkStatus(res);
    const status = res.status;
    if (this.state === 'proceeding') {
      this.lastResponse = res;
      if (status < 200) {
        // §17.2.1: "The TU passes any number of provisional responses to the server
        // transaction. So long as the server transaction is in the "Proceeding" state, each of
        // these MUST be passed to the transport layer for transmission." The TU answered: no
        // 100 Trying from the transaction.
        this.cancelRetransmit();
        this.send(res);
        return true;
      }
      countFinal(this.ctx.stats, status);
      this.send(res);
      // RFC 6026 §8.5 for 2xx: "The server transaction MUST then transition to the
      // "Accepted" state" (and never retransmits the 2xx itself); §17.2.1 for 300-699: "the
      // state machine MUST enter the "Completed" state".
      this.go(status < 300 ? 'accepted' : 'completed');
      return true;
    }
    if (this.state === 'accepted' && status >= 200 && status < 300) {
      // RFC 6026 §8.7: "While in the "Accepted" state, if the TU passes a 2xx response, the
      // server transaction MUST pass the response to the transport layer for transmission."
      // A proxy relays the 2xx of other forks this way (§16.7 item 5).
      this.send(res);
      return true;
    }
    return false;
  }

  /** The INVITE arrived again (matched by §17.2.3): answer from the transaction, not the TU. */
  retransmitted(): void {
    const last = this.lastResponse;
    // §17.2.1: in Proceeding "the most recent provisional response that was received from the
    // TU MUST be passed to the transport layer for retransmission"; in Completed "the server
    // SHOULD pass the response to the transport for retransmission". Confirmed absorbs it, and
    // so does Accepted (RFC 6026 §8.7: "Any such retransmissions are absorbed entirely within
    // the server transaction").
    if (last !== null && (this.state === 'proceeding' || this.state === 'completed')) {
      this.ctx.stats.retransmissions++;
      this.send(last);
    }
  }

  /**
   * An ACK matched this transaction. Returns true when the transaction absorbed it; false when
   * it belongs to the TU: in Accepted the ACK acknowledges a 2xx, which is end to end (RFC 6026
   * §7.1: the ACK for a 2xx is passed to the TU), and in Proceeding no final response left here.
   */
  acked(): boolean {
    if (this.state === 'completed') {
      // §17.2.1: "If an ACK is received while the server transaction is in the "Completed"
      // state, the server transaction MUST transition to the "Confirmed" state."
      this.go('confirmed');
      return true;
    }
    // Confirmed: "the "Confirmed" state ... absorb[s] any additional ACK messages".
    return this.state === 'confirmed';
  }

  protected override onRetransmitTimer(): void {
    if (this.state === 'proceeding') {
      // The 200 ms passed without a response from the TU: send 100 Trying. §8.2.6.1: "If a
      // Timestamp header field is present in the request, the UAS MUST copy it into the 100".
      const ts = this.request.get('timestamp');
      const trying = createResponse(
        this.request,
        100,
        ts === undefined ? {} : { headers: [['Timestamp', ts]] },
      );
      this.lastResponse = trying;
      this.send(trying);
      return;
    }
    // Completed: §17.2.1: "If timer G fires, the response is passed to the transport layer
    // once more for retransmission, and timer G is set to fire in MIN(2*T1, T2) seconds."
    this.interval = Math.min(2 * this.interval, this.ctx.timers.t2);
    this.startRetransmit(this.interval);
    this.ctx.stats.retransmissions++;
    this.send(this.lastResponse!);
  }

  protected onExpiryTimer(): void {
    if (this.state === 'completed') {
      // §17.2.1: "If timer H fires while in the "Completed" state, it implies that the ACK
      // was never received. In this case, the server transaction MUST transition to the
      // "Terminated" state, and MUST indicate to the TU that a transaction failure has
      // occurred."
      this.failure = 'timeout';
    }
    // Timer I (Confirmed) and Timer L (Accepted) end the transaction normally.
    this.go('terminated');
  }

  protected onSendError(err: Error): void {
    // §17.2.4: once the transport's backup procedures (RFC 3263 §5) failed, "the server
    // transaction SHOULD inform the TU that a failure has occurred, and SHOULD transition to
    // the terminated state."
    if (this.ctx.logger.isLevelEnabled('debug')) {
      this.ctx.logger.debug({ tx: this.id, err: err.message }, 'response send failed');
    }
    this.failure = 'transport';
    this.go('terminated');
  }

  private send(res: SipResponse): void {
    this.ctx.transport.sendResponse(res, this.rx, this.sent());
  }
}
