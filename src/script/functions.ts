/**
 * Script functions that modules add to the routing script's context (OpenSIPS's module
 * `cmd_export_t`: `save()`, `lookup()`, `www_authorize()`...). A module declares them in its
 * manifest; the script runner puts them on the context, so a script calls `ctx.save()` just as
 * it calls the core's `ctx.t_relay()`.
 *
 * Types: a module adds its functions to {@link ScriptFunctions} by declaration merging:
 *
 * ```ts
 * declare module '../../src/script/functions.js' {
 *   interface ScriptFunctions {
 *     save(options?: SaveOptions): boolean;
 *   }
 * }
 * ```
 *
 * A script that calls a function of a module the configuration does not load gets a
 * TANDEM_ERR_SCRIPT error naming the module, not a TypeError.
 */
import type { ScriptContext } from './context.js';

/** Filled in by the modules' declarations (see above). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ScriptFunctions {}

/**
 * A module's implementation of one script function: the request's context first, then what the
 * script passed.
 */
export type ScriptFunctionImpl = (ctx: ScriptContext, ...args: never[]) => unknown;

/** One script function with the module that provides it (for error messages and the README). */
export interface ScriptFunctionEntry {
  readonly module: string;
  readonly impl: ScriptFunctionImpl;
}

/**
 * Put each function on `proto` (a per-runner subclass's prototype) as a method calling the
 * module's implementation with the context. A name the context already has is refused: a
 * module must not shadow `t_relay`.
 */
export function defineScriptFunctions(
  proto: object,
  table: ReadonlyMap<string, ScriptFunctionEntry>,
  fail: (why: string) => never,
): void {
  for (const [name, entry] of table) {
    if (name in proto) {
      fail(`script function ${name} of module ${entry.module} clashes with a core function`);
    }
    const impl = entry.impl as (ctx: ScriptContext, ...args: unknown[]) => unknown;
    Object.defineProperty(proto, name, {
      value: function (this: ScriptContext, ...args: unknown[]): unknown {
        return impl(this, ...args);
      },
      writable: false,
      enumerable: false,
      configurable: false,
    });
  }
}
