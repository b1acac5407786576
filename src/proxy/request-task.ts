/**
 * The processing of one received request: what the routing script reads and decides (target,
 * Record-Route, branches, failure handling) and the primitives it calls (reply, relay, forward).
 * The script layer wraps it in its OpenSIPS-style API; the proxy core creates it.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { createResponse, type SipRequest, type SipResponse } from '../sip/index.js';
import type { ServerTransaction } from '../transaction/types.js';
import type { ReceiveInfo, TransportPort } from '../transport/types.js';
import type { LoopKey } from './branch.js';
import { maxForwardsRejection } from './checks.js';
import type { Branch } from './response-context.js';
import { ResponseContext } from './response-context.js';
import { preprocessRoute, type RoutePreprocessResult } from './route.js';
import type { SelfAddresses } from './self.js';
import { forwardRequestStateless } from './stateless.js';
import type { BranchTarget, ResolverPort, TransactionPort } from './types.js';

/** Runs when every branch failed (OpenSIPS `failure_route`); may relay to new targets. */
export type FailureHandler = (task: RequestTask, best: SipResponse) => void | Promise<void>;
/** Sees each response of a branch (OpenSIPS `onreply_route`); false drops a provisional. */
export type ReplyHandler = (res: SipResponse, branch: Branch) => boolean | undefined;
/** Sees each branch copy before it is sent (OpenSIPS `branch_route`); false drops it. */
export type BranchHandler = (copy: SipRequest, branch: Branch) => boolean | Promise<boolean>;

/**
 * A module's view of one transaction (OpenSIPS tm callbacks, as the dialog module uses them):
 * each branch copy before it is sent, each response a branch receives, and each final response
 * that goes upstream whatever produced it (a branch, the script, a CANCEL, Timer C).
 */
export interface TransactionWatcher {
  /** A branch copy, before its branch route, Via and Record-Route; may rewrite it. */
  branch?(copy: SipRequest, branch: Branch): void;
  /** A response of a branch, our Via removed, before the reply route and forwarding. */
  response?(res: SipResponse, branch: Branch): void;
  /** A final response sent upstream (for INVITE every 2xx of a forked request). */
  final?(res: SipResponse): void;
}

/** What a task and its response context need from the proxy core. */
export interface ForwardingHost {
  readonly transport: TransportPort;
  readonly transactions: TransactionPort;
  readonly resolver: ResolverPort;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly self: SelfAddresses;
  readonly timerC: number;
  readonly maxForwards: number;
  /** Create the server transaction of a task and remember the task under it. */
  serverTransaction(task: RequestTask): ServerTransaction;
  /** A CANCEL already arrived for this INVITE server transaction (§16.10). */
  isCancelled(tx: ServerTransaction): boolean;
  /** A To tag for a stateless reply that the core recognises when the ACK comes back. */
  statelessTag(): string;
  /** The task's response context is done: the core need not keep the task any longer. */
  released(task: RequestTask): void;
}

export class RequestTask {
  /** Destination URI overriding the next hop (OpenSIPS `$du`, set by `set_dst`). */
  dst: string | null = null;
  /** q-value of the Request-URI branch. */
  ruriQ = 1;
  /** Route set and socket of the Request-URI branch only (a contact's Path and socket). */
  private ruriExtras: BranchExtras | undefined = undefined;
  /** Targets added by `appendBranch`, consumed by the next relay. */
  readonly extraBranches: BranchTarget[] = [];
  /** `record_route()` was called: every branch gets our Record-Route. */
  recordRouted = false;
  /** Parameters added to our Record-Route values (`;did=...`, OpenSIPS `add_rr_param`). */
  rrParams = '';
  /** Modules watching this transaction (null: none, the usual case). */
  watchers: TransactionWatcher[] | null = null;
  failureHandler: FailureHandler | null = null;
  replyHandler: ReplyHandler | null = null;
  branchHandler: BranchHandler | null = null;
  /** Script flags and per-transaction variables (OpenSIPS flags and `$avp`s), made on first use. */
  private flagSet: Set<string> | null = null;
  private varMap: Map<string, unknown> | null = null;
  serverTx: ServerTransaction | null = null;
  context: ResponseContext | null = null;
  /** A final response went upstream (from the script or from the response context). */
  replied = false;
  /** The request was forwarded statelessly. */
  forwarded = false;
  private routing: RoutePreprocessResult | null = null;

  constructor(
    private readonly host: ForwardingHost,
    readonly req: SipRequest,
    readonly rx: ReceiveInfo,
    /** The loop-hash fields of the request as received (RFC 3261 §16.6 item 8). */
    private readonly loopKey: LoopKey,
  ) {}

