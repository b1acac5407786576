/**
 * The transaction layer (RFC 3261 §17): the table of client and server transactions, matching
 * of incoming messages to them (§17.1.3, §17.2.3), and the CANCEL helper (§9.1). It sits
 * between the transport (which calls {@link TransactionLayer.onRequest} and
 * {@link TransactionLayer.onResponse}) and its user, the proxy core.
 */
import type { Clock } from '../core/clock.js';
import { CoreError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { CoreObserver } from '../core/observer.js';
import { TimerWheel } from '../core/timer-wheel.js';
import { detach, type SipRequest, type SipResponse } from '../sip/index.js';
import {
  isReliable,
  type ReceiveInfo,
  type SendTarget,
  type TransportHandler,
  type TransportPort,
} from '../transport/types.js';
import { buildCancel } from './build.js';
import {
  createStats,
  resolveTimers,
  type ResolvedTimers,
  type TableEntry,
  type TransactionContext,
  type TransactionStats,
} from './context.js';
import { InviteClientTransaction } from './invite-client.js';
import { InviteServerTransaction } from './invite-server.js';
import { clientKey, requestBranch, responseKey, serverKey, usesBranch } from './keys.js';
import { NonInviteClientTransaction } from './non-invite-client.js';
import { NonInviteServerTransaction } from './non-invite-server.js';
import type {
  ClientTransaction,
  ClientTransactionUser,
  TimerConfig,
  TransactionUser,
} from './types.js';

export interface TransactionLayerOptions {
  transport: TransportPort;
  user: TransactionUser;
  /** Drives every transaction timer; default a {@link TimerWheel} on the system clock. */
  clock?: Clock;
  /** T1, T2, T4 and the optional Timer B/F overrides (RFC 3261 defaults otherwise). */
  timers?: Partial<TimerConfig>;
  logger?: Logger;
  /** Told when a transaction leaves the table (transaction duration). */
  observer?: CoreObserver;
}

/** What {@link TransactionLayer.createServerTransaction} returns: a ServerTransaction with `failure`. */
export type ServerTx = InviteServerTransaction | NonInviteServerTransaction;
/** What {@link TransactionLayer.createClientTransaction} returns. */
export type ClientTx = InviteClientTransaction | NonInviteClientTransaction;

/** The transaction layer: a {@link TransportHandler} for the transport, an API for the TU. */
export class TransactionLayer implements TransportHandler {
  /** OpenSIPS tm counters (see {@link TransactionStats}); read them, never write. */
  readonly stats: TransactionStats = createStats();
  readonly timers: ResolvedTimers;
  /** Messages that could not be keyed (a malformed Via or CSeq) and were dropped. */
  droppedMessages = 0;
  private readonly servers = new Map<string, ServerTx>();
  private readonly clients = new Map<string, ClientTx>();
  private readonly transport: TransportPort;
  private readonly user: TransactionUser;
  private readonly log: Logger;
  private readonly observer: CoreObserver | undefined;
  private readonly ctx: TransactionContext;
  private stopped = false;

  constructor(options: TransactionLayerOptions) {
    this.transport = options.transport;
    this.user = options.user;
    this.timers = resolveTimers(options.timers);
    // Used as given: the caller names the component (app.ts passes a `tm` child).
    this.log = options.logger ?? silentLogger;
    this.observer = options.observer;
    const clock = options.clock ?? new TimerWheel({ logger: this.log });
    this.ctx = {
      clock,
      timers: this.timers,
      transport: this.transport,
      logger: this.log,
      stats: this.stats,
      removed: (tx) => {
        this.removed(tx);
      },
    };
  }

  /** Transactions in the table, server and client. */
  size(): number {
    return this.servers.size + this.clients.size;
  }

  // ---- server side ---------------------------------------------------------------------------

  onRequest(req: SipRequest, rx: ReceiveInfo): void {
    if (this.stopped) {
      return;
    }
    const isAck = req.method === 'ACK';
    let tx: ServerTx | undefined;
    let inviteTx: InviteServerTransaction | null = null;
    try {
      if (isAck) {
        tx = this.ackTarget(req);
      } else {
        tx = this.servers.get(serverKey(req, req.method, req.toTag()));
        if (tx === undefined && req.method === 'CANCEL') {
          inviteTx = this.cancelTarget(req);
        }
      }
    } catch (err) {
      this.drop(req, err);
      return;
    }
    if (tx !== undefined) {
      if (!isAck) {
        // §17.2.3: a request that matches a transaction is a retransmission, absorbed there.
        tx.retransmitted();
        return;
      }
      // §17.2.1: an ACK for a non-2xx final response belongs to the INVITE server
      // transaction, which absorbs it.
      if (tx instanceof InviteServerTransaction && tx.acked()) {
        return;
      }
    }
    // No transaction, an ACK for a 2xx (§13.2.2.4), or a CANCEL (with its INVITE, §9.2).
    this.user.onRequest(req, rx, inviteTx);
  }

  /**
   * Create the server transaction for a request the TU will answer or relay statefully.
   * Throws TANDEM_ERR_INVALID_STATE for an ACK (§17: the ACK for a 2xx is no transaction of
   * its own, and the ACK for a non-2xx belongs to the INVITE's), when a transaction already
   * exists for this request, or after {@link stop}.
   */
  createServerTransaction(req: SipRequest, rx: ReceiveInfo): ServerTx {
    if (this.stopped) {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', 'transaction layer stopped');
    }
    if (req.method === 'ACK') {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', 'an ACK has no server transaction');
    }
    // Detached: the key lives as long as the transaction, the message text should not.
    const key = detach(serverKey(req, req.method, req.toTag()));
    if (this.servers.has(key)) {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', `server transaction ${key} exists`);
    }
    const reliable = isReliable(rx.protocol);
    const tx =
      req.method === 'INVITE'
        ? new InviteServerTransaction(key, this.ctx, req, rx, reliable)
        : new NonInviteServerTransaction(key, this.ctx, req, rx, reliable);
    this.servers.set(key, tx);
    this.stats.UAS_transactions++;
    this.stats.inuse_transactions++;
    tx.start();
    return tx;
  }

  /**
   * The INVITE server transaction an ACK belongs to. With a branch: same branch and sent-by.
   * RFC 2543 §17.2.3: "the ACK request matches a transaction if the Request-URI, From tag,
   * Call-ID, CSeq number (not the method), and top Via header field match those of the INVITE
   * request which created the transaction, and the To tag of the ACK matches the To tag of the
   * response sent by the server transaction."
   */
  private ackTarget(ack: SipRequest): InviteServerTransaction | undefined {
    if (usesBranch(ack)) {
      return this.inviteServer(serverKey(ack, 'INVITE', null));
    }
    const tag = ack.toTag();
    // The INVITE had the ACK's To tag (a re-INVITE) or none (the response added it).
    for (const inviteTag of tag === null ? [null] : [tag, null]) {
      const tx = this.inviteServer(serverKey(ack, 'INVITE', inviteTag));
      if (tx !== undefined && tx.lastToTag !== null && tx.lastToTag === tag) {
        return tx;
      }
    }
    return undefined;
  }

  /**
   * RFC 3261 §9.2: "The TU determines the transaction to be cancelled by taking the CANCEL
   * request, and then assuming that the request method is anything but CANCEL or ACK and
   * applying the transaction matching procedures of Section 17.2.3." Only INVITE is looked
   * up: a proxy cancels nothing else.
   */
  private cancelTarget(cancel: SipRequest): InviteServerTransaction | null {
    return this.inviteServer(serverKey(cancel, 'INVITE', cancel.toTag())) ?? null;
  }

  private inviteServer(key: string): InviteServerTransaction | undefined {
    const tx = this.servers.get(key);
    return tx instanceof InviteServerTransaction ? tx : undefined;
  }

  // ---- client side ---------------------------------------------------------------------------

  onResponse(res: SipResponse, rx: ReceiveInfo): void {
    if (this.stopped) {
      return;
    }
    let key: string | null;
    try {
      key = responseKey(res);
    } catch (err) {
      this.drop(res, err);
      return;
    }
    const tx = key === null ? undefined : this.clients.get(key);
    if (tx === undefined) {
      this.user.onStrayResponse(res, rx);
      return;
    }
    tx.receive(res);
  }

  /**
   * Send `req` through a new client transaction. The caller has pushed the top Via with a
   * fresh branch and chosen the target; the request is serialised once here and must not be
   * changed afterwards. Throws TANDEM_ERR_INVALID_ARGUMENT for an ACK (§17.1.1.3: the
   * transaction sends the non-2xx ACK itself; the 2xx ACK is sent statelessly) or a request
   * without a branch, TANDEM_ERR_INVALID_STATE when the branch is already in use or after
   * {@link stop}.
   */
  createClientTransaction(
    req: SipRequest,
    target: SendTarget,
    user: ClientTransactionUser,
    /** The branch of the Via the caller just pushed, when it has it (spares parsing that Via). */
    branchId?: string,
  ): ClientTx {
    if (this.stopped) {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', 'transaction layer stopped');
    }
    if (req.method === 'ACK') {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', 'an ACK has no client transaction');
    }
    const branch = branchId ?? requestBranch(req);
    if (branch === null) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', 'request has no top Via branch');
    }
    const key = clientKey(branch, req.method);
    if (this.clients.has(key)) {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', `client transaction ${key} exists`);
    }
    const reliable = isReliable(target.protocol);
    const tx =
      req.method === 'INVITE'
        ? new InviteClientTransaction(key, this.ctx, req, target, user, reliable)
        : new NonInviteClientTransaction(key, this.ctx, req, target, user, reliable);
    this.clients.set(key, tx);
    this.stats.UAC_transactions++;
    this.stats.inuse_transactions++;
    tx.start();
    return tx;
  }

  /**
   * CANCEL a pending INVITE client transaction (RFC 3261 §9.1) through its own non-INVITE
   * client transaction to the same target. Returns that transaction; or null when the CANCEL
   * waits for a provisional response ("If no provisional response has been received, the
   * CANCEL request MUST NOT be sent; rather, the client MUST wait for the arrival of a
   * provisional response before sending the request": it goes out when one arrives, and never
   * if a final response or Timer B comes first), or when the INVITE already has a final
   * response ("the CANCEL SHOULD NOT be sent, as it is an effective no-op"). Calling it again
   * returns the CANCEL already sent. Responses to the CANCEL go to `user` when given.
   */
  cancel(invite: ClientTransaction, user?: ClientTransactionUser): ClientTransaction | null {
    if (!(invite instanceof InviteClientTransaction) || this.clients.get(invite.id) !== invite) {
      throw new CoreError(
        'TANDEM_ERR_INVALID_ARGUMENT',
        'cancel() takes a live INVITE client transaction of this layer',
      );
    }
    if (invite.cancelTx !== null) {
      return invite.cancelTx;
    }
    const cancelUser = user ?? this.cancelLogger;
    if (invite.state === 'calling') {
      invite.deferCancel(() => {
        this.sendCancel(invite, cancelUser);
      });
      return null;
    }
    return invite.state === 'proceeding' ? this.sendCancel(invite, cancelUser) : null;
  }

  private sendCancel(
    invite: InviteClientTransaction,
    user: ClientTransactionUser,
  ): ClientTransaction {
    const tx = this.createClientTransaction(buildCancel(invite.request), invite.target, user);
    invite.cancelTx = tx;
    return tx;
  }

  /** Where CANCEL outcomes go when the caller gave no user: the debug log. */
  private readonly cancelLogger: ClientTransactionUser = {
    onResponse: (res, tx) => {
      this.log.debug({ tx: tx.id, status: res.status }, 'CANCEL answered');
    },
    onTimeout: (tx) => {
      this.log.debug({ tx: tx.id }, 'CANCEL timed out');
    },
    onTransportError: (err, tx) => {
      this.log.debug({ tx: tx.id, err: err.message }, 'CANCEL not sent');
    },
  };

  // ---- table ---------------------------------------------------------------------------------

  /** Cancel every timer and forget every transaction, without callbacks; the layer is done. */
  stop(): void {
    this.stopped = true;
    for (const tx of this.servers.values()) {
      tx.shutdown();
    }
    for (const tx of this.clients.values()) {
      tx.shutdown();
    }
    this.servers.clear();
    this.clients.clear();
    this.stats.inuse_transactions = 0;
  }

  private removed(tx: TableEntry): void {
    let ended: ServerTx | ClientTx | undefined = this.servers.get(tx.id);
    let side: 'server' | 'client' = 'server';
    if (ended === tx) {
      this.servers.delete(tx.id);
    } else {
      ended = this.clients.get(tx.id);
      if (ended !== tx) {
        return;
      }
      this.clients.delete(tx.id);
      side = 'client';
    }
    this.stats.inuse_transactions--;
    this.observer?.transactionEnded?.(side, ended.method, this.ctx.clock.now() - ended.createdAt);
  }

  /** Network input that cannot be keyed never throws past here: count, log at debug, drop. */
  private drop(msg: SipRequest | SipResponse, err: unknown): void {
    this.droppedMessages++;
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug(
        { err: err instanceof Error ? err.message : String(err), request: msg.isRequest() },
        'message dropped by transaction matching',
      );
    }
  }
}
