/**
 * Stateful forwarding of one request to its target set: the branches, their client
 * transactions, Timer C, and the response context of RFC 3261 §16.7 that decides what goes back
 * upstream. One instance per relayed request (created by `RequestTask.relay()`), living as long
 * as its server transaction.
 */
import type { TimerHandle } from '../core/clock.js';
import { createResponse, type SipRequest, type SipResponse } from '../sip/index.js';
import type {
  ClientTransaction,
  ClientTransactionUser,
  ServerTransaction,
} from '../transaction/types.js';
import type { SendTarget } from '../transport/types.js';
import { finalResponse } from './best-response.js';
import { proxyBranch } from './branch.js';
import { copyRequest } from './copy.js';
import { recordRouteValues } from './record-route.js';
import { chooseSocket } from './socket-choice.js';
import { forwardResponseStateless } from './stateless.js';
import { applyStrictRoute, nextHopUri } from './route.js';
import type { BranchTarget } from './types.js';
import { viaValue } from './via.js';
import type { ForwardingHost, RequestTask } from './request-task.js';

/** One branch: a copy of the request towards one target, tried over its resolved addresses. */
export interface Branch {
  readonly index: number;
  readonly target: BranchTarget;
  /** The copy as prepared for this branch, before the per-attempt Via and Record-Route. */
  request: SipRequest | null;
  /** Resolved next-hop addresses (RFC 3263), tried in order on failure (§4.3). */
  addresses: SendTarget[];
  attempt: number;
  tx: ClientTransaction | null;
  /** Highest provisional status seen (101-199), 0 if none. */
  provisional: number;
  /** The branch's final response (received with our Via removed, or synthesised), or null. */
  final: SipResponse | null;
  timerC: TimerHandle | null;
  cancelled: boolean;
  /** Id of the socket the current attempt was sent from (null before the first). */
  socketId: string | null;
}

export class ResponseContext {
  readonly branches: Branch[] = [];
  /** Lower-q groups waiting for the current group to fail (serial forking, §16.6). */
  private readonly queued: BranchTarget[][] = [];
  /** A final response went upstream (for INVITE: a 2xx; later 2xx still go through). */
  finalSent = false;
  /** A CANCEL arrived for the request (§16.10): no new branch starts. */
  cancelled = false;
  private inFailureRoute = false;
  /** start() calls in progress: the context cannot complete while branches are being set up. */
  private starting = 0;
  /** The client transactions' links back here, cut by {@link release}. */
  private readonly users: BranchUser[] = [];
  private released = false;

  constructor(
    readonly host: ForwardingHost,
    readonly task: RequestTask,
    readonly serverTx: ServerTransaction,
  ) {}

  /** Branches without a final response. */
  pending(): number {
    let n = 0;
    for (const b of this.branches) {
      if (b.final === null) {
        n++;
      }
    }
    return n;
  }

  /** The final responses received so far, in branch order (for the failure route). */
  finals(): SipResponse[] {
    const out: SipResponse[] = [];
    for (const b of this.branches) {
      if (b.final !== null) {
        out.push(b.final);
      }
    }
    return out;
  }

  /**
   * Start the target set: the highest q-value group now, in parallel; lower groups wait until
   * the group before them has failed. Gives the number of branches that were handed to a client
   * transaction (0 means nothing could be sent): at once when no branch had to wait (no DNS, no
   * asynchronous branch route), which is the usual relay to an address, else as a promise.
   */
  start(targets: readonly BranchTarget[]): number | Promise<number> {
    const groups = groupByQ(targets);
    this.starting++;
    let started = 0;
    try {
      while (groups.length > 0 && started === 0 && !this.cancelled) {
        const r = this.startGroup(groups.shift()!);
        if (typeof r !== 'number') {
          return this.startLater(r, groups);
        }
        started = r;
      }
    } catch (err) {
      this.starting--;
      throw err;
    }
    return this.started(started, groups);
  }

