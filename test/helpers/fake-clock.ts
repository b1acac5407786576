/**
 * A {@link Clock} whose time moves only when a test says so. Shared by every layer's tests;
 * the API below is stable:
 *
 * - `new FakeClock(start = 0)`: time starts at `start` ms.
 * - `now()`: the current fake time.
 * - `setTimer(delayMs, fn[, arg])`: arm a timer due at `now() + delayMs` that calls `fn(arg)`; the handle's `cancel()` is
 *   idempotent and safe after firing. A negative or non-finite delay throws a RangeError.
 * - `advance(ms)`: move time forward by `ms`, firing every timer due on the way in time order
 *   (ties in arming order). While a callback runs, `now()` is that timer's due time; timers
 *   armed by callbacks fire in the same call if they fall due before its end. An exception
 *   from a callback propagates out of `advance` (time stays at that timer's due time; the
 *   timer is already removed), so a test sees bugs instead of losing them.
 * - `pending()`: timers armed and neither fired nor cancelled.
 * - `nextDue()`: the due time of the earliest pending timer, or null.
 * - `runAll(limitMs)`: advance until no timer is pending, at most `limitMs`; returns the time
 *   advanced.
 */
import type { Clock, TimerHandle } from '../../src/core/clock.js';

class FakeTimer implements TimerHandle {
  live = true;

  constructor(
    readonly clock: FakeClock,
    readonly due: number,
    readonly seq: number,
    readonly fn: (arg: unknown) => void,
    readonly arg: unknown,
  ) {}

  cancel(): void {
    if (this.live) {
      this.live = false;
      this.clock.cancelled();
    }
  }
}

function before(a: FakeTimer, b: FakeTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private live = 0;
  /** Binary min-heap by (due, seq); cancelled timers stay until they reach the top. */
  private readonly heap: FakeTimer[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle;
  setTimer<A>(delayMs: number, fn: (arg: A) => void, arg: A): TimerHandle;
  setTimer(delayMs: number, fn: (arg: unknown) => void, arg?: unknown): TimerHandle {
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) {
      throw new RangeError(`FakeClock: bad delay ${delayMs}`);
    }
    const timer = new FakeTimer(this, this.time + delayMs, this.seq++, fn, arg);
    this.push(timer);
    this.live++;
    return timer;
  }

  pending(): number {
    return this.live;
  }

  nextDue(): number | null {
    this.dropCancelled();
    return this.heap[0]?.due ?? null;
  }

  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(`FakeClock: bad advance ${ms}`);
    }
    const end = this.time + ms;
    for (;;) {
      this.dropCancelled();
      const top = this.heap[0];
      if (top === undefined || top.due > end) {
        break;
      }
      this.pop();
      top.live = false;
      this.live--;
      this.time = top.due;
      top.fn(top.arg);
    }
    this.time = end;
  }

  runAll(limitMs = 24 * 3600 * 1000): number {
    const start = this.time;
    for (let next = this.nextDue(); next !== null; next = this.nextDue()) {
      if (next - start > limitMs) {
        this.advance(start + limitMs - this.time);
        break;
      }
      this.advance(next - this.time);
    }
    return this.time - start;
  }

  /** @internal A handle was cancelled. */
  cancelled(): void {
    this.live--;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && !this.heap[0]!.live) {
      this.pop();
    }
  }

  private push(t: FakeTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) {
        break;
      }
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) {
      return;
    }
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) {
        m = l;
      }
      if (r < h.length && before(h[r]!, h[m]!)) {
        m = r;
      }
      if (m === i) {
        return;
      }
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
