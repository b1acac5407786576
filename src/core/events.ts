/**
 * The event bus (OpenSIPS's Event Interface, `E_*` events): the core and modules declare the
 * events they raise; subscribers (the routing script's `events` section, webhooks, modules) are
 * told synchronously, in subscription order. A subscriber that throws or rejects is caught,
 * counted and logged: raising an event never fails the code that raised it.
 */
import { CoreError } from './errors.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';

/** Parameters of an event: a JSON-serialisable object (webhooks POST it as is). */
export type EventParams = Readonly<Record<string, unknown>>;

/** What an event is and which parameters it carries (for `events_list` and the docs). */
export interface EventDefinition {
  readonly description: string;
  /** Parameter names, documented; not enforced at raise time. */
  readonly params?: readonly string[];
}

/** A declared event. */
export interface DeclaredEvent extends EventDefinition {
  readonly name: string;
  /** The module that declared it (`core` for the core's own). */
  readonly owner: string;
}

/** One occurrence of an event, as subscribers and webhooks see it. */
export interface RaisedEvent {
  readonly event: string;
  /** When it was raised, ISO 8601 in UTC. */
  readonly time: string;
  readonly params: EventParams;
}

export type EventSubscriber = (event: RaisedEvent) => unknown;

/** Core events. Names follow OpenSIPS (`E_CORE_*`), parameters are listed in docs/mi.md. */
export const CORE_EVENTS = {
  E_CORE_STARTED: {
    description: 'Tandem has started: listeners bound, routing script loaded, MI up',
    params: ['version', 'listen'],
  },
  E_CORE_SHUTDOWN: {
    description: 'Tandem is stopping (SIGTERM/SIGINT or the MI shutdown command)',
    params: ['reason'],
  },
  E_CORE_SCRIPT_RELOADED: {
    description: 'A reload of the routing script finished, successfully or not',
    params: ['file', 'success', 'error'],
  },
} as const satisfies Record<string, EventDefinition>;

/** Event names are upper-case words joined by underscores, starting with `E_`. */
const EVENT_NAME = /^E_[A-Z0-9_]+$/;

export class EventBus {
  private readonly declared = new Map<string, DeclaredEvent>();
  private readonly subscribers = new Map<string, EventSubscriber[]>();
  private readonly everything: EventSubscriber[] = [];
  /** Events raised, subscriber failures: read by the stats registry. */
  readonly stats = { raised: 0, subscriber_errors: 0 };
  private readonly logger: Logger;

  constructor(logger: Logger = silentLogger) {
    this.logger = logger;
  }

  /** Declare an event; a second declaration of the same name is a programmer error. */
  declare(name: string, definition: EventDefinition, owner: string): void {
    if (!EVENT_NAME.test(name)) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `event names are E_[A-Z0-9_]+: ${name}`);
    }
    const existing = this.declared.get(name);
    if (existing !== undefined) {
      throw new CoreError(
        'TANDEM_ERR_INVALID_ARGUMENT',
        `event ${name} is already declared by ${existing.owner}`,
      );
    }
    this.declared.set(name, { name, owner, ...definition });
  }

  has(name: string): boolean {
    return this.declared.has(name);
  }

  /** Every declared event, in declaration order. */
  list(): readonly DeclaredEvent[] {
    return [...this.declared.values()];
  }

  /**
   * Be told of `name` (a declared event) or of every event (`'*'`). Returns the function that
   * unsubscribes.
   */
  subscribe(name: string, subscriber: EventSubscriber): () => void {
    let list: EventSubscriber[];
    if (name === '*') {
      list = this.everything;
    } else {
      if (!this.declared.has(name)) {
        throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `unknown event ${name}`);
      }
      list = this.subscribers.get(name) ?? [];
      this.subscribers.set(name, list);
    }
    list.push(subscriber);
    return () => {
      const i = list.indexOf(subscriber);
      if (i >= 0) {
        list.splice(i, 1);
      }
    };
  }

  /** True when someone listens to `name`: raisers may skip building params otherwise. */
  hasSubscribers(name: string): boolean {
    return this.everything.length > 0 || (this.subscribers.get(name)?.length ?? 0) > 0;
  }

  /** Raise a declared event. Raising an undeclared one is a programmer error. */
  raise(name: string, params: EventParams = {}): void {
    if (!this.declared.has(name)) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `raise of undeclared event ${name}`);
    }
    this.stats.raised++;
    const own = this.subscribers.get(name);
    if (own === undefined && this.everything.length === 0) {
      return;
    }
    const event: RaisedEvent = { event: name, time: new Date().toISOString(), params };
    // Copies: a subscriber may unsubscribe (itself or another) while being told.
    for (const subscriber of [...(own ?? []), ...this.everything]) {
      this.deliver(subscriber, event);
    }
  }

  private deliver(subscriber: EventSubscriber, event: RaisedEvent): void {
    try {
      const out = subscriber(event);
      if (out instanceof Promise) {
        out.catch((err: unknown) => {
          this.failed(event, err);
        });
      }
    } catch (err) {
      this.failed(event, err);
    }
  }

  private failed(event: RaisedEvent, err: unknown): void {
    this.stats.subscriber_errors++;
    this.logger.warn({ err, event: event.event }, 'event subscriber failed');
  }
}
