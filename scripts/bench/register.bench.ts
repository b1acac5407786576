/**
 * `npm run bench:register`: what one Tandem process sustains as a registrar on the shipped
 * config (usrloc with its embedded file store, registrar), driven by sipp on 127.0.0.1.
 *
 * 1. `register`: REGISTER/200 for unique AoRs from a CSV (one per REGISTER), the rate climbing
 *    in steps (BENCH_RATES, per second) held for BENCH_DURATION seconds (default 30) each; a
 *    step passes when sipp reports no failed registration and kept the rate (`kept_pace`: the
 *    step did not take more than 10 % + 2 s longer than its duration).
 * 2. `register-auth`: the same with digest authentication (auth module, MD5, the only algorithm
 *    sipp answers): REGISTER, 401, REGISTER with credentials, 200, for unique AoRs, sipp
 *    answering every challenge as one provisioned subscriber (sipp cannot take credentials
 *    from its CSV) (BENCH_AUTH_RATES).
 * 3. `register-memory`: the location table's memory per contact with BENCH_CONTACTS (default
 *    1,000,000) loaded, RSS delta over the count (modules/usrloc/bench/memory.bench.ts).
 *
 * Prints one JSON line per step and per phase. BENCH_PHASES (default
 * `register,register-auth,memory`) picks phases. sipp shares the machine's two cores with the
 * proxy, so the rates are floors for the proxy alone.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cpuSeconds,
  DURATION,
  envRates,
  exited,
  failedCalls,
  freePort,
  keptPace,
  killOnSignal,
  ROOT,
  round,
  SCENARIOS,
  sipp,
  startProxy,
  stopProxy,
} from './sipp-bench.js';
import { writeUsersCsv } from '../../test/helpers/sipp.js';

const RATES = envRates('BENCH_RATES', '2000,5000,8000,10000,12000,15000');
const AUTH_RATES = envRates('BENCH_AUTH_RATES', '1000,2000,3000,4000,6000,8000');
const CONTACTS = Number(process.env['BENCH_CONTACTS'] ?? 1_000_000);
const PHASES = new Set((process.env['BENCH_PHASES'] ?? 'register,register-auth,memory').split(','));
const PASSWORD = 'bench-secret';
const REALM = '127.0.0.1';
const AUTH_USER = 'bench';

const work = mkdtempSync(join(tmpdir(), 'tandem-bench-register-'));
const proxies: ReturnType<typeof spawn>[] = [];
killOnSignal(() => proxies);
process.once('exit', () => {
  rmSync(work, { recursive: true, force: true });
});

function line(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/** A sipp CSV (`-inf`) in the work directory: one user per line, in order. */
function csv(name: string, users: number, prefix: string): string {
  return writeUsersCsv(join(work, name), users, prefix);
}

/** The auth module's subscriber file with the one user sipp answers as (`-au`), HA1s only. */
function subscribersFile(): string {
  const file = join(work, 'subscribers.yaml');
  const text = `${AUTH_USER}:${REALM}:${PASSWORD}`;
  const md5 = createHash('md5').update(text).digest('hex');
  const sha = createHash('sha256').update(text).digest('hex');
  writeFileSync(
    file,
    `subscribers:\n  "${REALM}":\n    ${AUTH_USER}:\n      ha1: ${md5}\n      ha1_sha256: ${sha}\n`,
    { mode: 0o600 },
  );
  return file;
}

