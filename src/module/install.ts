/**
 * Putting manifests into the running core: every module's MI commands, statistics and events
 * are registered first (so a module may subscribe to another's events in its init), then each
 * module's init runs in load order; destroy runs in reverse order at shutdown.
 */
import { CoreError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { LogLevels } from '../core/log-levels.js';
import type { Readiness } from '../core/readiness.js';
import type { StatCell, StatsRegistry } from '../core/stats.js';
import type { ModuleHost, ModuleManifest } from './define-module.js';
import type { MiCommandDefinition } from './mi-types.js';

/** Where MI commands go (the MI registry implements it; the SDK does not depend on the MI). */
export interface MiCommandSink {
  add(module: string, command: MiCommandDefinition): void;
}

/** The core services a module's declarations land in. */
export interface ModuleRegistries {
  readonly commands: MiCommandSink;
  readonly stats: StatsRegistry;
  readonly events: EventBus;
  readonly loggers: LogLevels;
  readonly readiness: Readiness;
}

/** The installed modules: `destroy()` tears them down in reverse order. */
export interface InstalledModules {
  readonly names: readonly string[];
  destroy(): Promise<void>;
}

/** Register `manifests` into `registries` and run their init hooks. */
export async function installModules(
  manifests: readonly ModuleManifest[],
  registries: ModuleRegistries,
): Promise<InstalledModules> {
  const seen = new Set<string>();
  const cells = new Map<string, Map<string, StatCell>>();
  for (const m of manifests) {
    if (seen.has(m.name)) {
      throw new CoreError('TANDEM_ERR_MODULE', `module ${m.name} is loaded twice`);
    }
    seen.add(m.name);
    cells.set(m.name, declare(m, registries));
  }
  const inited: ModuleManifest[] = [];
  const destroy = async (): Promise<void> => {
    for (const m of [...inited].reverse()) {
      try {
        await m.destroy?.();
      } catch (err) {
        registries.loggers.component(m.name, 'module').error({ err }, 'module destroy failed');
      }
    }
    inited.length = 0;
  };
  for (const m of manifests) {
    try {
      await m.init?.(host(m, cells.get(m.name)!, registries));
    } catch (err) {
      await destroy();
      throw new CoreError(
        'TANDEM_ERR_MODULE',
        `${m.name}: init failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    inited.push(m);
  }
  return { names: manifests.map((m) => m.name), destroy };
}

function declare(m: ModuleManifest, r: ModuleRegistries): Map<string, StatCell> {
  for (const cmd of m.mi ?? []) {
    r.commands.add(m.name, cmd);
  }
  const cells = new Map<string, StatCell>();
  for (const [name, def] of Object.entries(m.stats ?? {})) {
    if (def.read === undefined) {
      cells.set(name, r.stats.cell(m.name, name, def.kind, def.description));
    } else {
      r.stats.register(m.name, name, {
        kind: def.kind,
        description: def.description,
        read: def.read,
        ...(def.reset !== undefined ? { reset: def.reset } : {}),
      });
    }
  }
  for (const [name, def] of Object.entries(m.events ?? {})) {
    r.events.declare(name, def, m.name);
  }
  return cells;
}

function host(m: ModuleManifest, cells: Map<string, StatCell>, r: ModuleRegistries): ModuleHost {
  return {
    name: m.name,
    logger: r.loggers.component(m.name, m.name === 'core' ? 'component' : 'module'),
    stat(name) {
      const cell = cells.get(name);
      if (cell === undefined) {
        throw new CoreError(
          'TANDEM_ERR_INVALID_ARGUMENT',
          `module ${m.name} declares no stored statistic ${name}`,
        );
      }
      return cell;
    },
    raise: (event, params) => {
      r.events.raise(event, params);
    },
    events: r.events,
    readiness: (name, source) => r.readiness.register(`${m.name}:${name}`, source),
  };
}
