/**
 * What a routing script sees for one request: the message and OpenSIPS-named functions over the
 * proxy core's request task. Names follow OpenSIPS (`t_relay`, `loose_route`, `record_route`,
 * `append_branch`, `setflag`...) so an operator's habits carry over.
 */
import type { Logger } from '../core/logger.js';
import { parseUri, type SipRequest, type SipResponse } from '../sip/index.js';
import type { RequestTask } from '../proxy/request-task.js';
import type { SelfAddresses } from '../proxy/self.js';
import type { Protocol } from '../transport/types.js';

/** How the context reaches the loaded script's named routes (checked when armed). */
export interface RouteTable {
  armFailure(task: RequestTask, name: string): void;
  armReply(task: RequestTask, name: string, ctx: ScriptContext): void;
  armBranch(task: RequestTask, name: string, ctx: ScriptContext): void;
}

export class ScriptContext {
  private childLog: Logger | null = null;

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

  /** Answer the request (`sl_send_reply` / `t_reply`: through the transaction when one exists). */
  reply(code: number, reason?: string, headers?: readonly (readonly [string, string])[]): boolean {
    return this.task.reply(code, reason, headers);
  }

  /** RFC 3261 §16.4 route preprocessing; true when the request is routed by its Route set. */
  loose_route(): boolean {
    return this.task.looseRoute();
  }

  /** Record-Route this request (RFC 3261 §16.6 item 4). */
  record_route(): void {
    this.task.recordRoute();
  }

  /** Add a parallel or serial (by q) target (RFC 3261 §16.5). */
  append_branch(uri?: string, q?: number): void {
    this.task.appendBranch(uri, q);
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

function safeCallId(req: SipRequest): string | undefined {
  try {
    return req.callId();
  } catch {
    return undefined;
  }
}
