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

/** The least a clock offers: what the timer wheel needs of the clock that drives it. */
export interface BaseClock {
  /** Milliseconds on a monotonic scale (not wall time): only differences mean anything. */
  now(): number;
  /** Run `fn` once after `delayMs` milliseconds (0 or more). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

export interface Clock extends BaseClock {
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  /**
   * Run `fn(arg)` once after `delayMs` milliseconds. One module-level `fn` then serves every
   * owner: an object that lingers with a timer armed (a transaction absorbing retransmissions
   * for 32 s) needs no closure of its own, which at thousands of calls a second is heap the
   * garbage collector keeps marking.
   */
  setTimer<A>(delayMs: number, fn: (arg: A) => void, arg: A): TimerHandle;
}

/**
 * The plain Node clock: `performance.now()` and unref'd `setTimeout`, so a pending SIP timer
 * never keeps a stopping process alive on its own.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(delayMs: number, fn: (arg: unknown) => void, arg?: unknown): TimerHandle {
    const t = setTimeout(fn, delayMs, arg);
    t.unref();
    return {
      cancel: () => {
        clearTimeout(t);
      },
    };
  },
};
