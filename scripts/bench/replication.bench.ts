/**
 * Part of `npm run bench:cluster` (issue 8): the location service's replication between real
 * Tandem processes on 127.0.0.1. Prints JSON lines:
 *
 * 1. `sync` (BENCH_SYNC_CONTACTS, default 1,000,000): node A loads that many bindings from its
 *    file store, then a fresh node B starts; the time from B's start to B ready (process start-up
 *    included) and from its sync request to synced (list_cap), records/s, and both nodes' peak
 *    RSS and growth (sampled every 100 ms from /proc).
 * 2. `lag`: sipp registers unique AoRs on A at BENCH_LAG_RATE (default 2,000)/s for
 *    BENCH_DURATION s; meanwhile a probe registers one AoR at a time from its own socket, notes
 *    when A's 200 OK arrives, and polls B's MI (`ul_show_contact`) every 2 ms until B has it:
 *    p50/p99/max of that lag (an upper bound: it includes one MI round trip).
 * 3. `cost`: the CPU A spends per 1,000 REGISTERs at the same offered rate with replication on
 *    (usrloc full-sharing-cluster) and off (single-instance) in the same pair of processes, and
 *    the REGISTER rate each implies (BENCH_COST_ROUNDS alternated rounds, means).
 *
 * BENCH_PHASES (default `sync,lag,cost`) picks phases. The machine's two cores are shared by
 * both nodes and sipp: figures are floors, compare within one run.
 */
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterPlan, waitFor } from '../../test/helpers/cluster-nodes.js';
import { miCall } from '../../test/helpers/tandem-process.js';
import { writeUsrlocAof } from '../../test/helpers/usrloc-aof.js';
import { registerFrom } from '../../test/helpers/raw-register.js';
import { sipp as runSipp, writeUsersCsv } from '../../test/helpers/sipp.js';
import { cpuSeconds, round } from './sipp-bench.js';

const PHASES = new Set((process.env['BENCH_PHASES'] ?? 'sync,lag,cost').split(','));
const SYNC_CONTACTS = Number(process.env['BENCH_SYNC_CONTACTS'] ?? 1_000_000);
const LAG_RATE = Number(process.env['BENCH_LAG_RATE'] ?? 2000);
const DURATION = Number(process.env['BENCH_DURATION'] ?? 15);
const USRLOC = { working_mode_preset: 'full-sharing-cluster', timer_interval: 10 };

const cleanups: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => cleanups.push(fn) };
async function cleanup(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) {
    await fn();
  }
}
process.once('SIGINT', () => {
  void cleanup().then(() => process.exit(130));
});

