/**
 * `npm run bench:proxy`: the call rate one Tandem process sustains as a stateful, record-routing
 * proxy between a sipp caller and a sipp callee on 127.0.0.1 (INVITE/100/180/200/ACK, BYE/200),
 * and the proxy's CPU time per 1000 calls.
 *
 * The rate climbs in steps (BENCH_RATES, calls/s) held for BENCH_DURATION seconds each (default
 * 30); a step passes when sipp reports no failed call. BENCH_DIST=1 benchmarks the compiled
 * build (`npm run build` first) rather than the sources run through tsx. Prints one JSON line per step and a
 * summary line `{"bench":"call-rate","calls_per_sec":<highest passing rate>,"failed":0,...}`.
 * sipp and the proxy share the machine's cores, so the figure is a floor for the proxy alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCENARIOS = `${ROOT}test/e2e/scenarios/`;
const DURATION = Number(process.env['BENCH_DURATION'] ?? 30);
const RATES = (process.env['BENCH_RATES'] ?? '250,500,1000,1500,2000,2500,3000,4000')
  .split(',')
  .map(Number);
const CLK_TCK = 100;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => {
        resolve(typeof a === 'object' && a !== null ? a.port : 0);
      });
    });
  });
}

/** utime + stime of a process, in seconds. */
/** The process's CPU time (user + kernel) in seconds, or its kernel time alone. */
function cpuSeconds(pid: number, kernelOnly = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const sys = Number(fields[12]);
  return ((kernelOnly ? 0 : Number(fields[11])) + sys) / CLK_TCK;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) {
      resolve(child.exitCode);
      return;
    }
    child.on('exit', (code) => {
      resolve(code);
    });
  });
}

async function startProxy(port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      // BENCH_NODE_ARGS adds Node flags to the proxy (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
      ...(process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== ''),
      // BENCH_DIST=1 runs the build (`npm run build`) instead of the sources through tsx.
      ...(process.env['BENCH_DIST'] === '1'
        ? ['dist/src/main.js']
        : ['--import', 'tsx', 'src/main.ts']),
      '--config',
      'cfg/tandem.yaml',
      '--set',
      `listen=[udp:127.0.0.1:${port}]`,
      '--set',
      'log.format=json',
      // Any free port: a node started by hand may hold the default 8888.
      '--set',
      'mi.listen=127.0.0.1:0',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('"tandem started"')) {
        resolve();
      }
    });
    child.on('exit', (code) => {
      reject(new Error(`proxy exited with ${code}`));
    });
  });
  child.stdout.resume();
  return child;
}

/** The sipp processes alive now, killed if the bench is interrupted. */
const running = new Set<ChildProcess>();

function sipp(args: string[]): { child: ChildProcess; out: () => string } {
  // sipp's own sockets get the 4 MiB buffer the proxy's have, so its drops do not count
  // against the proxy.
  const child = spawn('sipp', ['-i', '127.0.0.1', '-nostdin', '-buff_size', '4194304', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-8000);
  });
  child.stderr.resume();
  running.add(child);
  child.once('exit', () => running.delete(child));
  return { child, out: () => out };
}

/** The cumulative "Failed call" count from sipp's last screen. */
function failedCalls(screen: string): number {
  const m = [...screen.matchAll(/Failed call\s*\|\s*\d+\s*\|\s*(\d+)/g)].at(-1);
  return m === undefined ? -1 : Number(m[1]);
}

async function step(proxyPort: number, proxyPid: number, rate: number): Promise<boolean> {
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
  const ok = code === 0 && failed === 0;
  process.stdout.write(
    JSON.stringify({
      bench: 'call-rate-step',
      rate,
      calls,
      failed,
      sipp_exit: code,
      seconds: Math.round(seconds * 10) / 10,
      proxy_cpu_s: Math.round(cpu * 100) / 100,
      cpu_s_per_1000_calls: Math.round((cpu / calls) * 1000 * 1000) / 1000,
      kernel_s_per_1000_calls: Math.round((sys / calls) * 1000 * 1000) / 1000,
    }) + '\n',
  );
  return ok;
}

const proxyPort = await freePort();
const proxy = await startProxy(proxyPort);
// Interrupted (Ctrl-C, a timeout): take the proxy and the sipps down too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    proxy.kill('SIGKILL');
    for (const child of running) {
      child.kill('SIGKILL');
    }
    process.exit(130);
  });
}
let best = 0;
let bestCpu = 0;
try {
  for (const rate of RATES) {
    const cpu0 = cpuSeconds(proxy.pid!);
    if (!(await step(proxyPort, proxy.pid!, rate))) {
      break;
    }
    best = rate;
    bestCpu = ((cpuSeconds(proxy.pid!) - cpu0) / (rate * DURATION)) * 1000;
    // Let the transactions of the finished step expire before the next one.
    await new Promise((r) => setTimeout(r, 2000));
  }
} finally {
  // SIGTERM, so that a profile asked for through BENCH_NODE_ARGS is written on exit.
  const exited = new Promise((r) => proxy.once('exit', r));
  proxy.kill('SIGTERM');
  const timer = setTimeout(() => proxy.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
process.stdout.write(
  JSON.stringify({
    bench: 'call-rate',
    calls_per_sec: best,
    failed: 0,
    duration_s: DURATION,
    cpu_s_per_1000_calls: Math.round(bestCpu * 1000) / 1000,
  }) + '\n',
);
