/**
 * What the sipp-driven benchmarks (bench:proxy, bench:register) share: free ports, a proxy
 * process started from the shipped config, sipp processes killed if the bench is interrupted,
 * CPU time read from /proc, and sipp's failed-call count.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCENARIOS = `${ROOT}test/e2e/scenarios/`;
const CLK_TCK = 100;

/** Seconds each rate step is held (BENCH_DURATION, default 30). */
export const DURATION = Number(process.env['BENCH_DURATION'] ?? 30);

/** A list of rates from the environment variable `name` (comma-separated), else `def`. */
export function envRates(name: string, def: string): number[] {
  return (process.env[name] ?? def).split(',').map(Number);
}

export function freePort(): Promise<number> {
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

/** The process's CPU time (user + kernel) in seconds, or its kernel time alone. */
export function cpuSeconds(pid: number, kernelOnly = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const sys = Number(fields[12]);
  return ((kernelOnly ? 0 : Number(fields[11])) + sys) / CLK_TCK;
}

export function exited(child: ChildProcess): Promise<number | null> {
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

/**
 * Start Tandem on `cfg/tandem.yaml` listening on UDP `port`, with more `--set` overrides;
 * resolves once it logged "tandem started". BENCH_NODE_ARGS adds Node flags (e.g.
 * `--cpu-prof`); BENCH_DIST=1 runs the build (`npm run build`) instead of the sources.
 */
export async function startProxy(
  port: number,
  sets: readonly string[] = [],
): Promise<ChildProcess> {
  const args = [
    ...(process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== ''),
    ...(process.env['BENCH_DIST'] === '1'
      ? ['dist/src/main.js']
      : ['--import', 'tsx', 'src/main.ts']),
    '--config',
    'cfg/tandem.yaml',
  ];
  // Any free MI port: a node started by hand may hold the default 8888.
  // Registrations go to a directory of the bench's own, removed when the proxy stops.
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-bench-'));
  for (const s of [
    `listen=[udp:127.0.0.1:${String(port)}]`,
    'log.format=json',
    'mi.listen=127.0.0.1:0',
    `data_dir=${dataDir}`,
    ...sets,
  ]) {
    args.push('--set', s);
  }
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('"tandem started"')) {
        resolve();
      }
    });
    child.on('exit', (code) => {
      reject(new Error(`proxy exited with ${String(code)}`));
    });
  });
  child.stdout.resume();
  child.once('exit', () => {
    rmSync(dataDir, { recursive: true, force: true });
  });
  return child;
}

/** Stop the proxy with SIGTERM (so a profile asked for is written), SIGKILL after 10 s. */
export async function stopProxy(proxy: ChildProcess): Promise<void> {
  const gone = exited(proxy);
  proxy.kill('SIGTERM');
  const timer = setTimeout(() => proxy.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

/** The sipp processes alive now, killed if the bench is interrupted. */
const running = new Set<ChildProcess>();

export function sipp(args: string[]): { child: ChildProcess; out: () => string } {
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

/** Interrupted (Ctrl-C, a timeout): take the proxies and the sipps down too. */
export function killOnSignal(procs: () => readonly ChildProcess[]): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of [...procs(), ...running]) {
        child.kill('SIGKILL');
      }
      process.exit(130);
    });
  }
}

/** The cumulative "Failed call" count from sipp's last screen. */
export function failedCalls(screen: string): number {
  const m = [...screen.matchAll(/Failed call\s*\|\s*\d+\s*\|\s*(\d+)/g)].at(-1);
  return m === undefined ? -1 : Number(m[1]);
}

/** Round to `digits` decimals for the JSON lines. */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Did sipp keep the rate? A step that took much longer than its duration sent fewer messages a
 * second than asked (sipp was short of CPU): it must not count as holding that rate, even
 * with no failure. Allowed: 10 % plus 2 s for the last calls to finish.
 */
export function keptPace(seconds: number, duration: number): boolean {
  return seconds <= duration * 1.1 + 2;
}
