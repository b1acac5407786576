/**
 * A module's periodic jobs (expiry, keepalive pings, probing), run on the core's clock so tests
 * drive them with a fake one. A run that throws is logged and counted, never fatal; a run that
 * is still going (an async ping round) when the next is due makes that tick skip.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { CoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { JobRun, ModuleManifest } from './define-module.js';

interface Job {
  readonly name: string;
  readonly intervalMs: number;
  readonly run: (r: JobRun) => void | Promise<void>;
  timer: TimerHandle | null;
  running: boolean;
}

export class JobRunner {
  private readonly jobs: Job[] = [];
  private stopped = false;
  /** Runs that threw or rejected, and ticks skipped because the previous run was still going. */
  readonly stats = { errors: 0, skipped: 0 };

  constructor(
    private readonly manifest: ModuleManifest,
    private readonly clock: Clock,
    private readonly wallTime: () => number = Date.now,
    private readonly logger: Logger,
  ) {}

  /** Start the declared job `name`: first run after one interval. */
  start(name: string, intervalMs: number, run: (r: JobRun) => void | Promise<void>): void {
    if (this.manifest.jobs?.[name] === undefined) {
      throw new CoreError(
        'TANDEM_ERR_MODULE',
        `module ${this.manifest.name} starts job ${name}, which its manifest does not declare`,
      );
    }
    if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) {
      throw new CoreError(
        'TANDEM_ERR_INVALID_ARGUMENT',
        `module ${this.manifest.name}: job ${name} needs a positive interval`,
      );
    }
    if (this.stopped) {
      return;
    }
    const job: Job = { name, intervalMs, run, timer: null, running: false };
    this.jobs.push(job);
    this.arm(job);
  }

  /** Stop every job (module destroy). */
  stop(): void {
    this.stopped = true;
    for (const job of this.jobs) {
      job.timer?.cancel();
      job.timer = null;
    }
  }

  private arm(job: Job): void {
    job.timer = this.clock.setTimer(job.intervalMs, tick, { runner: this, job });
  }

  /** @internal */
  fire(job: Job): void {
    if (this.stopped) {
      return;
    }
    this.arm(job);
    if (job.running) {
      this.stats.skipped++;
      return;
    }
    job.running = true;
    let result: void | Promise<void>;
    try {
      result = job.run({ now: this.wallTime() });
    } catch (err) {
      job.running = false;
      this.failed(job, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => {
          job.running = false;
        },
        (err: unknown) => {
          job.running = false;
          this.failed(job, err);
        },
      );
    } else {
      job.running = false;
    }
  }

  private failed(job: Job, err: unknown): void {
    this.stats.errors++;
    this.logger.error({ err, job: job.name }, 'module job failed');
  }
}

function tick(a: { runner: JobRunner; job: Job }): void {
  a.runner.fire(a.job);
}
