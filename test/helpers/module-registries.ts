/** The core registries a module installs into, fresh for one test (quiet logger). */
import { EventBus } from '../../src/core/events.js';
import { LogLevels } from '../../src/core/log-levels.js';
import { silentLogger } from '../../src/core/logger.js';
import { Readiness } from '../../src/core/readiness.js';
import { StatsRegistry } from '../../src/core/stats.js';
import { MiRegistry } from '../../src/mi/registry.js';
import type { ModuleRegistries } from '../../src/module/index.js';

export function registries(
  extra: Omit<Partial<ModuleRegistries>, 'commands'> = {},
): ModuleRegistries & { commands: MiRegistry } {
  return {
    commands: new MiRegistry(),
    stats: new StatsRegistry(),
    events: new EventBus(),
    loggers: new LogLevels(silentLogger),
    readiness: new Readiness(),
    ...extra,
  };
}
