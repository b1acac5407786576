/**
 * Webhooks: events POSTed as JSON (`{event, time, params}`) to the URLs in `events.webhooks`.
 * Each webhook has a bounded queue and sends one event at a time with a timeout; nothing is
 * retried, so a dead receiver costs one timeout per event and never a storm. An event that
 * finds the queue full is dropped and counted; failures are counted and logged at warn, at most
 * once per webhook every few seconds with the number left unsaid.
 */
import { CoreError } from '../core/errors.js';
import type { EventBus, RaisedEvent } from '../core/events.js';
import type { Logger } from '../core/logger.js';

export interface WebhookConfig {
  readonly url: string;
  /** Event names, or `'*'` for every event. */
  readonly events: '*' | readonly string[];
  /** Seconds to wait for the receiver's answer. */
  readonly timeout: number;
  /** Events waiting to be sent beyond the one in flight. */
  readonly queue_size: number;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

export interface WebhookStats {
  sent: number;
  failed: number;
  dropped: number;
}

/** How often a failing webhook may log a warning. */
const WARN_INTERVAL_MS = 10_000;

export class WebhookDispatcher {
  readonly stats: WebhookStats = { sent: 0, failed: 0, dropped: 0 };
  private readonly hooks: Hook[];
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly bus: EventBus,
    configs: readonly WebhookConfig[],
    private readonly logger: Logger,
    fetchImpl: typeof fetch = fetch,
  ) {
    this.hooks = configs.map((c, i) => new Hook(c, i, this.stats, logger, fetchImpl));
  }

  /** Subscribe every webhook to its events. An unknown event name is a config error. */
  start(): void {
    for (const hook of this.hooks) {
      const names = hook.config.events === '*' ? ['*'] : hook.config.events;
      for (const name of names) {
        if (name !== '*' && !this.bus.has(name)) {
          void this.stop();
          throw new CoreError(
            'TANDEM_ERR_CONFIG',
            `events.webhooks[${hook.index}].events: unknown event ${name}`,
          );
        }
        this.unsubscribe.push(
          this.bus.subscribe(name, (e) => {
            hook.push(e);
          }),
        );
      }
    }
    if (this.hooks.length > 0) {
      this.logger.info({ webhooks: this.hooks.length }, 'event webhooks ready');
    }
  }

  /** Stop taking events; give queued ones up to `flushMs` to go out, then abandon the rest. */
  async stop(flushMs = 0): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) {
      off();
    }
    await Promise.all(this.hooks.map((h) => h.flush(flushMs)));
  }
}

class Hook {
  private readonly queue: RaisedEvent[] = [];
  private sending = false;
  private abort = new AbortController();
  private lastWarn = -Infinity;
  private unsaid = 0;
  private drained: (() => void) | null = null;
  /** The URL as logged: no credentials, no query (either may hold a secret). */
  private readonly shownUrl: string;

  constructor(
    readonly config: WebhookConfig,
    readonly index: number,
    private readonly stats: WebhookStats,
    private readonly logger: Logger,
    private readonly fetchImpl: typeof fetch,
  ) {
    const u = new URL(config.url);
    this.shownUrl = `${u.origin}${u.pathname}`;
  }

  push(event: RaisedEvent): void {
    if (this.queue.length >= this.config.queue_size) {
      this.stats.dropped++;
      this.warn({ event: event.event }, 'webhook queue full: event dropped');
      return;
    }
    this.queue.push(event);
    if (!this.sending) {
      void this.pump();
    }
  }

  async flush(ms: number): Promise<void> {
    const done = this.sending
      ? new Promise<void>((resolve) => {
          this.drained = resolve;
        })
      : Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([done, late]);
    clearTimeout(timer);
    this.stats.dropped += this.queue.length;
    this.queue.length = 0;
    // The send in flight, if any, fails at once when aborted; wait for it to be counted.
    this.abort.abort();
    await done;
    this.abort = new AbortController();
  }

  private async pump(): Promise<void> {
    this.sending = true;
    for (let e = this.queue.shift(); e !== undefined; e = this.queue.shift()) {
      await this.send(e);
    }
    this.sending = false;
    this.drained?.();
    this.drained = null;
  }

  private async send(event: RaisedEvent): Promise<void> {
    const signal = AbortSignal.any([
      this.abort.signal,
      AbortSignal.timeout(this.config.timeout * 1000),
    ]);
    try {
      const res = await this.fetchImpl(this.config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.config.headers },
        body: JSON.stringify(event),
        signal,
      });
      // Read the answer so the connection can be reused; its content does not matter.
      await res.arrayBuffer();
      if (res.ok) {
        this.stats.sent++;
        return;
      }
      this.stats.failed++;
      this.warn({ event: event.event, status: res.status }, 'webhook answered with an error');
    } catch (err) {
      this.stats.failed++;
      this.warn({ event: event.event, err: (err as Error).message }, 'webhook delivery failed');
    }
  }

  private warn(fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.lastWarn < WARN_INTERVAL_MS) {
      this.unsaid++;
      return;
    }
    this.logger.warn({ url: this.shownUrl, ...fields, suppressed: this.unsaid }, msg);
    this.lastWarn = now;
    this.unsaid = 0;
  }
}
