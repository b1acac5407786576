import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

// The child runs with this test's own node flags (tap's TypeScript loader and coverage hooks), not
// with tsx as `npm start` does: a file compiled by two different loaders in one run garbles tap's
// coverage merge, and errors.ts is also loaded in-process by other tests.
function tandem(...args: string[]) {
  return spawnSync(process.execPath, [...process.execArgv, MAIN, ...args], { encoding: 'utf8' });
}

t.test('tandem prints its package.json version and exits 0', async (t) => {
  const run = tandem();
  t.equal(run.status, 0);
  t.equal(run.stdout, `tandem ${version}\n`);
  t.equal(run.stderr, '');
  t.end();
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
