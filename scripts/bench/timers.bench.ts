/**
 * `npm run bench:timers` (node --expose-gc --import tsx scripts/bench/timers.bench.ts): the
 * timer wheel against plain `setTimeout`, one JSON line per benchmark:
 *   {"bench":"timer-arm-cancel-wheel","ops_per_sec":N,"samples":K}
 *   {"bench":"timer-heap-wheel","bytes_per_timer":N,"samples":K}
 *
 * - `timer-arm-cancel-*`: arm one timer and cancel it, with 10,000 other timers pending (a
 *   proxy under load; most transaction timers are cancelled before they fire). Delays cycle
 *   through 0.5 s, 4 s, 32 s and 3 min, the shapes of T1, T2, Timer B/F and Timer C.
 * - `timer-arm-fire-*`: arm a batch of 20,000 timers due in 1 ms and wait until the last has
 *   fired, on the real clock for both (the wheel ticks every 1 ms here); one operation is one
 *   timer armed and fired, and the rate is per second of CPU time (user + system) so that the
 *   idle wait for the due time does not count.
 * - `timer-heap-*`: heap bytes per pending timer (100,000 timers due in 60 s, one shared
 *   callback, so only the timer's own cost is counted), measured after forced GCs. Without
 *   --expose-gc the figure is noisier and marked `"gc":false`.
 *
 * Samples are taken in interleaved rounds, as in parser.bench.ts; the figure is the median.
 */
import { TimerWheel } from '../../src/core/timer-wheel.js';
import type { TimerHandle } from '../../src/core/clock.js';

const SAMPLE_MS = Number(process.env['BENCH_SAMPLE_MS'] ?? 250);
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 11);
const only = process.argv.slice(2);
const DELAYS = [500, 4000, 32_000, 180_000];
const BACKGROUND = 10_000;
const FIRE_BATCH = 20_000;
const HEAP_TIMERS = 100_000;

const gc = (globalThis as { gc?: () => void }).gc;
let sink = 0;
const noop = (): void => {
  sink++;
};

function emit(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Run `fn` for SAMPLE_MS and return operations per second. */
function sample(fn: (i: number) => void): number {
  let ops = 0;
  const start = performance.now();
  const end = start + SAMPLE_MS;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 100; i++) {
      fn(i);
    }
    ops += 100;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

// ---- arm + cancel ----------------------------------------------------------------------------

const wheel = new TimerWheel();
const wheelBackground: TimerHandle[] = [];
const nodeBackground: NodeJS.Timeout[] = [];
for (let i = 0; i < BACKGROUND; i++) {
  wheelBackground.push(wheel.setTimer(DELAYS[i % 4]! + 600_000, noop));
  const t = setTimeout(noop, DELAYS[i % 4]! + 600_000);
  t.unref();
  nodeBackground.push(t);
}

interface SyncBench {
  name: string;
  fn: (i: number) => void;
  rates: number[];
}

const armCancel: SyncBench[] = [
  {
    name: 'timer-arm-cancel-wheel',
    fn: (i) => {
      wheel.setTimer(DELAYS[i & 3]!, noop).cancel();
    },
    rates: [],
  },
  {
    name: 'timer-arm-cancel-settimeout',
    fn: (i) => {
      clearTimeout(setTimeout(noop, DELAYS[i & 3]));
    },
    rates: [],
  },
];

// ---- arm + fire ------------------------------------------------------------------------------

const fireWheel = new TimerWheel({ tickMs: 1 });

/** Arm FIRE_BATCH timers due in 1 ms through `arm`; resolve with timers per CPU second. */
function fireBatch(arm: (fn: () => void) => void): Promise<number> {
  return new Promise((resolve) => {
    let left = FIRE_BATCH;
    const start = process.cpuUsage();
    const done = (): void => {
      if (--left === 0) {
        const used = process.cpuUsage(start);
        resolve((FIRE_BATCH * 1e6) / (used.user + used.system));
      }
    };
    for (let i = 0; i < FIRE_BATCH; i++) {
      arm(done);
    }
  });
}

const armFire: { name: string; run: () => Promise<number>; rates: number[] }[] = [
  {
    name: 'timer-arm-fire-wheel',
    run: () => fireBatch((fn) => fireWheel.setTimer(1, fn)),
    rates: [],
  },
  {
    name: 'timer-arm-fire-settimeout',
    run: () => fireBatch((fn) => setTimeout(fn, 1)),
    rates: [],
  },
].filter((b) => only.length === 0 || only.includes(b.name));

// ---- heap per pending timer ------------------------------------------------------------------

function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

function heapPerTimer(arm: () => unknown, clear: (h: unknown) => void): number {
  const handles = new Array<unknown>(HEAP_TIMERS).fill(null);
  const before = heapUsed();
  for (let i = 0; i < HEAP_TIMERS; i++) {
    handles[i] = arm();
  }
  const after = heapUsed();
  for (const h of handles) {
    clear(h);
  }
  return (after - before) / HEAP_TIMERS;
}

const heapWheel = new TimerWheel();
const heaps: { name: string; measure: () => number; values: number[] }[] = [
  {
    name: 'timer-heap-wheel',
    measure: () =>
      heapPerTimer(
        () => heapWheel.setTimer(60_000, noop),
        (h) => {
          (h as TimerHandle).cancel();
        },
      ),
    values: [],
  },
  {
    name: 'timer-heap-settimeout',
    measure: () =>
      heapPerTimer(
        () => setTimeout(noop, 60_000).unref(),
        (h) => {
          clearTimeout(h as NodeJS.Timeout);
        },
      ),
    values: [],
  },
].filter((b) => only.length === 0 || only.includes(b.name));

const selected = <T extends { name: string }>(list: T[]): T[] =>
  list.filter((b) => only.length === 0 || only.includes(b.name));

async function main(): Promise<void> {
  // The wheel's base timer is unref'd: keep the process alive while batches are in flight.
  const keepAlive = setInterval(() => undefined, 1000);
  const syncBenches = selected(armCancel);
  for (const b of syncBenches) {
    sample(b.fn);
  }
  for (const b of armFire) {
    await b.run();
  }
  for (let round = 0; round < SAMPLES; round++) {
    for (const b of syncBenches) {
      b.rates.push(sample(b.fn));
    }
    for (const b of armFire) {
      b.rates.push(await b.run());
    }
    for (const b of heaps) {
      b.values.push(b.measure());
    }
  }
  for (const b of [...syncBenches, ...armFire]) {
    emit({ bench: b.name, ops_per_sec: Math.round(median(b.rates)), samples: SAMPLES });
  }
  for (const b of heaps) {
    emit({
      bench: b.name,
      bytes_per_timer: Math.round(median(b.values)),
      samples: SAMPLES,
      ...(gc === undefined ? { gc: false } : {}),
    });
  }
  for (const h of wheelBackground) {
    h.cancel();
  }
  for (const t of nodeBackground) {
    clearTimeout(t);
  }
  clearInterval(keepAlive);
  if (sink === 42) {
    process.stdout.write('\n');
  }
}

await main();