function line(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/** Resident set size and its high-water mark of a process, MB. */
function rss(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

async function syncPhase(): Promise<void> {
  const plan = await ClusterPlan.create(t, {
    nodes: 2,
    modules: { usrloc: { ...USRLOC, db_mode: 'file' }, registrar: {} },
    clusterer: { seed_fallback_interval: 1 },
  });
  writeUsrlocAof(plan.node(1).dataDir, SYNC_CONTACTS);
  const a = await plan.start(1, { readyTimeout: 300_000 });
  await waitFor('A ready', async () => (await plan.ready(1)).ok, 300_000);
  const pidA = a.child.pid!;
  const baseA = rss(pidA).rss;
  let peakA = baseA;
  const t0 = Date.now();
  const b = await plan.start(2, { readyTimeout: 300_000 });
  const pidB = b.child.pid!;
  const baseB = rss(pidB).rss;
  let peakB = baseB;
  const sampler = setInterval(() => {
    peakA = Math.max(peakA, rss(pidA).rss);
    peakB = Math.max(peakB, rss(pidB).rss);
  }, 100);
  await waitFor('B ready', async () => (await plan.ready(2)).ok, 600_000, 50);
  const tookMs = Date.now() - t0;
  clearInterval(sampler);
  const held = await plan.stat(2, 'usrloc:contacts');
  const caps = JSON.stringify(await plan.mi(2, 'clusterer_list_cap'));
  const syncMs = Number(/"last_sync_ms":(\d+)/.exec(caps)?.[1] ?? NaN);
  line({
    bench: 'sync',
    contacts: SYNC_CONTACTS,
    held_by_b: held,
    b_start_to_ready_s: round(tookMs / 1000, 2),
    sync_s: Number.isNaN(syncMs) ? null : round(syncMs / 1000, 2),
    records_per_s: Math.round(SYNC_CONTACTS / ((Number.isNaN(syncMs) ? tookMs : syncMs) / 1000)),
    donor_rss_mb: { before: round(baseA), peak: round(peakA), growth: round(peakA - baseA) },
    receiver_rss_mb: { at_start: round(baseB), peak: round(peakB), growth: round(peakB - baseB) },
  });
  await cleanup();
}

function background(dir: string, port: number, rate: number, prefix: string) {
  return runSipp({
    scenario: 'uac-register-csv.xml',
    remote: `127.0.0.1:${String(port)}`,
    calls: rate * DURATION,
    rate,
    limit: rate * 2,
    keys: { domain: `127.0.0.1:${String(port)}` },
    timeoutSec: DURATION * 4,
    extra: ['-inf', writeUsersCsv(join(dir, `${prefix}.csv`), rate * DURATION, prefix)],
  });
}

/** Two nodes sharing registrations in memory, both ready. */
async function memoryPair(): Promise<ClusterPlan> {
  const plan = await ClusterPlan.create(t, {
    nodes: 2,
    modules: { usrloc: { ...USRLOC, db_mode: 'none' }, registrar: {} },
    clusterer: { seed_fallback_interval: 1 },
  });
  await plan.startReady([1, 2]);
  return plan;
}

async function lagPhase(dir: string): Promise<void> {
  const plan = await memoryPair();
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  cleanups.push(() => {
    sock.close();
  });
  const load = background(dir, plan.node(1).sipPort, LAG_RATE, 'lag');
  cleanups.push(() => load.child.kill('SIGKILL'));
  const b = plan.node(2).p!;
  const lags: number[] = [];
  const end = Date.now() + DURATION * 1000;
  for (let i = 0; Date.now() < end; i++) {
    const user = `probe${String(i)}`;
    await registerFrom(sock, plan.node(1).sipPort, user);
    const t0 = performance.now();
    for (;;) {
      const r = await miCall(b, 'ul_show_contact', [`${user}@127.0.0.1`]);
      if (r.error === undefined) {
        break;
      }
      if (performance.now() - t0 > 5000) {
        throw new Error(`${user} never reached B`);
      }
      await new Promise((r2) => setTimeout(r2, 2));
    }
    lags.push(performance.now() - t0);
    await new Promise((r2) => setTimeout(r2, 20));
  }
  const out = await load.done;
  lags.sort((x, y) => x - y);
  line({
    bench: 'lag',
    register_rate: LAG_RATE,
    probes: lags.length,
    sipp_ok: out.code === 0,
    p50_ms: round(pct(lags, 50), 2),
    p99_ms: round(pct(lags, 99), 2),
    max_ms: round(lags[lags.length - 1] ?? NaN, 2),
  });
  await cleanup();
}

/** CPU A spends per 1,000 REGISTERs over DURATION s at LAG_RATE/s. */
async function cpuPer1000(pid: number, dir: string, port: number, prefix: string) {
  const c0 = cpuSeconds(pid);
  const load = background(dir, port, LAG_RATE, prefix);
  const out = await load.done;
  const used = cpuSeconds(pid) - c0;
  return { ms: (used * 1e6) / (LAG_RATE * DURATION), ok: out.code === 0 };
}

/**
 * Replication off and on in the same pair of processes: usrloc `single-instance` against
 * `full-sharing-cluster`, so the cluster's own work (heartbeats, tags) is in both. Alternated
 * over BENCH_COST_ROUNDS rounds (default 2) because the machine drifts; the figures are means.
 */
async function costPhase(dir: string): Promise<void> {
  const rounds = Number(process.env['BENCH_COST_ROUNDS'] ?? 2);
  const sums = { off: 0, on: 0, receiver: 0 };
  let ok = true;
  for (let r = 0; r < rounds; r++) {
    for (const mode of ['off', 'on'] as const) {
      const plan = await ClusterPlan.create(t, {
        nodes: 2,
        modules: {
          usrloc: {
            ...USRLOC,
            db_mode: 'none',
            working_mode_preset: mode === 'on' ? 'full-sharing-cluster' : 'single-instance',
          },
          registrar: {},
        },
        clusterer: { seed_fallback_interval: 1 },
      });
      await plan.startReady([1, 2]);
      const pidB = plan.node(2).p!.child.pid!;
      const b0 = cpuSeconds(pidB);
      const a = await cpuPer1000(
        plan.node(1).p!.child.pid!,
        dir,
        plan.node(1).sipPort,
        `${mode}${String(r)}`,
      );
      ok &&= a.ok;
      sums[mode] += a.ms;
      if (mode === 'on') {
        sums.receiver += ((cpuSeconds(pidB) - b0) * 1e6) / (LAG_RATE * DURATION);
      }
      await cleanup();
    }
  }
  const off = sums.off / rounds;
  const on = sums.on / rounds;
  line({
    bench: 'replication-cost',
    register_rate: LAG_RATE,
    rounds,
    sipp_ok: ok,
    cpu_ms_per_1000_off: round(off, 1),
    cpu_ms_per_1000_on: round(on, 1),
    receiver_cpu_ms_per_1000: round(sums.receiver / rounds, 1),
    implied_rate_off: Math.round(1e6 / off),
    implied_rate_on: Math.round(1e6 / on),
    cost_pct: round((1 - off / on) * 100, 1),
  });
}

async function main(): Promise<void> {
  // Removed at the end only: each phase runs `cleanup()` for what it started itself.
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-repl-csv-'));
  try {
    if (PHASES.has('sync')) {
      await syncPhase();
    }
    if (PHASES.has('lag')) {
      await lagPhase(dir);
    }
    if (PHASES.has('cost')) {
      await costPhase(dir);
    }
  } finally {
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
