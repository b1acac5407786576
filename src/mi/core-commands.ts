/**
 * The core's MI commands, declared through the same manifest type as any module's: `version`,
 * `uptime`, `ps`, `log_level`, the statistics commands, `which`/`help`, `reload_routes`,
 * `shutdown`, and the event commands. Names, parameters and answer shapes follow OpenSIPS 3 so
 * operators' scripts carry over; docs/mi.md shows every answer.
 */
import { arch, platform } from 'node:os';
import type { EventBus } from '../core/events.js';
import { isLogLevel, type LogLevel, type LogLevels } from '../core/log-levels.js';
import { LOG_LEVELS } from '../core/logger.js';
import type { StatEntry, StatsRegistry } from '../core/stats.js';
import { defineModule, type ModuleManifest } from '../module/define-module.js';
import { MI_CODES, MiError } from '../module/mi-error.js';
import type { MiParams } from '../module/mi-params.js';
import type { MiValue } from '../module/mi-types.js';
import type { ProcessProbe } from './process.js';
import type { MiRegistry } from './registry.js';

export interface CoreCommandDeps {
  readonly version: string;
  readonly startedAt: Date;
  readonly stats: StatsRegistry;
  readonly loggers: LogLevels;
  readonly registry: MiRegistry;
  readonly events: EventBus;
  readonly probe: ProcessProbe;
  /** Reload the routing script; rejects (and keeps the old one) when the new one fails. */
  reloadScript(): Promise<void>;
  /** Start the graceful stop, the same path as SIGTERM. */
  shutdown(reason: string): void;
}

const STATISTICS = { name: 'statistics', type: 'string[]' } as const;
const MI_CMD = { name: 'mi_cmd', type: 'string' } as const;

/** The `core` manifest: its commands answer as `uptime` and as `core:uptime`. */
export function coreManifest(deps: CoreCommandDeps): ModuleManifest {
  return defineModule({
    name: 'core',
    description: 'Tandem core: process, logging, statistics, routing script, events',
    mi: [
      {
        name: 'version',
        description: 'prints the version of the running Tandem',
        handler: () => ({
          Server: `Tandem (${deps.version} (${arch()}/${platform()}))`,
          Version: deps.version,
          Node: process.version,
        }),
      },
      {
        name: 'uptime',
        description: 'prints when Tandem started and for how long it runs',
        handler: () => {
          const now = new Date();
          const seconds = Math.floor((now.getTime() - deps.startedAt.getTime()) / 1000);
          return {
            Now: ctime(now),
            'Up since': ctime(deps.startedAt),
            'Up time': `${seconds} [sec]`,
            'Up time seconds': seconds,
          };
        },
      },
      {
        name: 'ps',
        description: 'lists the process with its event loop, memory and handle figures',
        handler: () => ps(deps.probe),
      },
      {
        name: 'log_level',
        description:
          'gets or sets the log level, globally or of one module (component): no params reads ' +
          'all, level sets all, level+module sets one, module=NAME reads one',
        recipes: [
          { params: [] },
          { params: [{ name: 'level', type: 'string' }] },
          {
            params: [
              { name: 'level', type: 'string' },
              { name: 'module', type: 'string' },
            ],
          },
          { params: [{ name: 'module', type: 'string' }], namedOnly: true },
        ],
        handler: (params, ctx) => logLevel(deps.loggers, params, ctx.recipe),
      },
      {
        name: 'get_statistics',
        description: 'prints statistics: names (core:rcv_requests), groups (core:) or all',
        recipes: [{ params: [STATISTICS] }],
        handler: (params) => {
          const out: Record<string, number> = {};
          for (const e of resolve(deps.stats, params.strings('statistics'))) {
            out[e.fullName] = e.read();
          }
          return out;
        },
      },
      {
        name: 'list_statistics',
        description: 'lists statistics and whether each is incremental (resettable)',
        recipes: [{ params: [] }, { params: [STATISTICS] }],
        handler: (params) => {
          const entries = params.has('statistics')
            ? resolve(deps.stats, params.strings('statistics'))
            : deps.stats.entries();
          const out: Record<string, string> = {};
          for (const e of entries) {
            out[e.fullName] = e.resettable ? 'incremental' : 'non-incremental';
          }
          return out;
        },
      },
      {
        name: 'reset_statistics',
        description: 'zeroes counters (gauges such as tm:inuse_transactions are left alone)',
        recipes: [{ params: [STATISTICS] }],
        handler: (params) => {
          for (const e of resolve(deps.stats, params.strings('statistics'))) {
            deps.stats.reset(e);
          }
          return undefined;
        },
      },
      {
        name: 'which',
        description: 'lists the MI commands, or the parameter recipes of one',
        recipes: [{ params: [] }, { params: [MI_CMD] }],
        handler: (params) => {
          if (!params.has('mi_cmd')) {
            return deps.registry.list().map((c) => c.fullName);
          }
          return command(deps.registry, params).recipes.map((r) => r.params.map((p) => p.name));
        },
      },
      {
        name: 'help',
        description: 'prints how to use an MI command',
        recipes: [{ params: [] }, { params: [MI_CMD] }],
        handler: (params) => {
          if (!params.has('mi_cmd')) {
            return "Usage: help mi_cmd - returns information about 'mi_cmd'";
          }
          const cmd = command(deps.registry, params);
          return {
            Help: cmd.description,
            'Exported by': cmd.module,
            Name: cmd.fullName,
            Aliases: [...cmd.aliases],
            Recipes: cmd.recipes.map((r) =>
              r.params.map((p) => ({
                name: p.name,
                type: p.type,
                optional: p.optional === true,
                ...(r.namedOnly === true ? { named_only: true } : {}),
              })),
            ),
          };
        },
      },
      {
        name: 'reload_routes',
        description:
          'reloads the routing script atomically; a script that fails to load leaves the old one',
        handler: async () => {
          try {
            await deps.reloadScript();
          } catch (err) {
            throw new MiError(
              MI_CODES.SERVER_ERROR,
              'Failed to reload routing script',
              (err as Error).message,
            );
          }
          return undefined;
        },
      },
      {
        name: 'shutdown',
        aliases: ['kill'],
        description: 'stops Tandem gracefully (as SIGTERM does), after answering',
        handler: (_params, ctx) => {
          ctx.afterResponse(() => {
            deps.shutdown('mi');
          });
          return undefined;
        },
      },
      {
        name: 'events_list',
        description: 'lists the events the core and the modules raise',
        handler: () => ({
          Events: deps.events.list().map((e, id) => ({
            name: e.name,
            id,
            module: e.owner,
            description: e.description,
            params: [...(e.params ?? [])],
          })),
        }),
      },
      {
        name: 'raise_event',
        description: 'raises an event, with optional parameters (an object)',
        recipes: [
          { params: [{ name: 'event', type: 'string' }] },
          {
            params: [
              { name: 'event', type: 'string' },
              { name: 'params', type: 'object' },
            ],
          },
        ],
        handler: (params) => {
          const name = params.string('event');
          if (!deps.events.has(name)) {
            throw new MiError(MI_CODES.NOT_FOUND, 'Event not found', name);
          }
          const value = params.value('params');
          deps.events.raise(name, (value ?? {}) as Readonly<Record<string, MiValue>>);
          return undefined;
        },
      },
    ],
  });
}