/** One step: `rate` registrations a second for DURATION seconds; true when none failed. */
async function step(
  bench: string,
  port: number,
  pid: number,
  rate: number,
  scenario: string,
  inf: string,
  transactionsPerRegister: number,
  extra: readonly string[],
): Promise<{ ok: boolean; cpuPer1000: number }> {
  const n = rate * DURATION;
  const cpu0 = cpuSeconds(pid);
  const t0 = Date.now();
  const run = sipp([
    '-sf',
    `${SCENARIOS}${scenario}`,
    '-inf',
    inf,
    '-r',
    String(rate),
    '-m',
    String(n),
    '-l',
    String(rate * 10),
    '-key',
    'domain',
    `127.0.0.1:${String(port)}`,
    `127.0.0.1:${String(port)}`,
    '-timeout',
    `${String(DURATION * 3)}s`,
    '-fd',
    '1',
    ...extra,
  ]);
  const watchdog = setTimeout(() => run.child.kill('SIGKILL'), (DURATION * 3 + 15) * 1000);
  const code = await exited(run.child);
  clearTimeout(watchdog);
  const cpu = cpuSeconds(pid) - cpu0;
  const failed = failedCalls(run.out());
  const seconds = (Date.now() - t0) / 1000;
  const paced = keptPace(seconds, DURATION);
  const ok = code === 0 && failed === 0 && paced;
  const cpuPer1000 = (cpu / n) * 1000;
  line({
    bench: `${bench}-step`,
    rate,
    registers: n,
    transactions: n * transactionsPerRegister,
    failed,
    sipp_exit: code,
    seconds: round(seconds, 1),
    achieved_per_sec: Math.round(n / Math.max(seconds, DURATION)),
    kept_pace: paced,
    cpu_s_per_1000_registers: round(cpuPer1000, 3),
  });
  return { ok, cpuPer1000 };
}

async function ramp(
  bench: string,
  rates: readonly number[],
  sets: readonly string[],
  scenario: string,
  infFor: (rate: number) => string,
  transactionsPerRegister: number,
  extra: readonly string[] = [],
): Promise<void> {
  const port = await freePort();
  const proxy = await startProxy(port, sets);
  proxies.push(proxy);
  let best = 0;
  let bestCpu = 0;
  try {
    for (const rate of rates) {
      const r = await step(
        bench,
        port,
        proxy.pid!,
        rate,
        scenario,
        infFor(rate),
        transactionsPerRegister,
        extra,
      );
      if (!r.ok) {
        break;
      }
      best = rate;
      bestCpu = r.cpuPer1000;
      await new Promise((res) => setTimeout(res, 2000));
    }
  } finally {
    await stopProxy(proxy);
  }
  line({
    bench,
    registers_per_sec: best,
    failed: 0,
    duration_s: DURATION,
    cpu_s_per_1000_registers: round(bestCpu, 3),
  });
}

if (PHASES.has('register')) {
  // Unique AoRs: every step registers users no earlier step used.
  await ramp(
    'register',
    RATES,
    ['modules.registrar.min_expires=60'],
    'uac-register-csv.xml',
    (rate) => csv(`users-${String(rate)}.csv`, rate * DURATION, `r${String(rate)}u`),
    1,
  );
}

if (PHASES.has('register-auth')) {
  const subscribers = subscribersFile();
  await ramp(
    'register-auth',
    AUTH_RATES,
    [
      `modules.auth={realm: "${REALM}", algorithms: [MD5], secret: bench-secret-0123456789, file: ${subscribers}}`,
    ],
    'uac-register-csv-auth.xml',
    (rate) => csv(`auth-users-${String(rate)}.csv`, rate * DURATION, `a${String(rate)}u`),
    2,
    ['-au', AUTH_USER, '-ap', PASSWORD],
  );
}

if (PHASES.has('memory')) {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'modules/usrloc/bench/memory.bench.ts', String(CONTACTS)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    process.stdout.write(d);
  });
  await exited(child);
  const save = out
    .split('\n')
    .filter((l) => l.includes('"usrloc:save"'))
    .map((l) => JSON.parse(l) as { rss_bytes_per_contact: number; contacts: number })[0];
  line({
    bench: 'register-memory',
    contacts: save?.contacts ?? 0,
    rss_bytes_per_contact: save?.rss_bytes_per_contact ?? null,
  });
}
