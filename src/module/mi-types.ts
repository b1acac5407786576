/**
 * The types of an MI command declaration: parameter recipes (OpenSIPS `mi_recipe_t`), the values
 * that travel in JSON-RPC, and what a handler receives.
 */
import type { Logger } from '../core/logger.js';
import type { MiParams } from './mi-params.js';

/** A JSON value, as params arrive and results leave. `undefined` members are left out. */
export type MiValue =
  | string
  | number
  | boolean
  | null
  | readonly MiValue[]
  | { readonly [key: string]: MiValue | undefined };

/**
 * The type a parameter must have. A string is accepted where a number, integer or boolean is
 * expected when it spells one (`"5"`, `"true"`), a number where a string is expected, and a single
 * string where `string[]` is expected, so positional parameters typed on a command line work.
 */
export type MiParamType =
  'string' | 'integer' | 'number' | 'boolean' | 'string[]' | 'array' | 'object' | 'any';

export interface MiParamSpec {
  readonly name: string;
  readonly type: MiParamType;
  /** An optional parameter may be left out; positional ones only at the end. */
  readonly optional?: boolean;
  readonly description?: string;
}

/**
 * One way to call a command: its parameters in positional order. A recipe marked `namedOnly`
 * is chosen only by parameter names, never by count (for a recipe that would be ambiguous
 * positionally with another of the same length, such as `log_level module=tm` beside
 * `log_level debug`).
 */
export interface MiRecipe {
  readonly params: readonly MiParamSpec[];
  readonly namedOnly?: boolean;
}

/** The JSON-RPC id of a request (absent for a notification). */
export type MiRequestId = string | number | null;

/** What a handler is told besides its parameters. */
export interface MiCallContext {
  /** The name the client used (`uptime` or `core:uptime`). */
  readonly method: string;
  /** The command's full name (`core:uptime`). */
  readonly command: string;
  /** Index of the recipe that matched, in declaration order. */
  readonly recipe: number;
  /** The request id; undefined for a notification. */
  readonly id: MiRequestId | undefined;
  readonly logger: Logger;
  /**
   * Run `fn` once the answer has been written to the client (the `shutdown` command stops the
   * node only after its "OK" is on the wire). Without an HTTP transport it runs after the call.
   */
  afterResponse(fn: () => void): void;
}

/** What a handler returns; `undefined` is answered `"OK"`, as OpenSIPS does. */
export type MiResult = MiValue | undefined;

export type MiHandler = (params: MiParams, ctx: MiCallContext) => MiResult | Promise<MiResult>;

/** One MI command, as a module declares it. */
export interface MiCommandDefinition {
  /** The command inside its module: `uptime`, `shtag_set_active`. Reached as `module:name`. */
  readonly name: string;
  readonly description: string;
  /**
   * Classic names it also answers to (`ul_dump` for `usrloc:dump`). `module_name` is always an
   * alias, and for the core the bare name (`uptime`).
   */
  readonly aliases?: readonly string[];
  /** Ways to call it; default one recipe with no parameters. */
  readonly recipes?: readonly MiRecipe[];
  readonly handler: MiHandler;
}
