/**
 * Process figures for MI `ps`, the `shmem:` and `process:` statistics: memory from V8 and
 * `process.memoryUsage()`, event-loop delay from `monitorEventLoopDelay` and utilisation from
 * `performance.eventLoopUtilization()`, both over windows of a few seconds.
 *
 * OpenSIPS's `shmem:` group describes its shared-memory pool; Tandem maps it onto the V8 heap,
 * the nearest thing a Node process has to one pool every part allocates from:
 *
 * | OpenSIPS               | Tandem (bytes)                                                       |
 * | ---------------------- | -------------------------------------------------------------------- |
 * | `shmem:total_size`     | V8 `heap_size_limit`: the most the heap may grow to                  |
 * | `shmem:used_size`      | V8 `used_heap_size`: live objects and garbage not yet collected      |
 * | `shmem:real_used_size` | V8 `total_heap_size`: what the heap holds from the OS, incl. free    |
 * | `shmem:max_used_size`  | the largest `real_used_size` seen at a read or a window's end        |
 * | `shmem:free_size`      | `total_size - real_used_size`                                        |
 * | `shmem:fragments`      | not given: V8 has no free-fragment count                             |
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/** The event loop over the last complete window (or since start, before the first ends). */
export interface LoopFigures {
  /** Fraction of the window the loop was busy, 0 to 1. */
  readonly utilization: number;
  readonly lag_mean_ms: number;
  readonly lag_p99_ms: number;
  readonly lag_max_ms: number;
  /** Seconds the figures cover. */
  readonly window_s: number;
}

export interface ShmemFigures {
  readonly total_size: number;
  readonly used_size: number;
  readonly real_used_size: number;
  readonly max_used_size: number;
  readonly free_size: number;
}

const NS_PER_MS = 1e6;
/** Sampling interval of the delay monitor (ms). */
const RESOLUTION_MS = 10;

export class ProcessProbe {
  private readonly delay: IntervalHistogram;
  private elu = performance.eventLoopUtilization();
  private windowStart = performance.now();
  private last: LoopFigures | null = null;
  private maxUsed = 0;
  private timer: NodeJS.Timeout | null = null;

  /** `windowMs`: how long each window lasts (default 5 s). */
  constructor(private readonly windowMs = 5000) {
    this.delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  }

  start(): void {
    if (this.timer !== null) {
      return;
    }
    this.delay.enable();
    this.elu = performance.eventLoopUtilization();
    this.windowStart = performance.now();
    this.timer = setInterval(() => {
      this.last = this.current();
      this.delay.reset();
      this.elu = performance.eventLoopUtilization();
      this.windowStart = performance.now();
      this.shmem();
    }, this.windowMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    this.delay.disable();
  }

  /** The last complete window, or the one in progress when none has completed yet. */
  loop(): LoopFigures {
    return this.last ?? this.current();
  }

  shmem(): ShmemFigures {
    const heap = getHeapStatistics();
    this.maxUsed = Math.max(this.maxUsed, heap.total_heap_size);
    return {
      total_size: heap.heap_size_limit,
      used_size: heap.used_heap_size,
      real_used_size: heap.total_heap_size,
      max_used_size: this.maxUsed,
      free_size: Math.max(0, heap.heap_size_limit - heap.total_heap_size),
    };
  }

  private current(): LoopFigures {
    const d = this.delay;
    // The histogram is empty until the loop has turned a few times at the resolution.
    const count = d.count;
    return {
      utilization: round(performance.eventLoopUtilization(this.elu).utilization, 4),
      lag_mean_ms: count > 0 ? lag(d.mean) : 0,
      lag_p99_ms: count > 0 ? lag(d.percentile(99)) : 0,
      lag_max_ms: count > 0 ? lag(d.max) : 0,
      window_s: round((performance.now() - this.windowStart) / 1000, 3),
    };
  }
}

/**
 * The monitor records the time between its timer's runs, the interval included: the lag is what
 * exceeds the interval.
 */
function lag(ns: number): number {
  return round(Math.max(0, ns / NS_PER_MS - RESOLUTION_MS), 3);
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
