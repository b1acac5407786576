/**
 * `npm run bench:proxy`: the call rate one Tandem process sustains as a stateful, record-routing
 * proxy between a sipp caller and a sipp callee on 127.0.0.1 (INVITE/100/180/200/ACK, BYE/200),
 * and the proxy's CPU time per 1000 calls.
 *
 * The rate climbs in steps (BENCH_RATES, calls/s) held for BENCH_DURATION seconds each (default
 * 30); a step passes when sipp reports no failed call and kept the rate (`kept_pace`).
 * BENCH_DIST=1 benchmarks the compiled build (`npm run build` first) rather than the sources run
 * through tsx. Prints one JSON line per step and a summary line
 * `{"bench":"call-rate","config":...,"calls_per_sec":<highest passing rate>,"failed":0,...}` per
 * configuration (BENCH_PHASES: `plain` without dialog tracking, `dialog` with dialogs and CDRs
 * as the shipped config runs), then the dialog overhead and the memory per dialog with 100,000
 * concurrent dialogs. sipp and the proxy share the machine's cores, so the figures are floors
 * for the proxy alone.
 */
import { spawnSync } from 'node:child_process';
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
  SCENARIOS,
  sipp,
  startProxy,
  stopProxy,
} from './sipp-bench.js';

const RATES = envRates('BENCH_RATES', '250,500,1000,1500,2000,2500,3000,4000');

async function step(
  proxyPort: number,
  proxyPid: number,
  rate: number,
  config: string,
): Promise<boolean> {
  const uasPort = await freePort();
  const calls = rate * DURATION;
  const uas = sipp([
    '-sf',
    `${SCENARIOS}uas-answer.xml`,
    '-p',
    String(uasPort),
    '-d',
    '0',
    '-m',
    String(calls),
    '-key',
    'proxy',
    'x',
  ]);
  await new Promise((r) => setTimeout(r, 1000));
  const cpu0 = cpuSeconds(proxyPid);
  const sys0 = cpuSeconds(proxyPid, true);
  const t0 = Date.now();
  const uac = sipp([
    '-sf',
    `${SCENARIOS}uac-call.xml`,
    '-r',
    String(rate),
    '-m',
    String(calls),
    '-l',
    String(rate * 10),
    '-key',
    'ruri',
    `sip:callee@127.0.0.1:${uasPort}`,
    '-rsa',
    `127.0.0.1:${proxyPort}`,
    `127.0.0.1:${proxyPort}`,
    '-timeout',
    `${DURATION * 3}s`,
    '-fd',
    '1',
  ]);
  // sipp's own -timeout does not always end a run whose calls are stuck: a watchdog does, and
  // the step counts as failed (sipp's exit code is then null).
  const watchdog = setTimeout(() => uac.child.kill('SIGKILL'), (DURATION * 3 + 15) * 1000);
  const code = await exited(uac.child);
  clearTimeout(watchdog);
  const seconds = (Date.now() - t0) / 1000;
  const cpu = cpuSeconds(proxyPid) - cpu0;
  const sys = cpuSeconds(proxyPid, true) - sys0;
  uas.child.kill('SIGKILL');
  await exited(uas.child);
  const failed = failedCalls(uac.out());
  const paced = keptPace(seconds, DURATION);
  const ok = code === 0 && failed === 0 && paced;
  process.stdout.write(
    JSON.stringify({
      bench: 'call-rate-step',
      config,
      rate,
      calls,
      failed,
      sipp_exit: code,
      seconds: Math.round(seconds * 10) / 10,
      kept_pace: paced,
      proxy_cpu_s: Math.round(cpu * 100) / 100,
      cpu_s_per_1000_calls: Math.round((cpu / calls) * 1000 * 1000) / 1000,
      kernel_s_per_1000_calls: Math.round((sys / calls) * 1000 * 1000) / 1000,
    }) + '\n',
  );
  return ok;
}

/**
 * The configurations compared (BENCH_PHASES, default both): `plain` is the shipped config
 * without dialog tracking and CDRs, `dialog` the shipped config as it is (the default script
 * creates a dialog and a CDR for every call). The target: dialog no more than 25 % below plain.
 */
const PHASES: Record<string, string[]> = {
  plain: ['modules={usrloc: {db_mode: file}, registrar: {}}'],
  dialog: [],
};
const phases = (process.env['BENCH_PHASES'] ?? 'plain,dialog').split(',');

async function phase(name: string): Promise<{ best: number; cpu: number }> {
  const proxyPort = await freePort();
  const proxy = await startProxy(proxyPort, PHASES[name] ?? []);
  killOnSignal(() => [proxy]);
  let best = 0;
  let bestCpu = 0;
  try {
    for (const rate of RATES) {
      const cpu0 = cpuSeconds(proxy.pid!);
      if (!(await step(proxyPort, proxy.pid!, rate, name))) {
        break;
      }
      best = rate;
      bestCpu = ((cpuSeconds(proxy.pid!) - cpu0) / (rate * DURATION)) * 1000;
      // Let the transactions of the finished step expire before the next one.
      await new Promise((r) => setTimeout(r, 2000));
    }
  } finally {
    await stopProxy(proxy);
  }
  return { best, cpu: Math.round(bestCpu * 1000) / 1000 };
}

const results: Record<string, { best: number; cpu: number }> = {};
for (const name of phases) {
  if (PHASES[name] === undefined) {
    throw new Error(`BENCH_PHASES: unknown phase ${name} (plain, dialog)`);
  }
  results[name] = await phase(name);
  process.stdout.write(
    JSON.stringify({
      bench: 'call-rate',
      config: name,
      calls_per_sec: results[name].best,
      failed: 0,
      duration_s: DURATION,
      cpu_s_per_1000_calls: results[name].cpu,
    }) + '\n',
  );
}
const plain = results['plain'];
const dialog = results['dialog'];
if (plain !== undefined && dialog !== undefined && plain.best > 0) {
  process.stdout.write(
    JSON.stringify({
      bench: 'dialog-overhead',
      plain_calls_per_sec: plain.best,
      dialog_calls_per_sec: dialog.best,
      rate_loss_pct: Math.round((1 - dialog.best / plain.best) * 1000) / 10,
      cpu_s_per_1000_calls_plain: plain.cpu,
      cpu_s_per_1000_calls_dialog: dialog.cpu,
    }) + '\n',
  );
}
if (phases.includes('dialog')) {
  // Memory per dialog with 100,000 concurrent dialogs (in process: modules/dialog/bench).
  const mem = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'modules/dialog/bench/memory.bench.ts', '100000'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  process.stdout.write(mem.stdout);
}