  private async startLater(pending: Promise<number>, groups: BranchTarget[][]): Promise<number> {
    let started: number;
    try {
      started = await pending;
      while (groups.length > 0 && started === 0 && !this.cancelled) {
        started = await this.startGroup(groups.shift()!);
      }
    } catch (err) {
      this.starting--;
      throw err;
    }
    return this.started(started, groups);
  }

  private started(started: number, groups: BranchTarget[][]): number {
    this.queued.push(...groups);
    this.starting--;
    if (started > 0) {
      // Branches may have failed while others were being resolved.
      this.maybeComplete();
    }
    return started;
  }

  private startGroup(group: readonly BranchTarget[]): number | Promise<number> {
    if (group.length === 1) {
      const r = this.startBranch(group[0]!);
      return typeof r === 'boolean' ? Number(r) : r.then(Number);
    }
    const results = group.map((t) => this.startBranch(t));
    if (results.every((r) => typeof r === 'boolean')) {
      return results.filter(Boolean).length;
    }
    return Promise.all(results.map((r) => Promise.resolve(r))).then(
      (done) => done.filter(Boolean).length,
    );
  }

  /**
   * Prepare one branch (§16.6 items 1-7) and send its first attempt; false if it failed. Waits
   * only for what must be waited for: an asynchronous branch route, or DNS for a name.
   */
  private startBranch(target: BranchTarget): boolean | Promise<boolean> {
    const branch: Branch = {
      index: this.branches.length,
      target,
      request: null,
      addresses: [],
      attempt: 0,
      tx: null,
      provisional: 0,
      final: null,
      timerC: null,
      cancelled: false,
      socketId: null,
    };
    this.branches.push(branch);
    const req = this.task.req;
    try {
      const copy = copyRequest(req);
      // §16.6 item 2: "The proxy MUST place the URI into the Request-URI of the copy."
      if (copy.uri !== target.uri) {
        copy.setUri(target.uri);
      }
      const routes = target.routes;
      if (routes !== undefined) {
        // RFC 3327 §5.3: the stored Path becomes this copy's preloaded Route set, in order.
        for (let k = routes.length - 1; k >= 0; k--) {
          copy.addRoute(routes[k]!, 'top');
        }
      }
      // §16.6 item 3: Max-Forwards decremented, or added as 70 - 1.
      copy.decrementMaxForwards(this.host.maxForwards);
      // Hot path: only a watched transaction pays for the loop.
      const watchers = this.task.watchers;
      if (watchers !== null) {
        for (const w of watchers) {
          w.branch?.(copy, branch);
        }
      }
      // §16.6 item 6: a strict router next: rewrite the copy's Request-URI and Route.
      const strict = applyStrictRoute(copy);
      if (this.task.branchHandler !== null) {
        return this.routeBranch(branch, copy, strict);
      }
      return this.resolveBranch(branch, copy, strict);
    } catch (err) {
      return this.branchFailed(branch, err);
    }
  }

  /** The script's branch route first (it may wait), then the rest of {@link startBranch}. */
  private async routeBranch(branch: Branch, copy: SipRequest, strict: boolean): Promise<boolean> {
    try {
      if (!(await this.task.branchHandler!(copy, branch))) {
        branch.final = createResponse(this.task.req, 480, { reason: 'Branch Dropped By Script' });
        return false;
      }
      return await this.resolveBranch(branch, copy, strict);
    } catch (err) {
      return this.branchFailed(branch, err);
    }
  }

  private resolveBranch(
    branch: Branch,
    copy: SipRequest,
    strict: boolean,
  ): boolean | Promise<boolean> {
    const hop = nextHopUri(copy, branch.target.dst, strict);
    if (hop === null) {
      branch.final = createResponse(this.task.req, 416, { reason: 'Unsupported URI Scheme' });
      return false;
    }
    branch.request = copy;
    const now = this.host.resolver.resolveNumeric?.(hop) ?? null;
    if (now === null) {
      return this.host.resolver.resolve(hop).then(
        (addresses) => {
          branch.addresses = addresses;
          return this.launch(branch);
        },
        (err: unknown) => this.branchFailed(branch, err),
      );
    }
    branch.addresses = now;
    return this.launch(branch);
  }

