/**
 * A hashed timing wheel (Varghese & Lauck, 1987) implementing {@link Clock}.
 *
 * Why not `setTimeout` per timer: on Node 20 one armed `setTimeout` costs about 560 ns and 240
 * bytes of heap (a `Timeout` object plus its place in a per-duration list), and a proxy holds
 * four or more timers per transaction (A/B, E/F, G/H, D/I/J/K, the 100 Trying delay) and many
 * long ones: Timers B and F run 32 s, the proxy's Timer C 3 minutes, dialog and registration
 * timeouts hours. Almost all of them are cancelled before they fire. Here a timer is one small
 * object linked into a slot list: arming is an append, cancelling an unlink, both O(1), and the
 * whole wheel is driven by ONE underlying timer of the base clock.
 *
 * Layout: `slots` lists (a power of two), one per tick of `tickMs`. A timer due at tick `d` sits
 * in slot `d & mask` and keeps its absolute due tick; a timer more than one rotation away stays
 * in its slot across rotations and is skipped until its tick comes round (the "rounds" scheme,
 * with the absolute tick instead of a counter, so slots can be skipped without bookkeeping).
 *
 * Driving: the base timer is armed only while the wheel holds timers, for the next tick whose
 * slot is not empty, so an idle proxy never wakes up and a wheel holding only long timers wakes
 * at most once per rotation. The default base is {@link systemClock}, whose timers are unref'd:
 * a pending SIP timer never keeps a stopping process alive. Tests pass a fake base clock.
 */
import type { BaseClock, Clock, TimerHandle } from './clock.js';
import { systemClock } from './clock.js';
import { CoreError } from './errors.js';
import type { Logger } from './logger.js';

export interface TimerWheelOptions {
  /** Resolution in ms (default 10): timers fire on the first tick at or after their due time. */
  tickMs?: number;
  /** Slots per rotation, a power of two (default 512: 5.12 s at 10 ms). */
  slots?: number;
  /** The clock that drives the wheel (default {@link systemClock}). */
  base?: BaseClock;
  /** Where a throwing callback is reported (at error level); nothing is logged without one. */
  logger?: Logger;
}

/** Where a timer is in its life: linked into a slot waiting for its tick, */
const PENDING = 0;
/** unlinked and queued to fire in the current pass, */
const DUE = 1;
/** or fired or cancelled. */
const DONE = 2;

const noop = (): void => undefined;

/** One timer: a node of its slot's doubly linked list, and the handle given to the caller. */
class TimerNode implements TimerHandle {
  prev: TimerNode | null = null;
  next: TimerNode | null = null;
  state = PENDING;

  constructor(
    readonly wheel: TimerWheel | null,
    public due: number,
    public fn: (arg: unknown) => void,
    public arg: unknown,
  ) {}

  cancel(): void {
    // Idempotent and safe after firing: only a live timer is touched.
    if (this.state !== DONE) {
      this.wheel!.remove(this);
    }
  }
}

/** A slot list head: a sentinel node whose prev/next close the circle. */
function sentinel(): TimerNode {
  const s = new TimerNode(null, -1, noop, undefined);
  s.prev = s;
  s.next = s;
  return s;
}

export class TimerWheel implements Clock {
  readonly tickMs: number;
  readonly slotCount: number;
  private readonly mask: number;
  private readonly slots: TimerNode[];
  private readonly base: BaseClock;
  private readonly logger: Logger | undefined;
  /** Base-clock time of tick 0. */
  private readonly origin: number;
  /** Last tick processed: every timer due at or before it has fired. */
  private cursor: number;
  /** Timers armed and neither fired nor cancelled. */
  private count = 0;
  /** The underlying timer and the tick it is armed for, or null while idle. */
  private baseTimer: TimerHandle | null = null;
  private armedTick = 0;
  /** Timers unlinked and queued to fire in the current pass (reused, so no allocation). */
  private readonly due: TimerNode[] = [];
  /** True while `run` fires timers: it arms the base timer itself when done. */
  private running = false;
  private readonly onBaseTimer = (): void => {
    this.baseTimer = null;
    this.run();
  };

