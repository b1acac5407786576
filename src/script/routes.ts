/**
 * The shape of a routing script: a TypeScript module whose default export is `defineRoutes({...})`.
 * Route kinds follow OpenSIPS: `request` (every request that matches no transaction), named
 * `failure`, `onreply` and `branch` routes armed per transaction with `t_on_failure()`,
 * `t_on_reply()` and `t_on_branch()`, a `startup` hook, periodic `timers`, and `events`
 * handlers (OpenSIPS `event_route[E_...]`).
 */
import type { EventParams, RaisedEvent } from '../core/events.js';
import type { SipRequest, SipResponse } from '../sip/index.js';
import type { FailureContext, ScriptContext } from './context.js';

export type Awaitable<T> = T | Promise<T>;

/** A failure route: every branch failed; `ctx.t_relay()` tries new targets. */
export type FailureRoute = (ctx: FailureContext) => Awaitable<void>;
/** An onreply route: sees each response; returning false drops a provisional. */
export type ReplyRoute = (res: SipResponse, ctx: ScriptContext) => boolean | undefined;
/** A branch route: sees each outgoing copy; returning false drops that branch. */
export type BranchRoute = (copy: SipRequest, ctx: ScriptContext) => Awaitable<boolean | undefined>;

export interface TimerRoute {
  /** Period in seconds. */
  interval: number;
  run(): Awaitable<void>;
}

/**
 * An event handler (OpenSIPS `event_route`): told each time the event is raised, with its
 * parameters and the whole event (name, time). Errors are caught, logged and counted.
 */
export type EventRoute = (params: EventParams, event: RaisedEvent) => Awaitable<void>;

export interface Routes {
  request(ctx: ScriptContext): Awaitable<void>;
  failure?: Record<string, FailureRoute>;
  onreply?: Record<string, ReplyRoute>;
  branch?: Record<string, BranchRoute>;
  /** Runs once when the script is loaded, before any request. */
  startup?(): Awaitable<void>;
  timers?: Record<string, TimerRoute>;
  /** Handlers by event name (`E_CORE_SCRIPT_RELOADED`, a module's `E_...`). */
  events?: Record<string, EventRoute>;
}

/** Identity function that gives a script its types. */
export function defineRoutes(routes: Routes): Routes {
  return routes;
}
