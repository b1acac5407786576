/** What the proxy core needs from the layers below it, and its options. */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { CoreObserver } from '../core/observer.js';
import type { SipRequest, SipUri } from '../sip/index.js';
import type {
  ClientTransaction,
  ClientTransactionUser,
  ServerTransaction,
} from '../transaction/types.js';
import type { ReceiveInfo, SendTarget, TransportPort } from '../transport/types.js';

/** The transaction layer as the proxy uses it (src/transaction/layer.ts implements it). */
export interface TransactionPort {
  createServerTransaction(req: SipRequest, rx: ReceiveInfo): ServerTransaction;
  /** `branchId`: the branch of the Via just pushed on `req`, when the caller has it. */
  createClientTransaction(
    req: SipRequest,
    target: SendTarget,
    user: ClientTransactionUser,
    branchId?: string,
  ): ClientTransaction;
  /** Send a CANCEL for a pending INVITE client transaction (deferred until a provisional). */
  cancel(tx: ClientTransaction): unknown;
}

/** RFC 3263 resolution as the proxy uses it (src/transport/resolver.ts implements it). */
export interface ResolverPort {
  resolve(uri: SipUri): Promise<SendTarget[]>;
  /**
   * The targets at once when no DNS is needed (an IP-literal TARGET), null otherwise; lets the
   * common relay to an address finish without a promise. Throws as `resolve` rejects.
   */
  resolveNumeric?(uri: SipUri): SendTarget[] | null;
}

export interface ProxyOptions {
  transport: TransportPort;
  transactions: TransactionPort;
  resolver: ResolverPort;
  clock: Clock;
  logger: Logger;
  /** Timer C (RFC 3261 §16.6 item 11: "MUST be larger than 3 minutes"), ms. Default 180000. */
  timerC?: number;
  /** Max-Forwards added to requests that have none (§16.6 item 3). Default 70. */
  maxForwards?: number;
  /** Option tags accepted in Proxy-Require (§16.3 item 5). Default none. */
  supported?: readonly string[];
  /** Told when the request route is done with a request (request processing time). */
  observer?: CoreObserver;
}

/** One destination of a forwarded request (a branch, RFC 3261 §16.5). */
export interface BranchTarget {
  /** The Request-URI of the copy. */
  uri: string;
  /** Outbound proxy / destination URI for this branch (OpenSIPS `$du`), or null. */
  dst: string | null;
  /** q-value (RFC 3261 §16.6: higher first when forking serially); 1 when not given. */
  q: number;
  /**
   * A route set preloaded on this copy only, top first (a registered contact's Path, RFC 3327
   * §5.3: the registrar's proxy "MUST ... insert the Path header field values as Route header
   * field values" when it forwards to that contact).
   */
  routes?: readonly string[];
  /**
   * Send this copy from that listen socket (its id) when it still exists: a contact behind NAT
   * is reachable only through the socket its REGISTER arrived on.
   */
  socketId?: string;
}
