/**
 * A real node (a child process started like `npm start`, MI on a free port) driven through the
 * real `tandem-cli` bin shim: uptime, a named parameter, an error exit code, `stats core`, and
 * `mi shutdown` stopping the node.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { run } from '../../src/cli/main.js';
import { loaderArgs, ROOT, startTandemProcess } from '../helpers/tandem-process.js';

const SHIM = fileURLToPath(new URL('../../scripts/tandem-cli.mjs', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the shim as npx would (node + the script), with this runner's loader for coverage. */
function cli(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  loader = loaderArgs(),
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...loader, SHIM, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

async function inProcess(args: string[], env: Record<string, string>): Promise<Run> {
  const out = { stdout: '', stderr: '' };
  const code = await run(args, {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env,
  });
  return { code, ...out };
}

t.test('tandem-cli drives a started node and stops it', async (t) => {
  const node = await startTandemProcess({
    sets: ['listen=[udp:127.0.0.1:0]', 'mi.listen=127.0.0.1:0', 'log.level=info'],
  });
  t.teardown(() => node.stop('SIGKILL'));
  const started = node.lines
    .map((l) => JSON.parse(l) as { msg?: string; mi?: string })
    .find((l) => l.msg === 'tandem started');
  t.match(started?.mi, /^127\.0\.0\.1:\d+$/, 'the bound MI address is logged');
  const url = `http://${started!.mi!}/mi`;

  const uptime = await cli(['--url', url, 'mi', 'uptime']);
  t.equal(uptime.code, 0, uptime.stderr);
  t.match(JSON.parse(uptime.stdout), { 'Up time': /^\d+ \[sec\]$/, Now: String });
  t.match(uptime.stdout, /^\{\n {2}"Now": /, 'indented JSON');

  // The rest in-process (each spawn under the test runner's loader costs ~2 s): the same run()
  // the shim calls, against the same node.
  const env = { TANDEM_MI_URL: url };
  const named = await inProcess(['mi', 'log_level', 'module=tm'], env);
  t.equal(named.code, 0, named.stderr);
  t.same(JSON.parse(named.stdout), { Module: 'tm', 'Log level': 'info' });

  const bad = await inProcess(['mi', 'log_level', 'loud'], env);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /^tandem-cli: Invalid params \(-32602\): level: unknown level "loud"/);
  t.equal(bad.stdout, '');

  const stats = await inProcess(['stats', 'core'], env);
  t.equal(stats.code, 0, stats.stderr);
  t.match(stats.stdout, /^core:rcv_requests = 0\n/);

  const exited = new Promise<number | null>((resolve) => node.child.once('exit', resolve));
  const shutdown = await cli(['mi', 'shutdown'], { ...process.env, ...env });
  t.equal(shutdown.code, 0, shutdown.stderr);
  t.equal(shutdown.stdout, '"OK"\n');
  t.equal(await exited, 0, 'the node exits cleanly');
  t.ok(
    node.lines.some((l) => l.includes('"reason":"mi"')),
    'stopped through the MI',
  );
});

t.test('without a TypeScript loader the shim registers tsx itself', async (t) => {
  // Without the runner's loader: exactly what `npx tandem-cli` runs. The runner still hooks
  // the child (it wraps spawn); tell it not to record coverage, as tsx compiles the sources
  // differently from the runner's loader and the merged report would be garbled.
  const env: NodeJS.ProcessEnv = { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' };
  delete env['NODE_OPTIONS'];
  const usage = await cli(['bogus'], env, []);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /^tandem-cli: unknown command bogus\nusage: tandem-cli/);
});
