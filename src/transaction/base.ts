/**
 * The part every RFC 3261 §17 machine shares: the current state and the timers that state owns.
 *
 * Every state arms at most two timers: a retransmission timer (A, E, G, or the 100 Trying delay)
 * and an expiry timer (B, D, F, H, I, J, K, L, M). They can only be armed through
 * {@link TransactionBase.startRetransmit} and {@link TransactionBase.startExpiry}, and every
 * transition cancels both before the next state's `enter` runs, so a transition can never leak
 * a timer (the enter/leave discipline of kirm/sip.js, without an object per state). The timer
 * callbacks are two functions shared by all transactions, which the clock hands the
 * transaction to.
 */
import type { TimerHandle } from '../core/clock.js';
import { CoreError } from '../core/errors.js';
import type { SipRequest } from '../sip/index.js';
import type { TableEntry, TransactionContext } from './context.js';
import type { TransactionState } from './types.js';

export abstract class TransactionBase implements TableEntry {
  /** Where the machine is; `terminated` is final. */
  state: TransactionState;
  /** Clock time of creation, for the transaction-duration measure. */
  readonly createdAt: number;
  /** The method of the request that created the transaction (kept after the request is let go). */
  readonly method: string;
  /** The request, until {@link releaseRequest}. */
  private req: SipRequest | null;
  private retransmitTimer: TimerHandle | null = null;
  private expiryTimer: TimerHandle | null = null;

  constructor(
    readonly id: string,
    protected readonly ctx: TransactionContext,
    request: SipRequest,
    /** Over a reliable transport nothing is retransmitted and Timers D, I, J, K are zero. */
    readonly reliable: boolean,
    initial: TransactionState,
  ) {
    this.state = initial;
    this.req = request;
    this.method = request.method;
    this.createdAt = ctx.clock.now();
  }

  /** @internal A timer of this transaction fired (through {@link retransmitFired} or {@link expiryFired}). */
  timerFired(expiry: boolean): void {
    if (expiry) {
      this.expiryTimer = null;
      this.onExpiryTimer();
    } else {
      this.retransmitTimer = null;
      this.onRetransmitTimer?.();
    }
  }

  /**
   * A callback for one send. Made per send rather than kept per transaction: it lives only
   * until the transport reports, while a transaction lingers up to 64*T1 after its last send.
   */
  protected sent(): (err: Error | null) => void {
    return (err) => {
      if (err !== null && this.state !== 'terminated') {
        this.onSendError(err);
      }
    };
  }

  /**
   * The request of the transaction. Readable until the final response: a transaction that then
   * lingers to absorb retransmissions (up to 64*T1, 32 s) keeps only what that needs, so reading
   * it later is a programming error (TANDEM_ERR_INVALID_STATE).
   */
  get request(): SipRequest {
    if (this.req === null) {
      throw new CoreError(
        'TANDEM_ERR_INVALID_STATE',
        `transaction ${this.id}: the request is let go after the final response`,
      );
    }
    return this.req;
  }

  /** Let the request go: nothing the machine still does needs it. */
  protected releaseRequest(): void {
    this.req = null;
  }

  /** Start the machine: enter its initial state (called once the layer has tabled it). */
  start(): void {
    this.enter(this.state);
  }

  /**
   * Leave the current state, cancelling the timers it owns, and enter `next`. Nothing leaves
   * Terminated. Reaching Terminated removes the transaction from the layer's table.
   */
  protected go(next: TransactionState): void {
    if (this.state === 'terminated') {
      return;
    }
    this.cancelTimers();
    this.state = next;
    if (next === 'terminated') {
      this.ctx.removed(this);
      this.onTerminatedState();
    } else {
      this.enter(next);
    }
  }

  /** Stop without callbacks (layer shutdown): cancel the timers and end. */
  shutdown(): void {
    this.cancelTimers();
    this.state = 'terminated';
  }

  /** Arm the current state's timers and do its entry actions. */
  protected abstract enter(state: TransactionState): void;
  /** Timer A, E or G, or the 100 Trying delay (machines that arm none leave it out). */
  protected onRetransmitTimer?(): void;
  protected abstract onExpiryTimer(): void;
  /** The transport reported a failure for one of this transaction's sends. */
  protected abstract onSendError(err: Error): void;
  /** Hook run once on reaching Terminated, after the transaction left the table. */
  protected onTerminatedState(): void {
    // Client transactions report to their user before terminating; nothing more to do.
  }

  protected startRetransmit(ms: number): void {
    if (this.state !== 'terminated') {
      this.retransmitTimer?.cancel();
      this.retransmitTimer = this.ctx.clock.setTimer(ms, retransmitFired, this);
    }
  }

  protected startExpiry(ms: number): void {
    if (this.state !== 'terminated') {
      this.expiryTimer?.cancel();
      this.expiryTimer = this.ctx.clock.setTimer(ms, expiryFired, this);
    }
  }

  protected cancelRetransmit(): void {
    this.retransmitTimer?.cancel();
    this.retransmitTimer = null;
  }

  private cancelTimers(): void {
    this.retransmitTimer?.cancel();
    this.retransmitTimer = null;
    this.expiryTimer?.cancel();
    this.expiryTimer = null;
  }
}

// Shared by every transaction: the clock passes the transaction back, so none holds a closure.
function retransmitFired(tx: TransactionBase): void {
  tx.timerFired(false);
}

function expiryFired(tx: TransactionBase): void {
  tx.timerFired(true);
}
