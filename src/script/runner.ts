/**
 * Loads the routing script, checks its shape, installs it as the proxy core's request handler,
 * and runs its startup hook, timers and event handlers. A reload swaps the script atomically: a
 * script that fails to load or to check leaves the running one in place.
 */
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { CoreError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { ProxyCore } from '../proxy/proxy-core.js';
import type { RequestTask } from '../proxy/request-task.js';
import type { SelfAddresses } from '../proxy/self.js';
import { FailureContext, ScriptContext, type RouteTable } from './context.js';
import { defineScriptFunctions, type ScriptFunctionEntry } from './functions.js';
import type { Routes } from './routes.js';

const NAMED_KINDS = ['failure', 'onreply', 'branch'] as const;

/** Check that a module's default export is a usable `Routes` object; throws naming the fault. */
export function checkRoutes(value: unknown, file: string): Routes {
  const fail = (what: string): never => {
    throw new CoreError('TANDEM_ERR_SCRIPT', `${file}: ${what}`);
  };
  if (typeof value !== 'object' || value === null) {
    return fail('the default export must be the object returned by defineRoutes({...})');
  }
  const r = value as Record<string, unknown>;
  if (typeof r['request'] !== 'function') {
    fail('the routes object has no request(ctx) function');
  }
  for (const kind of NAMED_KINDS) {
    const table = r[kind];
    if (table === undefined) {
      continue;
    }
    if (typeof table !== 'object' || table === null) {
      fail(`${kind} must be an object of named routes`);
    }
    for (const [name, fn] of Object.entries(table as Record<string, unknown>)) {
      if (typeof fn !== 'function') {
        fail(`${kind} route "${name}" is not a function`);
      }
    }
  }
  const events = r['events'];
  if (events !== undefined) {
    if (typeof events !== 'object' || events === null) {
      fail('events must be an object of handlers by event name');
    }
    for (const [name, fn] of Object.entries(events as Record<string, unknown>)) {
      if (typeof fn !== 'function') {
        fail(`event handler "${name}" is not a function`);
      }
    }
  }
  if (r['startup'] !== undefined && typeof r['startup'] !== 'function') {
    fail('startup must be a function');
  }
  const timers = r['timers'];
  if (timers !== undefined) {
    if (typeof timers !== 'object' || timers === null) {
      fail('timers must be an object of { interval, run }');
    }
    for (const [name, t] of Object.entries(timers as Record<string, unknown>)) {
      const timer = t as { interval?: unknown; run?: unknown } | null;
      if (
        timer === null ||
        typeof timer.interval !== 'number' ||
        !(timer.interval > 0) ||
        typeof timer.run !== 'function'
      ) {
        fail(`timer "${name}" needs a positive interval (seconds) and a run() function`);
      }
    }
  }
  return value as Routes;
}

/**
 * A module's hook run when `loose_route()` removed our own Route entry (OpenSIPS rr callbacks):
 * the dialog module matches sequential requests there. A hook that throws fails the request
 * like the script would.
 */
export type LooseRouteHook = (ctx: ScriptContext) => void;

/** The context classes of one runner: the core's, with the modules' functions on top. */
type ContextClass = new (...args: ConstructorParameters<typeof ScriptContext>) => ScriptContext;
type FailureContextClass = new (
  ...args: ConstructorParameters<typeof FailureContext>
) => FailureContext;

export class ScriptRunner implements RouteTable {
  private routes: Routes | null = null;
  private Context: ContextClass = ScriptContext;
  private Failure: FailureContextClass = FailureContext;
  private modules: ReadonlySet<string> = new Set();
  private file: string | null = null;
  private generation = 0;
  private intervals: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void)[] = [];
  private looseRouteHooks: readonly LooseRouteHook[] = [];
  /** Event handlers that threw or rejected (`script:event_errors`). */
  readonly stats = { event_errors: 0 };

  /** `events`: the bus a script's `events` handlers subscribe to (none: no handlers allowed). */
  constructor(
    private readonly core: ProxyCore,
    private readonly self: SelfAddresses,
    private readonly logger: Logger,
    private readonly events: EventBus | null = null,
  ) {}

  /**
   * Give every context the modules' script functions (once, before the script loads). Each
   * runner gets context subclasses of its own: several apps in one process do not share them.
   */
  setFunctions(
    table: ReadonlyMap<string, ScriptFunctionEntry>,
    modules: readonly string[] = [],
    looseRouteHooks: readonly LooseRouteHook[] = [],
  ): void {
    this.modules = new Set(modules);
    this.looseRouteHooks = looseRouteHooks;
    const fail = (why: string): never => {
      throw new CoreError('TANDEM_ERR_MODULE', why);
    };
    class ModuleContext extends ScriptContext {}
    class ModuleFailureContext extends FailureContext {}
    defineScriptFunctions(ModuleContext.prototype, table, fail);
    defineScriptFunctions(ModuleFailureContext.prototype, table, fail);
    this.Context = ModuleContext;
    this.Failure = ModuleFailureContext;
  }

  /** Load `file` (TypeScript or JavaScript) and make it the routing logic. */
  async load(file: string): Promise<void> {
    const path = resolve(file);
    let mod: { default?: unknown };
    try {
      mod = (await importScript(path, ++this.generation)) as { default?: unknown };
    } catch (err) {
      throw new CoreError('TANDEM_ERR_SCRIPT', `${path}: cannot load: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // A script compiled as CommonJS (no `"type": "module"` above it) has its default export one
    // level down.
    let exported = mod.default;
    if (isObject(exported) && !('request' in exported) && isObject(exported['default'])) {
      exported = exported['default'];
    }
    const routes = checkRoutes(exported, path);
    if (routes.startup !== undefined) {
      try {
        await routes.startup();
      } catch (err) {
        throw new CoreError(
          'TANDEM_ERR_SCRIPT',
          `${path}: startup failed: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    }
    this.install(routes);
    this.file = path;
  }

  /** Load the same file again; on failure the running script stays and the error is thrown. */
  async reload(): Promise<void> {
    if (this.file === null) {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', 'no routing script loaded');
    }
    await this.load(this.file);
  }

  /**
   * Make `routes` the routing logic at once (load() ends here; tests call it directly). Event
   * handlers for events nobody declared are refused before anything changes.
   */
  install(routes: Routes): void {
    const handlers = Object.entries(routes.events ?? {});
    for (const [name] of handlers) {
      if (this.events?.has(name) !== true) {
        throw new CoreError('TANDEM_ERR_SCRIPT', `events: no event named ${name}`);
      }
    }
    this.stopTimers();
    this.stopEvents();
    for (const [name, handler] of handlers) {
      this.unsubscribe.push(
        this.events!.subscribe(name, (event) =>
          this.runEvent(name, () => handler(event.params, event)),
        ),
      );
    }
    this.routes = routes;
    this.core.setRequestHandler((task) => routes.request(this.contextFor(task)));
    for (const [name, timer] of Object.entries(routes.timers ?? {})) {
      const t = setInterval(() => {
        void this.runTimer(name, () => timer.run());
      }, timer.interval * 1000);
      t.unref();
      this.intervals.push(t);
    }
  }

  /** Stop the script's timers and event handlers (on shutdown). */
  stop(): void {
    this.stopTimers();
    this.stopEvents();
  }

  private stopEvents(): void {
    for (const off of this.unsubscribe) {
      off();
    }
    this.unsubscribe = [];
  }

  /** An event handler's failure is the script's: logged with the route, counted, never thrown. */
  private async runEvent(name: string, run: () => unknown): Promise<void> {
    try {
      await run();
    } catch (err) {
      this.stats.event_errors++;
      this.logger.error({ err, route: `event:${name}` }, 'script event handler failed');
    }
  }

  private stopTimers(): void {
    for (const t of this.intervals) {
      clearInterval(t);
    }
    this.intervals = [];
  }

  private async runTimer(name: string, run: () => unknown): Promise<void> {
    try {
      await run();
    } catch (err) {
      this.logger.error({ err, route: `timer:${name}` }, 'script timer failed');
    }
  }

  private contextFor(task: RequestTask): ScriptContext {
    return new this.Context(task, this, this.self, this.logger);
  }

  private named<K extends (typeof NAMED_KINDS)[number]>(
    kind: K,
    name: string,
  ): NonNullable<Routes[K]>[string] {
    const fn = this.routes?.[kind]?.[name];
    if (fn === undefined) {
      throw new CoreError('TANDEM_ERR_SCRIPT', `no ${kind} route named "${name}"`);
    }
    return fn as NonNullable<Routes[K]>[string];
  }

  hasModule(name: string): boolean {
    return this.modules.has(name);
  }

  looseRouted(ctx: ScriptContext): void {
    for (const hook of this.looseRouteHooks) {
      hook(ctx);
    }
  }

  armFailure(task: RequestTask, name: string): void {
    const route = this.named('failure', name);
    task.failureHandler = async (t, best) => {
      const ctx = new this.Failure(t, this, this.self, this.logger);
      ctx.best = best;
      await route(ctx);
    };
  }

  armReply(task: RequestTask, name: string, ctx: ScriptContext): void {
    const route = this.named('onreply', name);
    task.replyHandler = (res) => {
      try {
        return route(res, ctx);
      } catch (err) {
        this.logger.error(
          { err, route: `onreply:${name}`, callId: res.callId() },
          'reply route failed',
        );
        return undefined;
      }
    };
  }

  armBranch(task: RequestTask, name: string, ctx: ScriptContext): void {
    const route = this.named('branch', name);
    task.branchHandler = async (copy) => (await route(copy, ctx)) !== false;
  }
}

/**
 * TypeScript scripts go through tsx's scoped importer, which also gives every load a fresh
 * module instance (a reload really re-reads the file); JavaScript gets a cache-busting query.
 */
async function importScript(path: string, generation: number): Promise<unknown> {
  const url = pathToFileURL(path).href;
  if (extname(path) === '.ts' || extname(path) === '.mts') {
    // tsImport loads through a namespace of its own on every call: a fresh module each time.
    return tsImport(url, import.meta.url);
  }
  return import(`${url}?v=${generation}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