  constructor(options: TimerWheelOptions = {}) {
    const tickMs = options.tickMs ?? 10;
    const slots = options.slots ?? 512;
    if (!Number.isFinite(tickMs) || tickMs <= 0) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `timer wheel tickMs ${tickMs}`);
    }
    if (!Number.isInteger(slots) || slots < 2 || slots > 1 << 20 || (slots & (slots - 1)) !== 0) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `timer wheel slots ${slots}`);
    }
    this.tickMs = tickMs;
    this.slotCount = slots;
    this.mask = slots - 1;
    this.slots = Array.from({ length: slots }, sentinel);
    this.base = options.base ?? systemClock;
    this.logger = options.logger;
    this.origin = this.base.now();
    this.cursor = 0;
  }

  now(): number {
    return this.base.now();
  }

  /** Timers armed and not yet fired or cancelled. */
  pending(): number {
    return this.count;
  }

  /** True while the underlying base-clock timer is armed (only while timers are pending). */
  isArmed(): boolean {
    return this.baseTimer !== null;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle;
  setTimer<A>(delayMs: number, fn: (arg: A) => void, arg: A): TimerHandle;
  setTimer(delayMs: number, fn: (arg: unknown) => void, arg?: unknown): TimerHandle {
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `timer delay ${delayMs}`);
    }
    const now = this.base.now();
    if (this.count === 0) {
      // Idle until now: the ticks that passed hold nothing, so processing starts here.
      this.cursor = Math.max(this.cursor, this.tickAt(now));
    }
    // Rounded up, so a timer never fires before its delay; never into a tick already processed.
    let due = Math.ceil((now - this.origin + delayMs) / this.tickMs);
    if (due <= this.cursor) {
      due = this.cursor + 1;
    }
    const node = new TimerNode(this, due, fn, arg);
    const head = this.slots[due & this.mask]!;
    const tail = head.prev!;
    node.prev = tail;
    node.next = head;
    tail.next = node;
    head.prev = node;
    this.count++;
    if (!this.running && (this.baseTimer === null || due < this.armedTick)) {
      this.arm(due);
    }
    return node;
  }

  /** Unlink a live timer (called through its handle). */
  remove(node: TimerNode): void {
    if (node.state === PENDING) {
      node.prev!.next = node.next;
      node.next!.prev = node.prev;
      node.prev = null;
      node.next = null;
    }
    node.state = DONE;
    node.fn = noop;
    node.arg = undefined;
    this.count--;
    if (this.count === 0 && this.baseTimer !== null) {
      this.baseTimer.cancel();
      this.baseTimer = null;
    }
  }

  /**
   * Cancel every pending timer and disarm the base timer (shutdown). The wheel stays usable:
   * timers armed afterwards run as usual.
   */
  stop(): void {
    for (const head of this.slots) {
      let node = head.next!;
      while (node !== head) {
        const next = node.next!;
        node.prev = null;
        node.next = null;
        node.state = DONE;
        node.fn = noop;
        node.arg = undefined;
        node = next;
      }
      head.prev = head;
      head.next = head;
    }
    // Called from a callback: the rest of the current pass must not fire.
    for (const node of this.due) {
      node.state = DONE;
      node.fn = noop;
      node.arg = undefined;
    }
    this.count = 0;
    this.baseTimer?.cancel();
    this.baseTimer = null;
  }

  private tickAt(t: number): number {
    return Math.floor((t - this.origin) / this.tickMs);
  }

  /** (Re)arm the underlying timer for `tick`. */
  private arm(tick: number): void {
    if (this.baseTimer !== null) {
      this.baseTimer.cancel();
    }
    this.armedTick = tick;
    // Whole milliseconds rounded up (Node truncates fractions, which would wake us a hair
    // early and cost a second wakeup), and at least 1: a base timer that still fires early (a
    // stale event-loop time) re-arms for the remainder instead of spinning.
    const delay = Math.max(1, Math.ceil(this.origin + tick * this.tickMs - this.base.now()));
    this.baseTimer = this.base.setTimer(delay, this.onBaseTimer);
  }

  /** Fire everything due up to the base clock's current tick, then arm for the next one. */
  private run(): void {
    const nowTick = this.tickAt(this.base.now());
    this.running = true;
    try {
      if (nowTick - this.cursor > this.slotCount) {
        this.sweep(nowTick);
      } else {
        while (this.cursor < nowTick) {
          this.cursor++;
          this.fireSlot(this.cursor);
        }
      }
    } finally {
      this.running = false;
    }
    if (this.count > 0) {
      this.arm(this.nextTick());
    }
  }

  /** Fire the timers of `tick`'s slot that are due (later rotations stay), in arming order. */
  private fireSlot(tick: number): void {
    const head = this.slots[tick & this.mask]!;
    let node = head.next!;
    while (node !== head) {
      const next = node.next!;
      if (node.due <= tick) {
        this.detach(node);
      }
      node = next;
    }
    this.fireDue();
  }

  /**
   * After a stall longer than a rotation (a blocked event loop, a suspended VM), stepping tick
   * by tick would cost one pass per missed tick: collect what is due from every slot instead,
   * and fire it in due order.
   */
  private sweep(nowTick: number): void {
    for (const head of this.slots) {
      let node = head.next!;
      while (node !== head) {
        const next = node.next!;
        if (node.due <= nowTick) {
          this.detach(node);
        }
        node = next;
      }
    }
    this.cursor = nowTick;
    // Array#sort is stable: timers due on the same tick keep their arming order per slot.
    this.due.sort((a, b) => a.due - b.due);
    this.fireDue();
  }

  /** Unlink a due timer from its slot and queue it: callbacks may cancel or arm meanwhile. */
  private detach(node: TimerNode): void {
    node.prev!.next = node.next;
    node.next!.prev = node.prev;
    node.prev = null;
    node.next = null;
    node.state = DUE;
    this.due.push(node);
  }

  private fireDue(): void {
    const due = this.due;
    // By index: a callback may queue nothing here (new timers go to later ticks), but stop()
    // may mark the rest done.
    for (let i = 0; i < due.length; i++) {
      this.fire(due[i]!);
    }
    due.length = 0;
  }

  private fire(n: TimerNode): void {
    if (n.state !== DUE) {
      return; // cancelled by an earlier callback of the same pass
    }
    const fn = n.fn;
    const arg = n.arg;
    n.state = DONE;
    n.fn = noop;
    n.arg = undefined;
    this.count--;
    try {
      fn(arg);
    } catch (err) {
      // One faulty callback must not stop the timers behind it.
      this.logger?.error({ err }, 'timer callback threw');
    }
  }

  /** The first tick after the cursor whose slot holds a timer (a rotation away at most). */
  private nextTick(): number {
    for (let d = 1; d <= this.slotCount; d++) {
      const head = this.slots[(this.cursor + d) & this.mask]!;
      if (head.next !== head) {
        return this.cursor + d;
      }
    }
    // Unreachable while count > 0; a full rotation is the safe answer.
    return this.cursor + this.slotCount;
  }
}
