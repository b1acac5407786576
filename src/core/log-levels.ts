/**
 * The registry of component loggers behind MI `log_level`: one pino child per layer or module
 * (`transport`, `tm`, `proxy`, `script`, `timers`, `resolver`, `dns`, `mi`, later each module),
 * each with its own settable level, like OpenSIPS's per-process `log_level`.
 *
 * pino children are created with `Object.create(parent)`: a child that never had its own level
 * follows its parent's, one that had it set keeps its own. Setting a component's level therefore
 * reaches every logger made from it later and earlier (a script's per-request child) unless that
 * one was set itself, which nothing in Tandem does.
 */
import { CoreError } from './errors.js';
import { LOG_LEVELS, type Logger } from './logger.js';
import type { LevelWithSilent } from 'pino';

export type LogLevel = LevelWithSilent;

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

export class LogLevels {
  private readonly components = new Map<string, Logger>();

  constructor(readonly root: Logger) {}

  /** The child logger of `name`, made with `{ [binding]: name }` on first use. */
  component(name: string, binding: 'component' | 'module' = 'component'): Logger {
    let logger = this.components.get(name);
    if (logger === undefined) {
      logger = this.root.child({ [binding]: name });
      this.components.set(name, logger);
    }
    return logger;
  }

  /**
   * A logger to hand to code that makes its own `{ component }` children (the resolver and its
   * DNS client): each child it makes is registered under its `component` binding when made.
   */
  adopting(): Logger {
    const parent = this.root.child({});
    parent.onChild = (child) => {
      const name: unknown = child.bindings()['component'];
      if (typeof name === 'string' && !this.components.has(name)) {
        this.components.set(name, child);
      }
      // Children inherit onChild; loggers the adopted one makes later are not components.
      child.onChild = ignoreChild;
    };
    return parent;
  }

  /** Component names, sorted. */
  names(): string[] {
    return [...this.components.keys()].sort();
  }

  has(name: string): boolean {
    return this.components.has(name);
  }

  /** The level of one component, or the global one (the root logger's). */
  get(name?: string): LogLevel {
    const logger = name === undefined ? this.root : this.components.get(name);
    if (logger === undefined) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `no logger for component ${name ?? ''}`);
    }
    return logger.level as LogLevel;
  }

  /** Every component's level. */
  all(): Record<string, LogLevel> {
    const out: Record<string, LogLevel> = {};
    for (const name of this.names()) {
      out[name] = this.get(name);
    }
    return out;
  }

  /** Set one component's level. */
  set(name: string, level: LogLevel): void {
    const logger = this.components.get(name);
    if (logger === undefined) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `no logger for component ${name}`);
    }
    logger.level = level;
  }

  /** Set the global level and every component's. */
  setAll(level: LogLevel): void {
    this.root.level = level;
    for (const logger of this.components.values()) {
      logger.level = level;
    }
  }
}

function ignoreChild(): void {
  // Nothing to register.
}
