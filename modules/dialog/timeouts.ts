/**
 * When dialogs are due (their timeout, or the early guard), in one-second buckets: scheduling,
 * moving and cancelling cost a Map lookup, and the timeout job visits only the buckets that are
 * due, never the whole table (100,000 calls, one pass a second).
 */
import type { Dialog } from './dialog.js';

export class TimeoutQueue {
  private readonly buckets = new Map<number, Set<Dialog>>();
  /** Last second the job has emptied (buckets before it are gone). */
  private swept = -1;

  /** Make `d` due at wall time `at` (ms), replacing any earlier schedule. */
  schedule(d: Dialog, at: number): void {
    this.cancel(d);
    // A time already swept goes into the next bucket the job visits.
    const sec = Math.max(Math.ceil(at / 1000), this.swept + 1);
    d.due = sec;
    let b = this.buckets.get(sec);
    if (b === undefined) {
      b = new Set();
      this.buckets.set(sec, b);
    }
    b.add(d);
  }

  cancel(d: Dialog): void {
    if (d.due === 0) {
      return;
    }
    const sec = d.due;
    const b = this.buckets.get(sec);
    if (b !== undefined) {
      b.delete(d);
      if (b.size === 0) {
        this.buckets.delete(sec);
      }
    }
    d.due = 0;
  }

  /** Take the dialogs due at or before `now` (ms) out of the queue. */
  due(now: number): Dialog[] {
    const upTo = Math.floor(now / 1000);
    const out: Dialog[] = [];
    if (this.swept < 0 || upTo - this.swept > this.buckets.size) {
      // First run, or a long gap (a clock jump): walk the buckets rather than the seconds.
      for (const [sec, b] of this.buckets) {
        if (sec <= upTo) {
          this.take(sec, b, out);
        }
      }
    } else {
      for (let sec = this.swept + 1; sec <= upTo; sec++) {
        const b = this.buckets.get(sec);
        if (b !== undefined) {
          this.take(sec, b, out);
        }
      }
    }
    this.swept = upTo;
    return out;
  }

  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) {
      n += b.size;
    }
    return n;
  }

  private take(sec: number, b: Set<Dialog>, out: Dialog[]): void {
    for (const d of b) {
      d.due = 0;
      out.push(d);
    }
    this.buckets.delete(sec);
  }
}
