/**
 * Time as the stack sees it. Every layer that arms timers (transactions, connection idle
 * timeouts, the DNS cache) takes a {@link Clock} instead of calling `setTimeout` directly, so
 * tests drive time with a fake clock and production can swap in the timer wheel
 * (src/core/timer-wheel.ts) for the many long timers.
 */

/** A scheduled callback; `cancel()` is idempotent and safe after the callback ran. */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale (not wall time): only differences mean anything. */
  now(): number;
  /** Run `fn` once after `delayMs` milliseconds (0 or more). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

/**
 * The plain Node clock: `performance.now()` and unref'd `setTimeout`, so a pending SIP timer
 * never keeps a stopping process alive on its own.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(delayMs, fn) {
    const t = setTimeout(fn, delayMs);
    t.unref();
    return {
      cancel: () => {
        clearTimeout(t);
      },
    };
  },
};