  private branchFailed(branch: Branch, err: unknown): false {
    const req = this.task.req;
    this.host.logger.debug({ err, callId: req.callId() }, 'branch could not start');
    branch.final = createResponse(req, 503, { reason: 'Destination Unreachable' });
    return false;
  }

  /** The first attempt of a resolved branch, unless a CANCEL came while it was being prepared. */
  private launch(branch: Branch): boolean {
    if (this.cancelled) {
      branch.final = createResponse(this.task.req, 487, { reason: 'Request Terminated' });
      return false;
    }
    if (!this.attempt(branch)) {
      branch.final = createResponse(this.task.req, 503, { reason: 'No Reachable Destination' });
      return false;
    }
    return true;
  }

  /** Send the branch to its next resolved address; false when none is left. */
  private attempt(branch: Branch): boolean {
    const base = branch.request!;
    while (branch.attempt < branch.addresses.length) {
      const target = branch.addresses[branch.attempt++]!;
      const socket = chooseSocket(this.host.transport, target, branch.target.socketId);
      if (socket === null) {
        continue;
      }
      const copy = copyRequest(base);
      branch.socketId = socket.id;
      if (this.task.recordRouted) {
        for (const rr of recordRouteValues(this.task.rx.socket, socket, this.task.rrParams)) {
          copy.addRecordRoute(rr);
        }
      }
      const branchId = proxyBranch(this.task.hash);
      copy.pushVia(viaValue(socket, branchId));
      const pinned: SendTarget = { ...target, socketId: socket.id };
      const user = new BranchUser(this, branch);
      this.users.push(user);
      branch.tx = this.host.transactions.createClientTransaction(copy, pinned, user, branchId);
      if (this.task.req.method === 'INVITE') {
        this.armTimerC(branch);
      }
      return true;
    }
    return false;
  }

  /**
   * §16.6 item 11 / §16.8: Timer C. "If timer C fires, the proxy MUST either reset the timer with
   * any value it chooses, or terminate the client transaction. If the client transaction has
   * received a provisional response, the proxy MUST generate a CANCEL request matching that
   * transaction. If the client transaction has not received a provisional response, the proxy
   * MUST behave as if the transaction received a 408 (Request Timeout) response."
   */
  private armTimerC(branch: Branch): void {
    branch.timerC?.cancel();
    branch.timerC = this.host.clock.setTimer(this.host.timerC, () => {
      branch.timerC = null;
      if (branch.final !== null) {
        return;
      }
      if (branch.provisional > 0) {
        this.cancelBranch(branch);
      } else {
        this.settle(branch, createResponse(this.task.req, 408, { reason: 'Request Timeout' }));
      }
    });
  }

  /** @internal A response of one of the branches' client transactions (via BranchUser). */
  onResponse(branch: Branch, tx: ClientTransaction, res: SipResponse): void {
    if (tx !== branch.tx) {
      return; // a late response to an attempt we gave up on
    }
    // §16.7 item 3: "The proxy removes the topmost Via header field value from the response."
    res.popVia();
    if (res.vias().length === 0) {
      return; // §16.7 item 3: no Via left: the response was for this element
    }
    const watchers = this.task.watchers;
    if (watchers !== null) {
      for (const w of watchers) {
        w.response?.(res, branch);
      }
    }
    const status = res.status;
    if (status < 200) {
      if (status === 100) {
        return; // §16.7 item 5: 100 Trying is never forwarded
      }
      branch.provisional = status;
      if (this.task.req.method === 'INVITE' && branch.final === null) {
        this.armTimerC(branch); // §16.7 item 2: reset Timer C on a provisional
      }
      if (this.task.replyHandler?.(res, branch) === false) {
        return;
      }
      // §16.7 item 5: "Any provisional response other than a 100 (Trying) MUST be forwarded
      // immediately."
      if (!this.finalSent) {
        this.serverTx.respond(res);
      }
      return;
    }
    if (status === 503 && branch.attempt < branch.addresses.length && !this.cancelled) {
      // RFC 3263 §4.3: a 503 makes the client try the next address of the same target.
      branch.timerC?.cancel();
      if (this.attempt(branch)) {
        return;
      }
    }
    this.task.replyHandler?.(res, branch);
    this.settle(branch, res);
  }

