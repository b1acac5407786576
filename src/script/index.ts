/**
 * The routing-script API: what `cfg/routes.ts` imports. Deliberately light (one function and
 * types): a script is loaded in its own module namespace, and everything this file imports at
 * run time is loaded again for it. The loader itself is `./runner.js`, used by `src/app.ts`.
 */
export { defineRoutes } from './routes.js';
export type {
  Routes,
  FailureRoute,
  ReplyRoute,
  BranchRoute,
  TimerRoute,
  EventRoute,
  Awaitable,
} from './routes.js';
export type { ScriptContext, FailureContext } from './context.js';
export type { EventParams, RaisedEvent } from '../core/events.js';