  /** The loop hash of the request as received (RFC 3261 §16.6 item 8), made on first use. */
  get hash(): string {
    return this.loopKey.hash;
  }

  /** Script flags (OpenSIPS `setflag`/`isflag`); most requests never set one. */
  get flags(): Set<string> {
    this.flagSet ??= new Set();
    return this.flagSet;
  }

  /** Per-transaction variables (OpenSIPS `$avp`s). */
  get vars(): Map<string, unknown> {
    this.varMap ??= new Map();
    return this.varMap;
  }

  /** The request has been answered or sent on, so the core need not do anything more. */
  get handled(): boolean {
    return this.replied || this.forwarded || (this.context?.branches.length ?? 0) > 0;
  }

  /**
   * Answer the request. Through its server transaction when one exists (after `relay()` or
   * `createTransaction()`), statelessly otherwise. Returns false when a final response was
   * already sent.
   */
  reply(
    status: number,
    reason?: string,
    headers?: readonly (readonly [string, string])[],
  ): boolean {
    if (this.replied || this.req.method === 'ACK') {
      return false;
    }
    const options: Parameters<typeof createResponse>[2] = {};
    if (reason !== undefined) {
      options.reason = reason;
    }
    if (headers !== undefined) {
      options.headers = headers;
    }
    if (this.serverTx === null) {
      options.toTag = this.host.statelessTag();
    }
    const res = createResponse(this.req, status, options);
    if (this.serverTx !== null) {
      if (this.context !== null && status >= 200) {
        this.context.forwardFinal(res);
      } else if (!this.serverTx.respond(res)) {
        return false;
      }
    } else {
      this.host.transport.sendResponse(res, this.rx);
    }
    if (status >= 200) {
      this.replied = true;
      if (this.context === null) {
        this.notifyFinal(res);
      }
    }
    return true;
  }

  /** Watch this transaction (see {@link TransactionWatcher}). */
  watch(w: TransactionWatcher): void {
    (this.watchers ??= []).push(w);
  }

  /** @internal Tell the watchers about a final response sent upstream. */
  notifyFinal(res: SipResponse): void {
    // Every stateless reply passes here: no array made when nobody watches.
    if (this.watchers === null) {
      return;
    }
    for (const w of this.watchers) {
      w.final?.(res);
    }
  }

  /**
   * End the request from outside (MI `dlg_end_dlg` on an early dialog): CANCEL every pending
   * branch (RFC 3261 §16.10 as if the caller had cancelled), so the caller gets 487. False when
   * nothing is pending any more.
   */
  cancel(): boolean {
    const ctx = this.context;
    if (ctx === null || ctx.finalSent || ctx.pending() === 0) {
      return false;
    }
    ctx.cancelAll();
    return true;
  }

  /**
   * A parameter of our own Route entry that `loose_route()` removed (OpenSIPS
   * `check_route_param` / `$rr_params`): its value, '' for a flag, null when absent.
   */
  routeParam(name: string): string | null {
    const uri = this.routing?.selfRoute ?? null;
    if (uri === null) {
      return null;
    }
    return uri.params.has(name) ? (uri.params.get(name) ?? '') : null;
  }

  /**
   * RFC 3261 §16.4 route preprocessing (OpenSIPS `loose_route()`): removes our own Route entry
   * and undoes a strict router's Request-URI rewrite. True when the request is routed by its
   * Route set: our entry was there, or other Route entries remain.
   */
  looseRoute(): boolean {
    const r = this.preprocess();
    return r.removedSelf || r.strictRouted || this.req.has('route');
  }

  /** `loose_route()` removed an entry of ours: its parameters are known (see {@link routeParam}). */
  get routeParamsKnown(): boolean {
    return (this.routing?.selfRoute ?? null) !== null;
  }

  private preprocess(): RoutePreprocessResult {
    this.routing ??= preprocessRoute(this.req, this.host.self);
    return this.routing;
  }

  /** Add our Record-Route to every branch (RFC 3261 §16.6 item 4; double per RFC 5658). */
  recordRoute(): void {
    this.recordRouted = true;
  }

  /** Add `;name=value` (or `;name`) to our Record-Route values. */
  addRecordRouteParam(name: string, value?: string): void {
    this.rrParams += value === undefined ? `;${name}` : `;${name}=${value}`;
  }

  /**
   * Add a target to the set (RFC 3261 §16.5); without a URI, the current Request-URI. `dst`
   * sends that copy elsewhere (a NATed contact's received address), `routes` preloads a route
   * set on it (the contact's Path).
   */
  appendBranch(uri: string = this.req.uri, q = 1, extra?: BranchExtras): void {
    const target: BranchTarget = { uri, dst: extra?.dst ?? null, q };
    applyExtras(target, extra);
    this.extraBranches.push(target);
  }

