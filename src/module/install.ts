/**
 * Putting manifests into the running core: modules are ordered so that each comes after the
 * modules it depends on, their parameters are checked, every module's MI commands, statistics,
 * events and script functions are registered first (so a module may subscribe to another's
 * events in its init), then each module's init runs in that order; jobs stop and destroy runs
 * in reverse order at shutdown.
 */
import { join } from 'node:path';
import { systemClock, type Clock } from '../core/clock.js';
import { CoreError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { LogLevels } from '../core/log-levels.js';
import type { Logger } from '../core/logger.js';
import type { Readiness } from '../core/readiness.js';
import type { StatCell, StatsRegistry } from '../core/stats.js';
import type { ScriptContext } from '../script/context.js';
import type { ScriptFunctionEntry } from '../script/functions.js';
import type { ClusterApi, ModuleHost, ModuleManifest, SipOriginator } from './define-module.js';
import { JobRunner } from './jobs.js';
import type { MiCommandDefinition } from './mi-types.js';
import { orderModules, parseModuleParams } from './order.js';
import { moduleSharingTags, standaloneSharingTags, type SharingTags } from './sharing-tags.js';

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
  /** Parameters by module name (`modules:` of the configuration). Default: none. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Wall-clock milliseconds. Default: `Date.now`. */
  readonly wallTime?: () => number;
  /**
   * Default: a node alone, active for every tag. The clusterer passes its full view (state,
   * callbacks, activation); a plain `isActive` is wrapped.
   */
  readonly sharingTags?: SharingTags;
  /** The cluster's module API (`host.cluster`). Default: null, a standalone node. */
  readonly cluster?: ClusterApi | null;
  /** Where modules keep their files; each gets `<dataDir>/<module>`. Default: `data`. */
  readonly dataDir?: string;
  /** The node's request originator. Default: none (a module that sends gets an error). */
  readonly sip?: SipOriginator;
}

const NO_SIP: SipOriginator = {
  request: () =>
    Promise.reject(new CoreError('TANDEM_ERR_INVALID_STATE', 'no SIP stack to send requests')),
  sendRaw: () => {
    throw new CoreError('TANDEM_ERR_INVALID_STATE', 'no SIP stack to send through');
  },
};

/** The installed modules: `destroy()` tears them down in reverse order. */
export interface InstalledModules {
  /** Module names in the order they were initialised. */
  readonly names: readonly string[];
  /** Every module's script functions by name. */
  readonly scriptFunctions: ReadonlyMap<string, ScriptFunctionEntry>;
  /** The modules' `looseRoute` hooks, in load order. */
  readonly looseRouteHooks: readonly ((ctx: ScriptContext) => void)[];
  destroy(): Promise<void>;
}

/** Register `manifests` into `registries` and run their init hooks. */
export async function installModules(
  manifests: readonly ModuleManifest[],
  registries: ModuleRegistries,
): Promise<InstalledModules> {
  const ordered = orderModules(manifests);
  const params = new Map<string, unknown>();
  for (const m of ordered) {
    params.set(m.name, parseModuleParams(m, registries.params?.[m.name]));
  }
  for (const name of Object.keys(registries.params ?? {})) {
    if (!ordered.some((m) => m.name === name)) {
      throw new CoreError('TANDEM_ERR_CONFIG', `modules.${name}: no such module is loaded`);
    }
  }
  const cells = new Map<string, Map<string, StatCell>>();
  const functions = new Map<string, ScriptFunctionEntry>();
  for (const m of ordered) {
    cells.set(m.name, declare(m, registries));
    for (const [name, impl] of Object.entries(m.script ?? {})) {
      const other = functions.get(name);
      if (other !== undefined) {
        throw new CoreError(
          'TANDEM_ERR_MODULE',
          `script function ${name} is declared by both ${other.module} and ${m.name}`,
        );
      }
      functions.set(name, { module: m.name, impl });
    }
  }
  const apis = new Map<string, unknown>();
  const inited: { m: ModuleManifest; jobs: JobRunner | null }[] = [];
  const destroy = async (): Promise<void> => {
    for (const { m, jobs } of [...inited].reverse()) {
      jobs?.stop();
      try {
        await m.destroy?.();
      } catch (err) {
        registries.loggers.component(m.name, 'module').error({ err }, 'module destroy failed');
      }
    }
    inited.length = 0;
  };
  for (const m of ordered) {
    if (m.init === undefined) {
      // Nothing to run: no host (a host makes the module's logger, listed by MI log_level).
      inited.push({ m, jobs: null });
      continue;
    }
    const logger = registries.loggers.component(m.name, m.name === 'core' ? 'component' : 'module');
    const jobs = new JobRunner(
      m,
      registries.clock ?? systemClock,
      registries.wallTime,
      logger,
      moduleSharingTags(registries.sharingTags ?? standaloneSharingTags),
      params.get(m.name),
    );
    try {
      const h = host(
        m,
        { cells: cells.get(m.name)!, params: params.get(m.name), jobs, apis, logger },
        registries,
      );
      apis.set(m.name, await m.init(h));
    } catch (err) {
      jobs.stop();
      await destroy();
      if (err instanceof CoreError && err.code === 'TANDEM_ERR_CONFIG') {
        throw err; // already names modules.<name>.<field>
      }
      throw new CoreError(
        'TANDEM_ERR_MODULE',
        `${m.name}: init failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    inited.push({ m, jobs });
  }
  const looseRouteHooks = ordered.flatMap((m) =>
    m.looseRoute === undefined ? [] : [m.looseRoute],
  );
  return {
    names: ordered.map((m) => m.name),
    scriptFunctions: functions,
    looseRouteHooks,
    destroy,
  };
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

interface HostParts {
  cells: Map<string, StatCell>;
  params: unknown;
  jobs: JobRunner;
  apis: ReadonlyMap<string, unknown>;
  logger: Logger;
}

function host(m: ModuleManifest, p: HostParts, r: ModuleRegistries): ModuleHost {
  const wallTime = r.wallTime ?? Date.now;
  return {
    name: m.name,
    logger: p.logger,
    params: p.params,
    clock: r.clock ?? systemClock,
    wallTime,
    sharingTags: moduleSharingTags(r.sharingTags ?? standaloneSharingTags),
    cluster: r.cluster ?? null,
    dataDir: join(r.dataDir ?? 'data', m.name),
    sip: r.sip ?? NO_SIP,
    every: (job, intervalMs, run) => {
      p.jobs.start(job, intervalMs, run);
    },
    // The caller names the type it imports from that module's api.ts.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
    api<T>(name: string): T {
      if (!(m.depends ?? []).includes(name)) {
        throw new CoreError(
          'TANDEM_ERR_MODULE',
          `module ${m.name} uses the API of ${name} without listing it in depends`,
        );
      }
      return p.apis.get(name) as T;
    },
    stat(name) {
      const cell = p.cells.get(name);
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
