/**
 * `defineModule()`: one typed manifest per module, like an OpenSIPS `module_exports` table. For
 * now a manifest declares MI commands, statistics, events and an init/destroy pair; later issues
 * add parameters, script functions and the replicated capability. The core's own MI commands
 * are declared through the same type (src/mi/core-commands.ts), so there is one path into the
 * registries.
 */
import { CoreError } from '../core/errors.js';
import type { EventBus, EventDefinition, EventParams } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { ReadinessSource } from '../core/readiness.js';
import type { StatCell, StatKind } from '../core/stats.js';
import type { MiCommandDefinition } from './mi-types.js';

/** A statistic a module declares; it appears as `module:name`. */
export interface StatDefinition {
  readonly kind: StatKind;
  readonly description: string;
  /**
   * Read the value from the module's own state (OpenSIPS's function statistics). Without it the
   * registry keeps the value and the module updates it through {@link ModuleHost.stat}.
   */
  readonly read?: () => number;
  /** For a `read` counter: how to zero it. Without it the counter is not resettable. */
  readonly reset?: () => void;
}

/** What a module receives at init: its own view of the core's services. */
export interface ModuleHost {
  readonly name: string;
  /** The module's logger (`{ module: name }`), its level settable by MI `log_level`. */
  readonly logger: Logger;
  /** The cell of a declared statistic that has no `read` (a counter or gauge to update). */
  stat(name: string): StatCell;
  /** Raise an event (one this module or another declared). */
  raise(event: string, params?: EventParams): void;
  /** Subscribe to events (any declared event, or `'*'`). */
  readonly events: Pick<EventBus, 'subscribe' | 'has'>;
  /**
   * Add a readiness source (`/ready` is 200 only when all are ready), named `module:name`; the
   * cluster registers one per replicated capability until it is synced.
   */
  readiness(name: string, source: ReadinessSource): () => void;
}

export interface ModuleManifest {
  /** Lower-case identifier: the MI prefix, the statistics group, the logger's name. */
  readonly name: string;
  readonly description: string;
  readonly mi?: readonly MiCommandDefinition[];
  readonly stats?: Readonly<Record<string, StatDefinition>>;
  readonly events?: Readonly<Record<string, EventDefinition>>;
  /** Called once every module's declarations are registered, in load order. */
  init?(host: ModuleHost): void | Promise<void>;
  /** Called at shutdown, in reverse load order. */
  destroy?(): void | Promise<void>;
}

const MODULE_NAME = /^[a-z][a-z0-9_]*$/;
const COMMAND_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Give a manifest its type and check what can be checked without the registries: names,
 * recipes (unique parameter names, optional ones last), handlers. Throws naming the fault.
 */
export function defineModule<M extends ModuleManifest>(manifest: M): M {
  const fail = (what: string): never => {
    throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `module ${manifest.name}: ${what}`);
  };
  if (!MODULE_NAME.test(manifest.name)) {
    fail('the name must be lower-case letters, digits and underscores');
  }
  const names = new Set<string>();
  for (const cmd of manifest.mi ?? []) {
    if (!COMMAND_NAME.test(cmd.name)) {
      fail(`MI command name "${cmd.name}" is not [A-Za-z][A-Za-z0-9_]*`);
    }
    for (const alias of [cmd.name, ...(cmd.aliases ?? [])]) {
      if (names.has(alias)) {
        fail(`MI name "${alias}" is declared twice`);
      }
      names.add(alias);
    }
    if (typeof cmd.handler !== 'function') {
      fail(`MI command ${cmd.name} has no handler`);
    }
    (cmd.recipes ?? []).forEach((recipe, i) => {
      checkRecipe(recipe.params, (what) => fail(`MI command ${cmd.name} recipe ${i}: ${what}`));
    });
  }
  return manifest;
}

function checkRecipe(
  params: readonly { name: string; optional?: boolean }[],
  fail: (what: string) => never,
): void {
  const seen = new Set<string>();
  let optionalSeen = false;
  for (const p of params) {
    if (!PARAM_NAME.test(p.name)) {
      fail(`parameter name "${p.name}" is not an identifier`);
    }
    if (seen.has(p.name)) {
      fail(`parameter ${p.name} appears twice`);
    }
    seen.add(p.name);
    if (p.optional === true) {
      optionalSeen = true;
    } else if (optionalSeen) {
      fail(`required parameter ${p.name} follows an optional one`);
    }
  }
}
