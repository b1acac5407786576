/**
 * sipp (Debian `sip-tester`) as a UAC or UAS peer in end-to-end tests: run a scenario from
 * test/e2e/scenarios on 127.0.0.1 and resolve with its exit code (0: every call succeeded).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

let runs = 0;
const SCENARIOS = fileURLToPath(new URL('../e2e/scenarios/', import.meta.url));

export const HAVE_SIPP = ['/usr/bin/sipp', '/usr/local/bin/sipp'].some((p) => existsSync(p));

export interface SippOptions {
  scenario: string;
  /** Local port to bind (UAS) or 0 for any (UAC). */
  port?: number;
  /** Where messages go (`-rsa`): the proxy, for a UAC. */
  remote?: string;
  transport?: 'udp' | 'tcp';
  /** Number of calls before exiting (default 1). */
  calls?: number;
  /** Calls per second (UAC). */
  rate?: number;
  /** Simultaneous calls cap. */
  limit?: number;
  /** Duration of a `<pause/>` without its own duration, ms (sipp -d). */
  pauseMs?: number;
  /** `-key name value` pairs the scenario uses. */
  keys?: Record<string, string>;
  /** Give up after this many seconds (sipp exits non-zero). Default 30. */
  timeoutSec?: number;
  extra?: string[];
}

export interface SippResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** What sipp wrote to its error log (unexpected messages, failed checks), for diagnosis. */
  errors: string;
}

export interface SippRun {
  child: ChildProcess;
  done: Promise<SippResult>;
}

/** Start sipp; `done` resolves when it exits. */
export function sipp(o: SippOptions): SippRun {
  const args = [
    '-sf',
    SCENARIOS + o.scenario,
    '-i',
    '127.0.0.1',
    '-nostdin',
    '-m',
    String(o.calls ?? 1),
  ];
  args.push('-t', o.transport === 'tcp' ? 't1' : 'u1');
  args.push('-p', String(o.port ?? 0));
  args.push('-timeout', `${o.timeoutSec ?? 30}s`, '-timeout_error');
  args.push('-recv_timeout', '20s');
  if (o.rate !== undefined) {
    args.push('-r', String(o.rate));
  }
  if (o.limit !== undefined) {
    args.push('-l', String(o.limit));
  }
  if (o.pauseMs !== undefined) {
    args.push('-d', String(o.pauseMs));
  }
  for (const [k, v] of Object.entries(o.keys ?? {})) {
    args.push('-key', k, v);
  }
  const errorFile = join(tmpdir(), `tandem-sipp-${process.pid}-${++runs}.err`);
  args.push('-trace_err', '-error_file', errorFile);
  args.push(...(o.extra ?? []));
  if (o.remote !== undefined) {
    // The target on the command line only fills [remote_ip]; every message goes to -rsa.
    args.push('-rsa', o.remote, o.remote);
  }
  const child = spawn('sipp', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout = (stdout + d.toString()).slice(-20_000);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  const done = new Promise<SippResult>((resolve) => {
    child.on('exit', (code) => {
      let errors = '';
      if (existsSync(errorFile)) {
        errors = readFileSync(errorFile, 'utf8').slice(-4000);
        rmSync(errorFile, { force: true });
      }
      resolve({ code, stdout, stderr, errors });
    });
  });
  return { child, done };
}

/** Kill a sipp that is still running (test teardown). */
export function stopSipp(run: SippRun): void {
  if (run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill('SIGKILL');
  }
}

/** A sipp CSV (`-inf`) at `file`: one user `<prefix><i>` per line, in order; returns `file`. */
export function writeUsersCsv(file: string, users: number, prefix: string): string {
  const lines = ['SEQUENTIAL'];
  for (let i = 0; i < users; i++) {
    lines.push(`${prefix}${String(i)};`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
