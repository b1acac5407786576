/**
 * A clock whose `now()` a test sets by hand (`clock.t = ...`) for TTLs and ages, while its
 * timers stay real so network timeouts still fire (the DNS tests).
 */
import { systemClock, type Clock, type TimerHandle } from '../../src/core/clock.js';

export class ManualClock implements Clock {
  constructor(public t: number) {}

  now(): number {
    return this.t;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle;
  setTimer<A>(delayMs: number, fn: (arg: A) => void, arg: A): TimerHandle;
  setTimer(delayMs: number, fn: (arg: unknown) => void, arg?: unknown): TimerHandle {
    return systemClock.setTimer(delayMs, fn, arg);
  }
}