  /** Timeout or transport error of one attempt: next address (RFC 3263 §4.3) or a final. */
  /** @internal A branch's client transaction timed out or could not send (via BranchUser). */
  onFailure(branch: Branch, tx: ClientTransaction, status: number, reason: string): void {
    if (tx !== branch.tx || branch.final !== null) {
      return;
    }
    branch.timerC?.cancel();
    if (branch.provisional === 0 && !this.cancelled && this.attempt(branch)) {
      return;
    }
    const synthetic = createResponse(this.task.req, this.cancelled ? 487 : status, {
      reason: this.cancelled ? 'Request Terminated' : reason,
    });
    this.settle(branch, synthetic);
  }

  /** A branch got its final response: forward it or keep it for the best-response choice. */
  private settle(branch: Branch, res: SipResponse): void {
    const first = branch.final === null;
    branch.final ??= res;
    branch.timerC?.cancel();
    branch.timerC = null;
    const status = res.status;
    if (status >= 200 && status < 300) {
      // §16.7 item 5: "Any 2xx response to an INVITE MUST be forwarded immediately" (every one
      // of them, when forking: each is a separate dialog). For other methods the first wins.
      if (this.task.req.method === 'INVITE' || !this.finalSent) {
        this.forwardFinal(res);
      }
      if (this.task.req.method === 'INVITE') {
        // §16.7 item 10: "If a final response has been sent ... the proxy MUST CANCEL all
        // pending branches" (2xx to INVITE).
        this.cancelPending();
      }
      this.releaseIfDone();
      return;
    }
    if (!first) {
      return;
    }
    if (status >= 600) {
      // §16.7 item 5: a 6xx is not forwarded at once; "the stateful proxy SHOULD cancel all
      // client pending transactions".
      this.cancelPending();
    }
    this.maybeComplete();
  }

  /** §16.7 item 6: when no branch is pending, start the next group or answer upstream. */
  private maybeComplete(): void {
    if (this.pending() > 0 || this.finalSent || this.inFailureRoute || this.starting > 0) {
      return;
    }
    const had6xx = this.branches.some((b) => b.final !== null && b.final.status >= 600);
    if (!had6xx && !this.cancelled && this.queued.length > 0) {
      void this.startQueued();
      return;
    }
    void this.runFailureRoute();
  }

  private async startQueued(): Promise<void> {
    while (this.queued.length > 0 && !this.cancelled) {
      if ((await this.startGroup(this.queued.shift()!)) > 0) {
        return;
      }
    }
    this.maybeComplete();
  }

  /** The failure route of RFC 3261 §16.7 in OpenSIPS's sense: the script may add branches. */
  private async runFailureRoute(): Promise<void> {
    const handler = this.task.failureHandler;
    if (handler !== null && !this.cancelled) {
      this.task.failureHandler = null;
      this.inFailureRoute = true;
      try {
        await handler(this.task, this.best());
      } catch (err) {
        this.host.logger.error(
          { err, callId: this.task.req.callId(), route: 'failure' },
          'failure route threw',
        );
      } finally {
        this.inFailureRoute = false;
      }
      if (this.finalSent || this.pending() > 0) {
        this.releaseIfDone();
        return;
      }
    }
    this.forwardFinal(this.best());
  }

  /** The response §16.7 items 6-7 choose, 487 when cancelled and nothing better arrived. */
  best(): SipResponse {
    const finals = this.finals().filter((r) => r.status >= 300);
    if (this.cancelled && !finals.some((r) => r.status === 487 || r.status >= 600)) {
      return createResponse(this.task.req, 487, { reason: 'Request Terminated' });
    }
    return finalResponse(this.task.req, finals);
  }

