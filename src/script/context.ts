/**
 * What a routing script sees for one request: the message and OpenSIPS-named functions over the
 * proxy core's request task. Names follow OpenSIPS (`t_relay`, `loose_route`, `record_route`,
 * `append_branch`, `setflag`...) so an operator's habits carry over.
 */
import type { Logger } from '../core/logger.js';
import { parseUri, type SipRequest, type SipResponse } from '../sip/index.js';
import type { RequestTask } from '../proxy/request-task.js';
import type { SelfAddresses } from '../proxy/self.js';
import type { BranchExtras, TransactionWatcher } from '../proxy/request-task.js';
import type { Protocol, ReceiveInfo } from '../transport/types.js';
import type { ScriptFunctions } from './functions.js';

/** How the context reaches the loaded script's named routes (checked when armed). */
export interface RouteTable {
  armFailure(task: RequestTask, name: string): void;
  armReply(task: RequestTask, name: string, ctx: ScriptContext): void;
  armBranch(task: RequestTask, name: string, ctx: ScriptContext): void;
  /** Is the module loaded (its script functions available)? */
  hasModule(name: string): boolean;
  /** `loose_route()` removed our own Route entry: run the modules' hooks (dialog matching). */
  looseRouted(ctx: ScriptContext): void;
}

/** Modules' script functions (src/script/functions.ts) are methods of every context. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface ScriptContext extends ScriptFunctions {}

/** Where a branch goes besides its Request-URI (what a location lookup finds for a contact). */
export interface BranchOptions {
  /** q-value (RFC 3261 §16.6: higher first when forking serially). */
  q?: number;
  /** Send to this URI instead (OpenSIPS `$du`): a NATed contact's received address. */
  dst?: string | null;
  /** Route set preloaded on this branch, top first (a contact's Path, RFC 3327 §5.3). */
  path?: readonly string[] | null;
  /** Id of the listen socket to send from (the one the contact registered through). */
  socket?: string | null;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class ScriptContext {
  private childLog: Logger | null = null;
  /** The loose-route hooks ran for this request (they run once, whatever the script calls). */
  private looseRouteSeen = false;

  constructor(
    protected readonly task: RequestTask,
    private readonly routes: RouteTable,
    private readonly self: SelfAddresses,
    private readonly logger: Logger,
  ) {}

  /**
   * A child logger bound to this request's Call-ID, made on first use: a pino child costs
   * microseconds (bindings serialised, redaction set up), too much for every request.
   */
  get log(): Logger {
    this.childLog ??= this.logger.child({ callId: safeCallId(this.task.req) });
    return this.childLog;
  }

  /** The request (mutable: header changes apply to every branch). */
  get msg(): SipRequest {
    return this.task.req;
  }

  get method(): string {
    return this.task.req.method;
  }

  /** The Request-URI (OpenSIPS `$ru`); assigning rewrites it. */
  get ruri(): string {
    return this.task.req.uri;
  }

  set ruri(uri: string) {
    this.task.req.setUri(uri);
  }

  /** Source address and port of the request (`$si`, `$sp`) and its transport (`$pr`). */
  get src_ip(): string {
    return this.task.rx.sourceAddress;
  }

  get src_port(): number {
    return this.task.rx.sourcePort;
  }

  get proto(): Protocol {
    return this.task.rx.protocol;
  }

  /** How the request arrived: socket, transport, source, connection. */
  get rx(): ReceiveInfo {
    return this.task.rx;
  }

  /** Is the method one of these? (`is_method("INVITE|ACK")` style, case-sensitive per RFC 3261 §7.1.) */
  is_method(...methods: string[]): boolean {
    return methods.includes(this.task.req.method);
  }

  /** The request carries a To tag: it belongs to a dialog (RFC 3261 §12.2). */
  has_totag(): boolean {
    return this.task.req.toTag() !== null;
  }

  /**
   * Is `uri` (default: the Request-URI) addressed to this proxy (`uri == myself`)? Only SIP
   * URIs can be; the host and port are compared with every socket and alias.
   */
  is_myself(uri?: string): boolean {
    const u = uri === undefined ? this.task.req.requestUri() : parseUri(uri);
    return u.kind === 'sip' && this.self.isSelfUri(u);
  }

  /** Is this module loaded, so its script functions can be called (`save` needs registrar)? */
  has_module(name: string): boolean {
    return this.routes.hasModule(name);
  }

  /** Answer the request (`sl_send_reply` / `t_reply`: through the transaction when one exists). */
  reply(code: number, reason?: string, headers?: readonly (readonly [string, string])[]): boolean {
    return this.task.reply(code, reason, headers);
  }

  /**
   * RFC 3261 §16.4 route preprocessing; true when the request is routed by its Route set. When
   * our own entry was removed, modules that follow dialogs (dialog) see the request then.
   */
  loose_route(): boolean {
    const routed = this.task.looseRoute();
    if (this.task.routeParamsKnown && !this.looseRouteSeen) {
      this.looseRouteSeen = true;
      this.routes.looseRouted(this);
    }
    return routed;
  }

  /** Record-Route this request (RFC 3261 §16.6 item 4), with `params` added to our entry. */
  record_route(params?: string): void {
    this.task.recordRoute();
    if (params !== undefined) {
      this.task.rrParams += params.startsWith(';') ? params : `;${params}`;
    }
  }

  /** Add `;name[=value]` to our Record-Route (OpenSIPS `add_rr_param`). */
  add_rr_param(name: string, value?: string): void {
    this.task.addRecordRouteParam(name, value);
  }

  /**
   * A parameter of our Route entry that `loose_route()` removed (OpenSIPS `check_route_param`):
   * its value, '' for a flag parameter, null when absent or no entry of ours was removed.
   */
  route_param(name: string): string | null {
    return this.task.routeParam(name);
  }

  /**
   * Watch this request's transaction (OpenSIPS tm callbacks, for modules): its branch copies,
   * the responses they get, the final responses sent upstream. The handle cancels its pending
   * branches (the caller then gets 487).
   */
  watch_transaction(w: TransactionWatcher): { cancel(): boolean } {
    this.task.watch(w);
    const task = this.task;
    return { cancel: () => task.cancel() };
  }

  /** Add a parallel or serial (by q) target (RFC 3261 §16.5). */
  append_branch(uri?: string, q?: number | BranchOptions): void {
    if (typeof q === 'object') {
      this.task.appendBranch(uri, q.q ?? 1, extras(q));
    } else {
      this.task.appendBranch(uri, q);
    }
  }

  /**
   * Rewrite the Request-URI and say how its branch goes: q-value, destination, preloaded route
   * set, socket (OpenSIPS `lookup()` sets `$ru`, `$du`, the path and the socket so).
   */
  set_ruri_branch(uri: string, options: BranchOptions = {}): void {
    this.task.setRuriBranch(uri, options.q ?? 1, extras(options));
  }

  /** Send to this URI whatever Route and Request-URI say (`$du`); null clears it. */
  set_dst(uri: string | null): void {
    this.task.setDst(uri);
  }

  /** Forward statefully (RFC 3261 §16.6); false when no branch could be sent. */
  t_relay(): Promise<boolean> {
    return this.task.relay();
  }

  /** Forward statelessly (RFC 3261 §16.11, OpenSIPS `forward()`). */
  relay(): Promise<boolean> {
    return this.task.forward();
  }

  /** Create the transaction now (`t_newtran`), so retransmissions are absorbed while the script works. */
  t_newtran(): void {
    this.task.createTransaction();
  }

  t_on_failure(name: string): void {
    this.routes.armFailure(this.task, name);
  }

  t_on_reply(name: string): void {
    this.routes.armReply(this.task, name, this);
  }

  t_on_branch(name: string): void {
    this.routes.armBranch(this.task, name, this);
  }

  setflag(flag: string): void {
    this.task.flags.add(flag);
  }

  resetflag(flag: string): void {
    this.task.flags.delete(flag);
  }

  isflag(flag: string): boolean {
    return this.task.flags.has(flag);
  }

  /** Per-transaction variables (OpenSIPS `$avp`), visible in later routes of the same transaction. */
  get vars(): Map<string, unknown> {
    return this.task.vars;
  }
}

/** The context of a failure route: the request plus the response that ended every branch. */
export class FailureContext extends ScriptContext {
  /** The response the proxy would send upstream if the route does nothing. */
  best!: SipResponse;

  /** Does the best response's status match (`t_check_status("408|5[0-9][0-9]")`)? */
  t_check_status(pattern: string | RegExp): boolean {
    const re = typeof pattern === 'string' ? new RegExp(`^(?:${pattern})$`) : pattern;
    return re.test(String(this.best.status));
  }

  /** Every final response the branches received so far. */
  replies(): SipResponse[] {
    return this.task.context?.finals() ?? [];
  }
}

function extras(o: BranchOptions): BranchExtras {
  return { dst: o.dst ?? null, routes: o.path ?? null, socketId: o.socket ?? null };
}

function safeCallId(req: SipRequest): string | undefined {
  try {
    return req.callId();
  } catch {
    return undefined;
  }
}
