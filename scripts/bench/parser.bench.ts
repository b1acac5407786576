/**
 * `npm run bench:parser`: the message layer's hot paths, one JSON line per benchmark:
 *   {"bench":"parse-invite","ops_per_sec":N,"samples":K}
 * Each sample runs a benchmark for a fixed time slice after a warm-up, in rounds across all
 * benchmarks; the figure is the median sample. The `sip-*` lines run the `sip` package's parser
 * on the same input in the same run, as a baseline that absorbs the machine's noise (see
 * scripts/bench/README.md). The npm script starts Node with the young generation the proxy grows
 * to under load (docs/adr/0014-bench-young-generation.md).
 */
import { createRequire } from 'node:module';
import { INVITE, REGISTER } from '../../test/fixtures/messages.js';
import { consume, parserWorkloads, sinkValue } from './parser-workloads.js';

interface SipPackage {
  parse(s: string): { headers: Record<string, unknown> } | undefined;
  stringify(m: unknown): string;
}
const require = createRequire(import.meta.url);
const sip = require('sip') as SipPackage;

const SAMPLE_MS = Number(process.env['BENCH_SAMPLE_MS'] ?? 250);
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 11);
const only = process.argv.slice(2);

const benches: { name: string; fn: () => void; rates: number[] }[] = [];

function bench(name: string, fn: () => void): void {
  if (only.length === 0 || only.includes(name)) {
    benches.push({ name, fn, rates: [] });
  }
}

/** Run `fn` for SAMPLE_MS and return operations per second. */
function sample(fn: () => void): number {
  let ops = 0;
  const start = performance.now();
  const end = start + SAMPLE_MS;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 100; i++) {
      fn();
    }
    ops += 100;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

/**
 * Warm every benchmark up, then take samples in rounds, one sample of each benchmark per round:
 * the machine's speed drifts by tens of percent over seconds, and interleaving makes every
 * benchmark (the `sip` baseline included) see the same conditions.
 */
function runAll(): void {
  for (const b of benches) {
    sample(b.fn);
  }
  for (let round = 0; round < SAMPLES; round++) {
    for (const b of benches) {
      b.rates.push(sample(b.fn));
    }
  }
  for (const b of benches) {
    const sorted = [...b.rates].sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    process.stdout.write(
      `${JSON.stringify({ bench: b.name, ops_per_sec: Math.round(median), samples: SAMPLES })}\n`,
    );
  }
}

const inviteText = INVITE;
const registerText = REGISTER;

for (const [name, fn] of Object.entries(parserWorkloads)) {
  bench(name, fn);
}

// Baseline: the `sip` package on the same input, reading the same fields.
bench('sip-parse-invite', () => {
  const m = sip.parse(inviteText);
  consume(m === undefined ? 0 : Object.keys(m.headers).length);
});

bench('sip-parse-register', () => {
  const m = sip.parse(registerText);
  consume(m === undefined ? 0 : Object.keys(m.headers).length);
});

runAll();

if (sinkValue() === 42) {
  process.stdout.write('\n');
}