  /** Send a final response upstream through the server transaction. */
  forwardFinal(res: SipResponse): void {
    if (this.task.watchers !== null) {
      this.task.notifyFinal(res);
    }
    const sent = this.serverTx.respond(res);
    if (!sent && res.status >= 200 && res.status < 300 && this.task.req.method === 'INVITE') {
      // RFC 6026 §8.5: further 2xx responses from other branches go straight to the transport.
      this.host.transport.sendResponse(res, this.serverTx.rx);
    }
    this.finalSent = true;
    this.clearTimers();
    this.releaseIfDone();
  }

  /**
   * Once the final response went upstream and no branch is pending, nothing can change what
   * this context decided: let it go, rather than keep the request, its copies and responses
   * while the transactions linger for retransmissions (Timers J, L and M: 64*T1, 32 s by
   * default). Late 2xx (retransmissions, RFC 6026 §7.2) are then forwarded statelessly along
   * their Via, which is where the server transaction would have sent them (§16.7 item 5).
   */
  private releaseIfDone(): void {
    if (
      this.released ||
      !this.finalSent ||
      this.inFailureRoute ||
      this.starting > 0 ||
      this.pending() > 0
    ) {
      return;
    }
    this.released = true;
    for (const user of this.users) {
      user.detach();
    }
    this.users.length = 0;
    this.host.released(this.task);
  }

  /** §16.10: a CANCEL for this request arrived: cancel every pending branch. */
  cancelAll(): void {
    this.cancelled = true;
    this.queued.length = 0;
    this.cancelPending();
    this.maybeComplete();
  }

  private cancelPending(): void {
    this.queued.length = 0;
    for (const b of this.branches) {
      if (b.final === null) {
        this.cancelBranch(b);
      }
    }
  }

  /** §16.10 / §9.1: CANCEL one pending INVITE branch (sent once a provisional arrived). */
  private cancelBranch(b: Branch): void {
    if (b.cancelled || b.tx === null || this.task.req.method !== 'INVITE') {
      return;
    }
    b.cancelled = true;
    this.host.transactions.cancel(b.tx);
  }

  /** Stop every Timer C (the server transaction ended or a final went upstream). */
  clearTimers(): void {
    for (const b of this.branches) {
      b.timerC?.cancel();
      b.timerC = null;
    }
  }
}

/** Targets grouped by q-value, highest first (RFC 3261 §16.6: serial forking by q). */
function groupByQ(targets: readonly BranchTarget[]): BranchTarget[][] {
  if (targets.length === 1) {
    return [[targets[0]!]];
  }
  const sorted = [...targets].sort((a, b) => b.q - a.q);
  const groups: BranchTarget[][] = [];
  for (const t of sorted) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[0]!.q === t.q) {
      last.push(t);
    } else {
      groups.push([t]);
    }
  }
  return groups;
}

/**
 * A branch's client transaction user: the link from the transaction back to its response
 * context, cut when the context is released so a lingering transaction does not keep it alive.
 */
class BranchUser implements ClientTransactionUser {
  private context: ResponseContext | null;
  private branch: Branch | null;
  private readonly host: ForwardingHost;

  constructor(context: ResponseContext, branch: Branch) {
    this.context = context;
    this.branch = branch;
    this.host = context.host;
  }

  detach(): void {
    this.context = null;
    this.branch = null;
  }

  onResponse(res: SipResponse, tx: ClientTransaction): void {
    if (this.context !== null) {
      this.context.onResponse(this.branch!, tx, res);
    } else if (res.status >= 200 && res.status < 300) {
      // RFC 6026 §7.2: the transaction passes 2xx retransmissions (and other forks' 2xx) up;
      // with the context gone they follow their Via upstream (§16.7 item 5, §16.11).
      forwardResponseStateless(this.host, res);
    }
  }

  onTimeout(tx: ClientTransaction): void {
    this.context?.onFailure(this.branch!, tx, 408, 'Request Timeout');
  }

  onTransportError(_err: Error, tx: ClientTransaction): void {
    this.context?.onFailure(this.branch!, tx, 503, 'Transport Error');
  }
}