  /**
   * Make `uri` the Request-URI and give its branch a q-value, destination, route set and socket
   * (what a location lookup finds for the best contact).
   */
  setRuriBranch(uri: string, q: number, extra?: BranchExtras): void {
    if (uri !== this.req.uri) {
      this.req.setUri(uri);
    }
    this.ruriQ = q;
    this.dst = extra?.dst ?? null;
    this.ruriExtras = extra;
  }

  /** Send this request to `uri` (an outbound proxy) whatever its Request-URI and Route say. */
  setDst(uri: string | null): void {
    this.dst = uri;
  }

  /** The server transaction for this request, created on first use (OpenSIPS `t_newtran`). */
  createTransaction(): ServerTransaction {
    this.serverTx ??= this.host.serverTransaction(this);
    return this.serverTx;
  }

  /**
   * Forward statefully to the target set (OpenSIPS `t_relay()`): the Request-URI (or `dst`) plus
   * any appended branches, highest q first. Resolves to true when at least one branch was sent
   * or the request was answered; false when nothing could be sent (the script then replies).
   * The promise is already settled when nothing had to wait (see {@link ResponseContext.start}).
   */
  relay(): Promise<boolean> {
    try {
      return settled(this.relayNow());
    } catch (err) {
      return rejected(err);
    }
  }

  private relayNow(): boolean | Promise<boolean> {
    if (this.req.method === 'ACK' || (this.req.method === 'CANCEL' && this.serverTx === null)) {
      // ACK for a 2xx is end-to-end and has no transaction; a CANCEL with no matching INVITE
      // "MUST [be] statelessly forward[ed]" (§16.10).
      return this.forwardNow();
    }
    this.preprocess();
    const tx = this.createTransaction();
    const mf = maxForwardsRejection(this.req);
    if (mf !== null) {
      this.reply(mf.status, mf.reason);
      return true;
    }
    if (this.host.isCancelled(tx)) {
      this.reply(487, 'Request Terminated');
      return true;
    }
    if (this.req.method === 'INVITE' && tx.lastResponse === null) {
      // §16.2 / §17.2.1: answer 100 at once so the caller's INVITE stops retransmitting.
      tx.respond(createResponse(this.req, 100));
    }
    const first: BranchTarget = { uri: this.req.uri, dst: this.dst, q: this.ruriQ };
    applyExtras(first, this.ruriExtras);
    let targets: BranchTarget[] = [first];
    if (this.extraBranches.length > 0) {
      targets = targets.concat(this.extraBranches);
      this.extraBranches.length = 0;
    }
    this.context ??= new ResponseContext(this.host, this, tx);
    const started = this.context.start(targets);
    return typeof started === 'number' ? started > 0 : started.then((n) => n > 0);
  }

  /** Forward statelessly (OpenSIPS `forward()`, RFC 3261 §16.11). */
  forward(): Promise<boolean> {
    try {
      return settled(this.forwardNow());
    } catch (err) {
      return rejected(err);
    }
  }

  private forwardNow(): boolean | Promise<boolean> {
    const mf = maxForwardsRejection(this.req);
    if (mf !== null) {
      this.reply(mf.status, mf.reason);
      return true;
    }
    this.preprocess();
    const ok = forwardRequestStateless(this.host, this);
    if (typeof ok === 'boolean') {
      this.forwarded ||= ok;
      return ok;
    }
    return ok.then((sent) => {
      this.forwarded ||= sent;
      return sent;
    });
  }
}

/** What a branch may carry besides its URI and q-value (see {@link BranchTarget}). */
export interface BranchExtras {
  dst?: string | null;
  routes?: readonly string[] | null;
  socketId?: string | null;
}

function applyExtras(target: BranchTarget, extra: BranchExtras | undefined): void {
  if (extra?.routes !== undefined && extra.routes !== null && extra.routes.length > 0) {
    target.routes = extra.routes;
  }
  if (extra?.socketId !== undefined && extra.socketId !== null) {
    target.socketId = extra.socketId;
  }
}

const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);

/** A result as a promise; a settled one is shared, so the usual relay allocates none. */
function settled(r: boolean | Promise<boolean>): Promise<boolean> {
  if (typeof r === 'boolean') {
    return r ? TRUE : FALSE;
  }
  return r;
}

/** What a synchronous throw becomes for a caller that expects a promise (as `async` did). */
function rejected(err: unknown): Promise<never> {
  return Promise.reject(err instanceof Error ? err : new Error(String(err)));
}
