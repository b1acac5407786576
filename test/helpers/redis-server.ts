/**
 * A real redis-server (Debian package, installed by .ci/run) on a free 127.0.0.1 port for the
 * tests of the Redis backends: no persistence of its own, stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from './ports.js';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const HAVE_REDIS = existsSync(REDIS_SERVER);

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1', () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => {
      resolve(false);
    });
  });
}

/** Start redis-server and wait until it accepts connections (5 s at most). */
export async function startRedis(port?: number): Promise<RedisServer> {
  const p = port ?? (await freePort());
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const gone = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid!, 'SIGKILL');
    await gone;
  };
  const until = Date.now() + 5_000;
  while (!(await reachable(p))) {
    if (Date.now() > until || child.exitCode !== null) {
      await stop();
      throw new Error(`redis-server did not start on port ${String(p)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port: p, url: `redis://127.0.0.1:${String(p)}`, child, stop };
}
