import t from 'tap';
import { DEFAULT_CONFIG_FILE, USAGE, parseCommandLine } from '../../src/config/index.js';

t.test('no arguments: run with cfg/tandem.yaml and no overrides', async (t) => {
  t.same(parseCommandLine([]), {
    ok: true,
    config: DEFAULT_CONFIG_FILE,
    sets: [],
    check: false,
    version: false,
    help: false,
  });
  t.equal(DEFAULT_CONFIG_FILE, 'cfg/tandem.yaml');
  t.end();
});

t.test('long and short forms of every option', async (t) => {
  const long = parseCommandLine([
    '--config',
    '/etc/tandem/a.yaml',
    '--set',
    'timers.t1=250',
    '--set=log.level=debug',
    '--check',
  ]);
  t.same(long, {
    ok: true,
    config: '/etc/tandem/a.yaml',
    sets: ['timers.t1=250', 'log.level=debug'],
    check: true,
    version: false,
    help: false,
  });
  const short = parseCommandLine([
    '-f',
    'b.yaml',
    '-s',
    'listen[0]=udp:127.0.0.1:5070',
    '-c',
    '-v',
    '-h',
  ]);
  t.same(short, {
    ok: true,
    config: 'b.yaml',
    sets: ['listen[0]=udp:127.0.0.1:5070'],
    check: true,
    version: true,
    help: true,
  });
  t.same(parseCommandLine(['--config=c.yaml', '--version']), {
    ok: true,
    config: 'c.yaml',
    sets: [],
    check: false,
    version: true,
    help: false,
  });
  t.end();
});

t.test('an unknown option is an error with the usage', async (t) => {
  const res = parseCommandLine(['--bogus']);
  t.equal(res.ok, false);
  if (!res.ok) {
    t.match(res.error, /^Unknown option '--bogus'/);
    t.equal(res.usage, USAGE);
  }
  t.match(USAGE, /^usage: tandem /);
  for (const flag of ['--config', '--set', '-f', '--check', '--version', '--help']) {
    t.ok(USAGE.includes(flag.replace(/^-f$/, '-f,')), `usage mentions ${flag}`);
  }
  t.end();
});

t.test('other command-line errors', async (t) => {
  const cases: [string[], RegExp][] = [
    [['extra'], /^Unexpected argument 'extra'/],
    [['--config'], /--config/],
    [['--check=yes'], /--check/],
    [['--config', ''], /^--config needs a file name$/],
    [['--set', 'timers.t1'], /^--set 'timers\.t1': expected key\.path=value/],
    [['--set', '=1'], /^--set '=1': expected key\.path=value/],
    [['--set', 'a..b=1'], /^--set 'a\.\.b=1': expected key\.path=value/],
  ];
  for (const [argv, error] of cases) {
    const res = parseCommandLine(argv);
    t.equal(res.ok, false, argv.join(' '));
    if (!res.ok) {
      t.match(res.error, error, argv.join(' '));
      t.equal(res.usage, USAGE);
    }
  }
  t.end();
});

t.test('the argv array is not modified', async (t) => {
  const argv = ['--set', 'a=1', '-c'];
  parseCommandLine(argv);
  t.same(argv, ['--set', 'a=1', '-c']);
  t.end();
});
