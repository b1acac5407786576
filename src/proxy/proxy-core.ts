/**
 * The RFC 3261 §16 proxy core: the transaction user that receives every request and stray
 * response from the transaction layer, applies the checks of §16.3, runs the routing logic (a
 * handler set by the script layer) and handles CANCEL (§16.10).
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { CoreObserver } from '../core/observer.js';
import { SipParseError } from '../core/errors.js';
import { createResponse, randomToken, type SipRequest, type SipResponse } from '../sip/index.js';
import type { ServerTransaction, TransactionUser } from '../transaction/types.js';
import type { ReceiveInfo, TransportPort } from '../transport/types.js';
import { LoopKey, preRouteChecks, type Rejection } from './checks.js';
import { RequestTask, type ForwardingHost } from './request-task.js';
import type { SelfAddresses } from './self.js';
import { forwardResponseStateless } from './stateless.js';
import type { ProxyOptions, ResolverPort, TransactionPort } from './types.js';

/** Decides what happens to a request (the script's request route). */
export type RequestHandler = (task: RequestTask) => void | Promise<void>;

/** Counters of the proxy core (OpenSIPS core / sl statistic names). */
export interface ProxyStats {
  rcv_requests: number;
  rcv_replies: number;
  fwd_replies: number;
  drop_requests: number;
  drop_replies: number;
  err_requests: number;
  sent_replies: number;
  script_errors: number;
}

export class ProxyCore implements TransactionUser, ForwardingHost {
  readonly transport: TransportPort;
  readonly transactions: TransactionPort;
  readonly resolver: ResolverPort;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timerC: number;
  readonly maxForwards: number;
  readonly stats: ProxyStats = {
    rcv_requests: 0,
    rcv_replies: 0,
    fwd_replies: 0,
    drop_requests: 0,
    drop_replies: 0,
    err_requests: 0,
    sent_replies: 0,
    script_errors: 0,
  };
  private readonly supported: ReadonlySet<string>;
  private readonly observer: CoreObserver | undefined;
  private handler: RequestHandler = defaultHandler;
  /** Tasks by their server transaction, for CANCEL (§16.10) and cleanup. */
  private readonly tasks = new Map<ServerTransaction, RequestTask>();
  /** INVITE server transactions a CANCEL arrived for before the script relayed them. */
  private readonly cancelledEarly = new WeakSet<ServerTransaction>();
  /** Every stateless To tag starts with this, so the ACK to such a reply is recognised. */
  private readonly slPrefix = `sl${randomToken(6)}`;
  private draining = false;

  constructor(
    options: ProxyOptions,
    readonly self: SelfAddresses,
  ) {
    this.transport = options.transport;
    this.transactions = options.transactions;
    this.resolver = options.resolver;
    this.clock = options.clock;
    this.logger = options.logger;
    this.timerC = options.timerC ?? 180_000;
    this.maxForwards = options.maxForwards ?? 70;
    this.supported = new Set((options.supported ?? []).map((t) => t.toLowerCase()));
    this.observer = options.observer;
  }

  /** Install the routing logic (the script layer's request route). */
  setRequestHandler(handler: RequestHandler): void {
    this.handler = handler;
  }

  /**
   * Requests still waiting for their final response, for graceful shutdown (a transaction that
   * already answered only lingers to absorb retransmissions).
   */
  activeTransactions(): number {
    let n = 0;
    for (const task of this.tasks.values()) {
      if (!task.replied && task.context?.finalSent !== true) {
        n++;
      }
    }
    return n;
  }

  /** Refuse new requests with 503 from now on (graceful shutdown). */
  drain(): void {
    this.draining = true;
  }

  onRequest(req: SipRequest, rx: ReceiveInfo, inviteTx: ServerTransaction | null): void {
    this.stats.rcv_requests++;
    if (req.method === 'CANCEL' && inviteTx !== null) {
      this.handleCancel(req, rx, inviteTx);
      return;
    }
    if (req.method === 'ACK' && this.isOwnStatelessAck(req)) {
      // The ACK to one of our stateless negative replies (RFC 3261 §17.2.1 hop-by-hop): absorb.
      return;
    }
    let key: LoopKey | null = null;
    let rejection: Rejection | null;
    try {
      key = new LoopKey(req);
      rejection = preRouteChecks(req, this.self, key, { supported: this.supported });
    } catch (err) {
      if (!(err instanceof SipParseError)) {
        throw err;
      }
      rejection = { status: err.status, reason: err.reason };
    }
    if (rejection === null && this.draining && req.method !== 'ACK') {
      rejection = { status: 503, reason: 'Shutting Down', headers: [['Retry-After', '5']] };
    }
    if (rejection !== null) {
      this.stats.err_requests++;
      if (req.method !== 'ACK') {
        this.replyStateless(req, rx, rejection);
      }
      return;
    }
    const task = new RequestTask(this, req, rx, key!);
    this.run(task);
  }

