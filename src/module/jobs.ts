/**
 * A module's periodic jobs (expiry, keepalive pings, probing), run on the core's clock so tests
 * drive them with a fake one. A run that throws is logged and counted, never fatal; a run that
 * is still going (an async ping round) when the next is due makes that tick skip. A job whose
 * manifest entry names a sharing tag (`shtag: { tag }`) is armed only while that tag is active
 * here: armed on activation (first run one interval later), disarmed on step-down.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { CoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { JobRun, ModuleManifest } from './define-module.js';
import type { ModuleSharingTags, SharingTagChange } from './sharing-tags.js';

interface Job {
  readonly name: string;
  readonly intervalMs: number;
  readonly run: (r: JobRun) => void | Promise<void>;
  timer: TimerHandle | null;
  running: boolean;
  /** The sharing tag that must be active here for the job to run, or null. */
  readonly gate: string | null;
}

export class JobRunner {
  private readonly jobs: Job[] = [];
  private stopped = false;
  /** Runs that threw or rejected, and ticks skipped because the previous run was still going. */
  readonly stats = { errors: 0, skipped: 0 };
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly manifest: ModuleManifest,
    private readonly clock: Clock,
    private readonly wallTime: () => number = Date.now,
    private readonly logger: Logger,
    /** Needed for jobs gated by a tag; without it such a job runs as on a standalone node. */
    private readonly tags?: ModuleSharingTags,
    /** The module's parameters, for a gate computed from them. */
    private readonly params?: unknown,
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
    const job: Job = { name, intervalMs, run, timer: null, running: false, gate: this.gate(name) };
    this.jobs.push(job);
    if (job.gate !== null && this.tags !== undefined) {
      this.unsubscribe ??= this.tags.onChange((c) => {
        this.tagChanged(c);
      });
      if (!this.tags.isActive(job.gate)) {
        return;
      }
    }
    this.arm(job);
  }

  /** Jobs armed right now (a gated job on a backup node is not). */
  armed(): string[] {
    return this.jobs.filter((j) => j.timer !== null).map((j) => j.name);
  }

  private gate(name: string): string | null {
    const shtag = this.manifest.jobs?.[name]?.shtag;
    if (typeof shtag !== 'object') {
      return null;
    }
    return typeof shtag.tag === 'string' ? shtag.tag : shtag.tag(this.params);
  }

  private tagChanged(c: SharingTagChange): void {
    if (this.stopped) {
      return;
    }
    for (const job of this.jobs) {
      if (job.gate !== c.tag) {
        continue;
      }
      if (c.state === 'active' && job.timer === null) {
        this.logger.debug({ job: job.name, tag: c.tag }, 'tag active here: job started');
        this.arm(job);
      } else if (c.state === 'backup' && job.timer !== null) {
        this.logger.debug({ job: job.name, tag: c.tag }, 'tag backup here: job stopped');
        job.timer.cancel();
        job.timer = null;
      }
    }
  }

  /** Stop every job (module destroy). */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
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
