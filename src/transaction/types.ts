/**
 * The transaction layer's API for its user (the proxy core, RFC 3261 §17: "transaction user").
 * Implemented by src/transaction/layer.ts.
 */
import type { SipRequest, SipResponse } from '../sip/index.js';
import type { ReceiveInfo, SendTarget } from '../transport/types.js';

/** RFC 3261 §17 timer values in milliseconds. */
export interface TimerConfig {
  /** RTT estimate, default 500. */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4000. */
  t2: number;
  /** Maximum duration a message remains in the network, default 5000. */
  t4: number;
  /**
   * Timer B and F (transaction timeouts) are 64*T1 by the RFC; a proxy may shorten them. Default
   * 64*t1. Timer C (proxy INVITE, §16.6 item 11, > 3 min) is the proxy's, not the layer's.
   */
  timerB?: number;
  timerF?: number;
}

export const DEFAULT_TIMERS: Readonly<TimerConfig> = Object.freeze({ t1: 500, t2: 4000, t4: 5000 });

export type TransactionState =
  'calling' | 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

/** A server transaction: created by the TU for a request it will answer or relay statefully. */
export interface ServerTransaction {
  /** Matching key (branch-based per §17.2.3, or the RFC 2543 fallback key). */
  readonly id: string;
  /**
   * The request; readable until the final response (a transaction lingering for
   * retransmissions keeps only what they need, and throws TANDEM_ERR_INVALID_STATE after).
   */
  readonly request: SipRequest;
  readonly rx: ReceiveInfo;
  readonly state: TransactionState;
  /**
   * The last response sent (retransmitted by the transaction when the request is retransmitted).
   * An INVITE transaction in Accepted (after a 2xx) retransmits nothing and keeps none.
   */
  readonly lastResponse: SipResponse | null;
  /** The To tag of the last response sent, also in Accepted; null before any response. */
  readonly lastToTag: string | null;
  /**
   * Send a response through the transaction (§17.2.1/§17.2.2 state rules): provisional ones
   * while proceeding, then one final response. For INVITE, a 2xx moves the transaction to
   * Accepted (RFC 6026), where further 2xx responses (other forks' answers) are still sent and
   * return true; any other call after the final response is ignored and returns false.
   */
  respond(res: SipResponse): boolean;
  /** Called once when the transaction reaches Terminated (for the TU to drop its state). */
  onTerminated: (() => void) | null;
}

/** What a client transaction reports to its user. */
export interface ClientTransactionUser {
  /** Every response received for the request, provisional and final, after matching. */
  onResponse(res: SipResponse, tx: ClientTransaction): void;
  /** Timer B or F fired with no final response (the TU synthesises a 408, §16.8). */
  onTimeout(tx: ClientTransaction): void;
  /** The transport failed (§17.1.4: treat as a 503). */
  onTransportError(err: Error, tx: ClientTransaction): void;
}

export interface ClientTransaction {
  readonly id: string;
  /**
   * The request as sent (its top Via carries the branch); readable until the final response,
   * TANDEM_ERR_INVALID_STATE after.
   */
  readonly request: SipRequest;
  readonly target: SendTarget;
  readonly state: TransactionState;
  /** The last provisional or final status received, 0 before any. */
  readonly lastStatus: number;
}

/** How the transaction layer hands messages that match no transaction to its user. */
export interface TransactionUser {
  /**
   * A request that matches no server transaction. Retransmissions of requests that do match
   * are absorbed (the last response resent). ACK for a 2xx and requests the TU chooses to
   * handle statelessly arrive here too. A CANCEL arrives here with `inviteTx`, the INVITE
   * server transaction it cancels (RFC 3261 §9.2), or null when none matches.
   */
  onRequest(req: SipRequest, rx: ReceiveInfo, inviteTx: ServerTransaction | null): void;
  /**
   * A response that matches no client transaction: for a proxy, 2xx retransmissions to an
   * INVITE, which §16.7 forwards statelessly.
   */
  onStrayResponse(res: SipResponse, rx: ReceiveInfo): void;
}
