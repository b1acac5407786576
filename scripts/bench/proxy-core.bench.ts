/**
 * `npm run bench:proxy-core`: the JavaScript cost of one record-routed call through the proxy,
 * without sockets (scripts/bench/call-harness.ts, with cfg/routes.ts).
 *
 * Prints `{"bench":"proxy-core-call","calls_per_sec":N,"us_per_call":M,"cpu_us_per_call":C,
 * "heap_bytes_per_lingering_call":H,"external_bytes_per_lingering_call":E,"samples":K}`. Kernel
 * time is not in it: `npm run bench:proxy` measures the whole thing with sipp.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import routes from '../../cfg/routes.js';
import { EventBus } from '../../src/core/events.js';
import { LogLevels } from '../../src/core/log-levels.js';
import { silentLogger } from '../../src/core/logger.js';
import { Readiness } from '../../src/core/readiness.js';
import { StatsRegistry } from '../../src/core/stats.js';
import { MiRegistry } from '../../src/mi/registry.js';
import { installModules, loadModules, type InstalledModules } from '../../src/module/index.js';
import { createCallHarness } from './call-harness.js';

/**
 * BENCH_MODULES (e.g. `dialog,acc`): modules to load, so the default script's dialog and CDR
 * path runs too (acc writes to a temporary directory, without fsync). Default: none.
 */
const moduleNames = (process.env['BENCH_MODULES'] ?? '').split(',').filter((m) => m !== '');
let installed: InstalledModules | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'tandem-bench-core-'));
if (moduleNames.length > 0) {
  installed = await installModules(await loadModules(moduleNames), {
    commands: new MiRegistry(),
    stats: new StatsRegistry(),
    events: new EventBus(),
    loggers: new LogLevels(silentLogger),
    readiness: new Readiness(),
    params: moduleNames.includes('acc') ? { acc: { fsync: false } } : {},
    dataDir,
  });
}

const { call, stop } = createCallHarness(routes, undefined, installed);

const SAMPLE_MS = Number(process.env['BENCH_SAMPLE_MS'] ?? 1000);
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 7);
let n = 0;
for (let i = 0; i < 500; i++) {
  await call(n++); // warm-up
}
/**
 * Heap kept per finished call while its transactions linger for retransmissions (Timers J, K, L,
 * M: up to 64*T1 = 32 s after the call): at 1,500 calls/s that is 48,000 calls' worth, which the
 * garbage collector marks over and over. Measured right after the warm-up, before any of them expires (Timer K, the first, is 5 s), with a
 * forced collection before and after (needs --expose-gc; the npm script passes it).
 */
async function lingeringBytesPerCall(): Promise<{ heap: number; external: number } | null> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    return null;
  }
  const calls = 3000;
  gc();
  const before = process.memoryUsage();
  for (let i = 0; i < calls; i++) {
    await call(n++);
  }
  gc();
  const after = process.memoryUsage();
  return {
    heap: Math.round((after.heapUsed - before.heapUsed) / calls),
    external: Math.round((after.external - before.external) / calls),
  };
}
const lingering = await lingeringBytesPerCall();
const rates: number[] = [];
// CPU time per call too: on the shared machine wall time also counts other processes' turns.
const cpuPerCall: number[] = [];
for (let s = 0; s < SAMPLES; s++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let calls = 0;
  while (performance.now() - t0 < SAMPLE_MS) {
    await call(n++);
    calls++;
  }
  const cpu = process.cpuUsage(c0);
  rates.push((calls * 1000) / (performance.now() - t0));
  cpuPerCall.push((cpu.user + cpu.system) / calls);
}
rates.sort((a, b) => a - b);
cpuPerCall.sort((a, b) => a - b);
const median = rates[Math.floor(rates.length / 2)]!;

process.stdout.write(
  JSON.stringify({
    bench: 'proxy-core-call',
    calls_per_sec: Math.round(median),
    us_per_call: Math.round(1e6 / median),
    cpu_us_per_call: Math.round(cpuPerCall[Math.floor(cpuPerCall.length / 2)]!),
    ...(lingering !== null
      ? {
          heap_bytes_per_lingering_call: lingering.heap,
          external_bytes_per_lingering_call: lingering.external,
        }
      : {}),
    samples: SAMPLES,
    modules: moduleNames,
  }) + '\n',
);
stop();
await installed?.destroy();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
