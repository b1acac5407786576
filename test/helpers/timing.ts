/** Helpers for the tests that bound a parser's running time on large adversarial inputs. */
import type { Test } from 'tap';

/** Milliseconds one function took: its first (cold) call and the best of its warm calls. */
export interface Timing {
  cold: number;
  warm: number;
}

/** A case's name and its {@link timed} result. */
export type TimedCase = readonly [name: string, timing: Timing];

/**
 * Milliseconds for `f` on its first (cold) call and its best of three warm calls. Inputs are
 * flattened first (see {@link flat}); a quadratic parser would take seconds.
 */
export function timed(f: () => unknown): Timing {
  let start = performance.now();
  f();
  const cold = performance.now() - start;
  let warm = Infinity;
  for (let k = 0; k < 3; k++) {
    start = performance.now();
    f();
    warm = Math.min(warm, performance.now() - start);
  }
  return { cold, warm };
}

/**
 * `s` as a flat string, as strings from Buffer#toString are, so that a test times the parser on
 * the kind of string it gets from the wire rather than on one built by concatenation.
 */
export const flat = (s: string): string => Buffer.from(s, 'latin1').toString('latin1');

/**
 * For each case, comments its cold and warm times and asserts (one `t.ok`, named after the
 * case) that the warm time is under `maxWarmMs`. Cold times are reported, not bounded.
 */
export function assertWarmUnder(t: Test, maxWarmMs: number, cases: readonly TimedCase[]): void {
  for (const [name, r] of cases) {
    t.comment(`${name}: cold ${r.cold.toFixed(2)} ms, warm ${r.warm.toFixed(2)} ms`);
    t.ok(r.warm < maxWarmMs, name);
  }
}