  onStrayResponse(res: SipResponse): void {
    this.stats.rcv_replies++;
    if (forwardResponseStateless(this, res)) {
      this.stats.fwd_replies++;
    } else {
      this.stats.drop_replies++;
    }
  }

  /** Run the routing logic; a throw or rejection becomes a 500 and never escapes. */
  private run(task: RequestTask): void {
    let result: void | Promise<void>;
    try {
      result = this.handler(task);
    } catch (err) {
      this.scriptFailed(task, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => {
          this.finish(task);
        },
        (err: unknown) => {
          this.scriptFailed(task, err);
        },
      );
    } else {
      this.finish(task);
    }
  }

  /**
   * After the request route: a request the script neither answered nor forwarded is dropped
   * (OpenSIPS does the same), except when it holds a transaction: then it gets the context's
   * best answer, or a 500, so no transaction lingers unanswered until its timers run out.
   */
  private finish(task: RequestTask): void {
    this.processed(task);
    const ctx = task.context;
    if (ctx !== null) {
      if (!ctx.finalSent && ctx.pending() === 0 && !task.replied) {
        ctx.forwardFinal(ctx.best());
      }
      return;
    }
    if (task.serverTx !== null && !task.replied) {
      task.reply(500, 'Request Not Handled');
      return;
    }
    if (!task.handled) {
      this.stats.drop_requests++;
      this.logger.debug({ callId: task.req.callId(), method: task.req.method }, 'request dropped');
    }
  }

  private processed(task: RequestTask): void {
    this.observer?.requestProcessed?.(task.req.method, this.clock.now() - task.rx.receivedAt);
  }

  private scriptFailed(task: RequestTask, err: unknown): void {
    this.processed(task);
    this.stats.script_errors++;
    this.logger.error(
      { err, route: 'request', callId: safeCallId(task.req), method: task.req.method },
      'routing script failed',
    );
    if (err instanceof SipParseError) {
      task.reply(err.status, err.reason);
    } else {
      task.reply(500, 'Server Internal Error');
    }
  }

  /**
   * RFC 3261 §16.10: "If a response context is found, the element MUST immediately return a
   * 200 (OK) response to the CANCEL request ... the element MUST generate CANCEL requests to all
   * pending client transactions in the context".
   */
  private handleCancel(cancel: SipRequest, rx: ReceiveInfo, inviteTx: ServerTransaction): void {
    const cancelTx = this.transactions.createServerTransaction(cancel, rx);
    const tag = inviteToTag(inviteTx);
    cancelTx.respond(createResponse(cancel, 200, tag === undefined ? {} : { toTag: tag }));
    this.stats.sent_replies++;
    const context = this.tasks.get(inviteTx)?.context;
    if (context !== null && context !== undefined) {
      context.cancelAll();
    } else {
      // Nothing relayed yet (the script may still be working): its relay() answers 487.
      this.cancelledEarly.add(inviteTx);
    }
  }

  // ---- ForwardingHost ------------------------------------------------------------------------

  serverTransaction(task: RequestTask): ServerTransaction {
    const tx = this.transactions.createServerTransaction(task.req, task.rx);
    this.tasks.set(tx, task);
    const previous = tx.onTerminated;
    // Looked up, not captured: a released task must not stay reachable from its transaction.
    tx.onTerminated = () => {
      const ended = this.tasks.get(tx);
      if (ended !== undefined) {
        this.tasks.delete(tx);
        ended.context?.clearTimers();
      }
      previous?.();
    };
    return tx;
  }

  released(task: RequestTask): void {
    if (task.serverTx !== null) {
      this.tasks.delete(task.serverTx);
    }
  }

  isCancelled(tx: ServerTransaction): boolean {
    return this.cancelledEarly.has(tx);
  }

  statelessTag(): string {
    return `${this.slPrefix}.${randomToken(9)}`;
  }

  private isOwnStatelessAck(req: SipRequest): boolean {
    try {
      return req.toTag()?.startsWith(this.slPrefix + '.') === true;
    } catch {
      return false;
    }
  }

  private replyStateless(req: SipRequest, rx: ReceiveInfo, r: Rejection): void {
    const options: Parameters<typeof createResponse>[2] = {
      reason: r.reason,
      toTag: this.statelessTag(),
    };
    if (r.headers !== undefined) {
      options.headers = r.headers;
    }
    this.transport.sendResponse(createResponse(req, r.status, options), rx);
    this.stats.sent_replies++;
  }
}

/** Without a script: answer everything 500, so a misconfigured proxy says so. */
function defaultHandler(task: RequestTask): void {
  task.reply(500, 'No Routing Script');
}

function safeCallId(req: SipRequest): string | undefined {
  try {
    return req.callId();
  } catch {
    return undefined;
  }
}

/** The To tag the INVITE's responses carry, so the 200 to CANCEL uses the same (§9.2). */
function inviteToTag(tx: ServerTransaction): string | undefined {
  try {
    return tx.lastToTag ?? undefined;
  } catch {
    return undefined;
  }
}
