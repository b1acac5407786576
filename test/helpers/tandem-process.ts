/**
 * Tandem as a real child process, started the way `npm start` does (`node --import tsx
 * src/main.ts`), for end-to-end tests. Ready when it logs "tandem started"; stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface TandemProcess {
  child: ChildProcess;
  /** Every log line printed so far (JSON). */
  lines: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface TandemStartOptions {
  /** `--set` overrides. */
  sets?: string[];
  env?: Record<string, string>;
  config?: string;
  /** ms to wait for "tandem started". Default 30000. */
  readyTimeout?: number;
  /** Where modules keep their files; default a fresh temporary directory, removed at stop. */
  dataDir?: string;
}

export async function startTandemProcess(o: TandemStartOptions = {}): Promise<TandemProcess> {
  const args = [...loaderArgs(), 'src/main.ts', '--config', o.config ?? 'cfg/tandem.yaml'];
  // A data directory of its own unless the test names one (a restart test reuses it): nodes
  // running at once must not share usrloc's files.
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'tandem-data-'));
  // The MI on a free port unless the test names one: several nodes may run at once.
  for (const s of [
    'log.format=json',
    'mi.listen=127.0.0.1:0',
    `data_dir=${dataDir}`,
    ...(o.sets ?? []),
  ]) {
    args.push('--set', s);
  }
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let buf = '';
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      resolve(code);
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Never leave a half-started proxy behind: the caller gets no handle to stop it.
      child.kill('SIGKILL');
      reject(new Error(`tandem did not start in time:\n${lines.join('\n')}\n${stderr}`));
    }, o.readyTimeout ?? 30_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (line.includes('"tandem started"')) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tandem exited with ${code}:\n${lines.join('\n')}\n${stderr}`));
    });
  });
  await ready;
  return {
    child,
    lines,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
      }
      const code = await exited;
      if (o.dataDir === undefined) {
        rmSync(dataDir, { recursive: true, force: true });
      }
      return code;
    },
  };
}

/**
 * How a child runs TypeScript: under the test runner, with the runner's own loader flags
 * (`process.execArgv`), so the child's coverage is recorded against the same compiled code as the
 * tests' (tap records children too, and files compiled by two loaders garble the merged report);
 * otherwise with tsx, as `npm start` does. Either way the child runs src/main.ts unchanged.
 */
export function loaderArgs(): string[] {
  return process.execArgv.length > 0 ? [...process.execArgv] : ['--import', 'tsx'];
}

/** Call an MI command of a started process (its MI address is in the "tandem started" line). */
export async function miCall(
  p: TandemProcess,
  method: string,
  params: Record<string, unknown> | unknown[] = [],
): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  const line = p.lines.find((l) => l.includes('"tandem started"'));
  const mi = line === undefined ? undefined : (JSON.parse(line) as { mi?: string }).mi;
  if (mi === undefined) {
    throw new Error('this process has no MI');
  }
  const res = await fetch(`http://${mi}/mi`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
}
