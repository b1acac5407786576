/**
 * Tandem as a real child process, started the way `npm start` does (`node --import tsx
 * src/main.ts`), for end-to-end tests. Ready when it logs "tandem started"; stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
}

export async function startTandemProcess(o: TandemStartOptions = {}): Promise<TandemProcess> {
  const args = ['--import', 'tsx', 'src/main.ts', '--config', o.config ?? 'cfg/tandem.yaml'];
  for (const s of ['log.format=json', ...(o.sets ?? [])]) {
    args.push('--set', s);
  }
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...cleanEnv(), ...o.env },
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
      return exited;
    },
  };
}

/**
 * The environment without the test runner's loader hooks and coverage collection (NODE_OPTIONS,
 * NODE_V8_COVERAGE, tap's variables): the child must start exactly as `npm start` would.
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // NODE_V8_COVERAGE too: a child compiled by tsx reports the same files with other offsets
    // than tap's loader, and merging both garbles the coverage of the whole run.
    if (
      k === 'NODE_OPTIONS' ||
      k === 'NODE_V8_COVERAGE' ||
      k.startsWith('TAP') ||
      k.startsWith('_TAPJS')
    ) {
      continue;
    }
    env[k] = v;
  }
  return env;
}