function resolve(stats: StatsRegistry, queries: readonly string[]): StatEntry[] {
  const seen = new Set<StatEntry>();
  for (const q of queries) {
    for (const e of stats.lookup(q)) {
      seen.add(e);
    }
  }
  if (seen.size === 0) {
    throw new MiError(MI_CODES.NOT_FOUND, 'Statistics Not Found');
  }
  return [...seen];
}

function command(registry: MiRegistry, params: MiParams) {
  const name = params.string('mi_cmd');
  const cmd = registry.get(name);
  if (cmd === undefined) {
    throw new MiError(MI_CODES.NOT_FOUND, 'unknown MI command', name);
  }
  return cmd;
}

/** OpenSIPS's numeric levels (L_ALERT -3 … L_DBG 4) mapped onto pino's. */
const OPENSIPS_LEVELS: Readonly<Record<string, LogLevel>> = {
  '-3': 'fatal',
  '-2': 'fatal',
  '-1': 'error',
  '1': 'warn',
  '2': 'info',
  '3': 'info',
  '4': 'debug',
};

function logLevel(loggers: LogLevels, params: MiParams, recipe: number): MiValue {
  const all = (): MiValue => ({ Global: loggers.get(), Modules: loggers.all() });
  const moduleName = params.optionalString('module');
  if (moduleName !== undefined && !loggers.has(moduleName)) {
    throw MiError.invalidParams(
      `module: unknown module "${moduleName}" (known: ${loggers.names().join(', ')})`,
    );
  }
  const text = params.optionalString('level');
  let level: LogLevel | undefined;
  if (text !== undefined) {
    level = isLogLevel(text) ? text : OPENSIPS_LEVELS[text.trim()];
    if (level === undefined) {
      throw MiError.invalidParams(
        `level: unknown level "${text}" (expected one of ${LOG_LEVELS.join(', ')}, ` +
          `or an OpenSIPS level from -3 to 4; to read one module use module=NAME)`,
      );
    }
  }
  switch (recipe) {
    case 1:
      loggers.setAll(level!);
      return all();
    case 2:
      loggers.set(moduleName!, level!);
      return { Module: moduleName!, 'Log level': loggers.get(moduleName) };
    case 3:
      return { Module: moduleName!, 'Log level': loggers.get(moduleName) };
    default:
      return all();
  }
}

function ps(probe: ProcessProbe): MiValue {
  const mem = process.memoryUsage();
  return {
    Processes: [{ ID: 0, PID: process.pid, Type: 'main (SIP, timers, MI)' }],
    'Event loop': { ...probe.loop() },
    Memory: {
      rss: mem.rss,
      heap_total: mem.heapTotal,
      heap_used: mem.heapUsed,
      external: mem.external,
      array_buffers: mem.arrayBuffers,
    },
    Handles: process.getActiveResourcesInfo().length,
    'Uptime seconds': Math.floor(process.uptime()),
    Node: process.version,
  };
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** C's ctime() without its newline, local time: `Thu Nov 24 18:22:56 2016`. */
export function ctime(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  const day = String(d.getDate()).padStart(2, ' ');
  return `${DAYS[d.getDay()]!} ${MONTHS[d.getMonth()]!} ${day} ${time} ${d.getFullYear()}`;
}
