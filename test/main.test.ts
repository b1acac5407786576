import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const CFG = fileURLToPath(new URL('../cfg/tandem.yaml', import.meta.url));
const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

// The child runs with this test's own node flags (tap's TypeScript loader and coverage hooks), not
// with tsx as `npm start` does: a file compiled by two different loaders in one run garbles tap's
// coverage merge, and errors.ts is also loaded in-process by other tests.
function tandem(...args: string[]) {
  return spawnSync(process.execPath, [...process.execArgv, MAIN, ...args], { encoding: 'utf8' });
}

t.test('tandem --check validates the shipped config and exits 0', async (t) => {
  const run = tandem('--check', '--config', CFG);
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /tandem\.yaml: configuration OK\n$/);
});

t.test('a bad config or override exits 1 naming the key', async (t) => {
  const run = tandem('--check', '--config', CFG, '--set', 'timers.t1=fast');
  t.equal(run.status, 1);
  t.match(run.stderr, /timers\.t1 \(--set timers\.t1=fast\): expected a positive integer/);
  const missing = tandem('--check', '--config', '/nonexistent/tandem.yaml');
  t.equal(missing.status, 1);
  t.match(missing.stderr, /nonexistent\/tandem\.yaml/);
});

t.test('tandem --check also checks the parameters of the modules the config loads', async (t) => {
  const run = tandem('--check', '--config', CFG, '--set', 'modules.usrloc.db_mode=mysql');
  t.equal(run.status, 1);
  t.match(run.stderr, /modules\.usrloc\.db_mode: Invalid option/);
  const missing = tandem('--check', '--config', CFG, '--set', 'modules.nosuch={}');
  t.equal(missing.status, 1);
  t.match(missing.stderr, /modules\.nosuch: no module nosuch/);
});

t.test('a config whose listen socket cannot be bound fails at start-up with exit 1', async (t) => {
  const run = tandem(
    '--config',
    CFG,
    '--set',
    'listen[0]=udp:192.0.2.1:5060',
    '--set',
    'log.level=silent',
    '--set',
    `data_dir=${join(tmpdir(), 'tandem-main-test-unused')}`,
  );
  t.equal(run.status, 1);
  t.match(run.stderr, /Cannot listen/);
});

t.test('tandem --version and -v print the version and exit 0', async (t) => {
  for (const flag of ['--version', '-v']) {
    const run = tandem(flag);
    t.equal(run.status, 0, flag);
    t.equal(run.stdout, `tandem ${version}\n`, flag);
  }
  t.end();
});

t.test('tandem --help prints the usage and exits 0', async (t) => {
  const run = tandem('--help');
  t.equal(run.status, 0);
  t.match(run.stdout, /^usage: tandem /);
  t.end();
});

t.test('tandem rejects an unknown option with exit code 2', async (t) => {
  const run = tandem('--bogus');
  t.equal(run.status, 2);
  t.equal(run.stdout, '');
  t.match(run.stderr, /^tandem: Unknown option '--bogus'/);
  t.end();
});
