/** The routing-script API: what `cfg/routes.ts` imports. */
export { defineRoutes } from './routes.js';
export type {
  Routes,
  FailureRoute,
  ReplyRoute,
  BranchRoute,
  TimerRoute,
  Awaitable,
} from './routes.js';
export { ScriptContext, FailureContext } from './context.js';
export { ScriptRunner, checkRoutes } from './runner.js';
